"""Roadmap writes through the services: phases, milestones, releases, links, the template and releasing."""

import datetime
import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404

from backlog.models import ItemType
from roadmap import services
from roadmap.models import Milestone, Phase, PhaseStatus, Release, ReleaseItem, ReleaseStatus
from scrumboard.errors import ConflictError
from tests.factories import make_project
from tests.roadmap.conftest import TODAY, D


@pytest.fixture
def phase(project, scrum_master) -> Phase:
    return services.create_phase(
        project=project, by=scrum_master, name="Month 1", start_date=D("2026-03-01"), end_date=D("2026-03-31")
    )


@pytest.fixture
def release(project, scrum_master) -> Release:
    return services.create_release(project=project, by=scrum_master, version="1.0.0", target_date=D("2026-06-30"))


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


# --- phases -----------------------------------------------------------------------------------


def test_phases_are_ordered_after_the_last_one_unless_told(project, scrum_master, phase):
    second = services.create_phase(
        project=project, by=scrum_master, name=" Month 2 ", start_date=D("2026-04-01"), end_date=D("2026-04-30")
    )
    chosen = services.create_phase(
        project=project, by=scrum_master, name="First", start_date=D("2026-02-01"), end_date=D("2026-02-28"), order=0
    )
    assert (phase.order, second.order, chosen.order) == (0, 1, 0)
    assert second.name == "Month 2"  # trimmed
    assert second.status == PhaseStatus.PLANNED


def test_a_phase_cannot_end_before_it_starts(project, scrum_master, phase):
    with pytest.raises(ValidationError) as excinfo:
        services.create_phase(
            project=project, by=scrum_master, name="Back", start_date=D("2026-05-02"), end_date=D("2026-05-01")
        )
    assert set(errors(excinfo)) == {"end_date"}
    with pytest.raises(ValidationError) as excinfo:
        services.update_phase(phase=phase, by=scrum_master, start_date=D("2026-04-15"))
    assert set(errors(excinfo)) == {"end_date"}
    phase.refresh_from_db()
    assert phase.start_date == D("2026-03-01")  # unchanged


def test_dates_from_the_year_3000_on_are_refused(project, scrum_master, phase):
    with pytest.raises(ValidationError) as excinfo:
        services.update_phase(phase=phase, by=scrum_master, end_date=D("3000-01-01"))
    assert set(errors(excinfo)) == {"end_date"}


def test_fields_the_service_does_not_own_are_refused(scrum_master, phase):
    with pytest.raises(ValidationError) as excinfo:
        services.update_phase(phase=phase, by=scrum_master, project_id=99)
    assert set(errors(excinfo)) == {"project_id"}


def test_updating_a_phase_changes_its_fields(scrum_master, phase):
    updated = services.update_phase(phase=phase, by=scrum_master, goal="Architecture", status=PhaseStatus.ACTIVE)
    phase.refresh_from_db()
    assert (updated.goal, phase.goal, phase.status) == ("Architecture", "Architecture", PhaseStatus.ACTIVE)


def test_deleting_a_phase_keeps_its_milestones_and_releases(project, scrum_master, phase):
    milestone = services.create_milestone(project=project, by=scrum_master, name="Demo", date=TODAY, phase=phase)
    release = services.create_release(project=project, by=scrum_master, version="0.1.0", phase=phase)
    services.delete_phase(phase=phase, by=scrum_master)
    assert not Phase.objects.filter(pk=phase.pk).exists()
    milestone.refresh_from_db()
    release.refresh_from_db()
    assert milestone.phase_id is None
    assert release.phase_id is None


# --- milestones -------------------------------------------------------------------------------


def test_milestones_are_created_changed_and_deleted(project, scrum_master, phase):
    milestone = services.create_milestone(project=project, by=scrum_master, name="Demo", date=D("2026-03-31"))
    assert (milestone.phase_id, milestone.done) == (None, False)
    services.update_milestone(milestone=milestone, by=scrum_master, phase=phase, done=True)
    milestone.refresh_from_db()
    assert (milestone.phase_id, milestone.done) == (phase.pk, True)
    services.delete_milestone(milestone=milestone, by=scrum_master)
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


def test_a_milestone_takes_only_a_phase_of_its_project(project, scrum_master):
    other = make_project(key="XX")
    theirs = services.create_phase(
        project=other,
        by=other.memberships.get().user,
        name="Theirs",
        start_date=TODAY,
        end_date=TODAY,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.create_milestone(project=project, by=scrum_master, name="Demo", date=TODAY, phase=theirs)
    assert set(errors(excinfo)) == {"phase"}


# --- releases: versions -----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0.0", "0.1.0", "1.1.0-rc.1", "2.0.0-alpha+build.5", "10.20.30"])
def test_semantic_versions_are_accepted(project, scrum_master, version):
    assert services.create_release(project=project, by=scrum_master, version=version).version == version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "", "1.0.0 beta", "1.2.3.4"])
def test_anything_but_a_semantic_version_is_refused(project, scrum_master, version):
    with pytest.raises(ValidationError) as excinfo:
        services.create_release(project=project, by=scrum_master, version=version)
    assert set(errors(excinfo)) == {"version"}
    assert not Release.objects.exists()


def test_a_version_is_unique_per_project(project, scrum_master, release):
    with pytest.raises(ValidationError) as excinfo:
        services.create_release(project=project, by=scrum_master, version="1.0.0")
    assert errors(excinfo) == {"version": ["This project already has a release with this version."]}
    other = services.create_release(project=project, by=scrum_master, version="1.1.0")
    with pytest.raises(ValidationError) as excinfo:
        services.update_release(release=other, by=scrum_master, version="1.0.0")
    assert set(errors(excinfo)) == {"version"}
    # Another project may use the same version.
    xx = make_project(key="XX")
    assert services.create_release(project=xx, by=xx.memberships.get().user, version="1.0.0").pk


def test_a_version_taken_by_a_concurrent_request_is_a_validation_error(project, scrum_master, release, monkeypatch):
    """The check passes in both requests; the unique constraint catches the second, still as a field error."""
    monkeypatch.setattr(services, "_check_version_free", lambda release: None)
    with pytest.raises(ValidationError) as excinfo:
        services.create_release(project=project, by=scrum_master, version="1.0.0")
    assert not isinstance(excinfo.value, IntegrityError)
    assert set(errors(excinfo)) == {"version"}
    assert Release.objects.filter(version="1.0.0").count() == 1


def test_notes_written_by_hand_are_marked_edited_until_cleared(project, scrum_master):
    release = services.create_release(project=project, by=scrum_master, version="1.0.0", notes="Hand-written")
    assert release.notes_edited
    release = services.update_release(release=release, by=scrum_master, notes="  ")
    assert not release.notes_edited
    release = services.update_release(release=release, by=scrum_master, notes="Again")
    assert release.notes_edited


def test_status_released_is_only_set_by_releasing(scrum_master, release):
    with pytest.raises(ValidationError) as excinfo:
        services.update_release(release=release, by=scrum_master, status=ReleaseStatus.RELEASED)
    assert set(errors(excinfo)) == {"status"}
    release = services.update_release(release=release, by=scrum_master, status=ReleaseStatus.IN_PROGRESS)
    assert release.status == ReleaseStatus.IN_PROGRESS


# --- links ------------------------------------------------------------------------------------


def test_linking_adds_and_removes_and_adding_twice_changes_nothing(scrum_master, phase, release, make_item):
    a, b = make_item("A"), make_item("B")
    for target in (phase, release):
        services.link_items(target=target, by=scrum_master, add=[a, b])
        services.link_items(target=target, by=scrum_master, add=[a])
        assert sorted(target.items.values_list("pk", flat=True)) == sorted([a.pk, b.pk])
        services.link_items(target=target, by=scrum_master, remove=[b])
        assert list(target.items.values_list("pk", flat=True)) == [a.pk]


def test_only_items_of_the_project_are_linked(scrum_master, phase, make_item):
    other = make_project(key="XX")
    theirs = make_item("Theirs", project=other, by=other.memberships.get().user)
    with pytest.raises(ValidationError) as excinfo:
        services.link_items(target=phase, by=scrum_master, add=[theirs])
    assert set(errors(excinfo)) == {"items"}
    assert not phase.items.exists()


# --- the template -----------------------------------------------------------------------------


def _plan(project) -> list[tuple]:
    return [(p.name, p.start_date, p.end_date, p.order) for p in project.phases.order_by("order")]


def test_the_template_plans_three_months_from_the_start(project, scrum_master):
    phases = services.apply_template(project=project, by=scrum_master, start=D("2026-03-01"))
    assert _plan(project) == [
        ("Month 1: Architecture", D("2026-03-01"), D("2026-03-31"), 0),
        ("Month 2: MVP", D("2026-04-01"), D("2026-04-30"), 1),
        ("Month 3: Testing and release 1.0", D("2026-05-01"), D("2026-05-31"), 2),
    ]
    # Today (2026-03-02) is in the first month.
    assert [p.status for p in phases] == [PhaseStatus.ACTIVE, PhaseStatus.PLANNED, PhaseStatus.PLANNED]
    milestones = list(project.milestones.order_by("date"))
    assert [(m.name, m.date, m.phase_id) for m in milestones] == [
        ("Architecture approved", D("2026-03-31"), phases[0].pk),
        ("MVP demo", D("2026-04-30"), phases[1].pk),
        ("Release 1.0", D("2026-05-31"), phases[2].pk),
    ]
    release = project.releases.get()
    assert (release.version, release.target_date, release.phase_id, release.status) == (
        "1.0.0",
        D("2026-05-31"),
        phases[2].pk,
        ReleaseStatus.PLANNED,
    )


@pytest.mark.parametrize(
    ("start", "plan"),
    [
        # A month after Jan 31 is the last day of February (one_month_after clamps): each phase ends the day
        # before the same day of the next month, so the later phases start on the 28th.
        ("2026-01-31", [("2026-01-31", "2026-02-27"), ("2026-02-28", "2026-03-27"), ("2026-03-28", "2026-04-27")]),
        ("2028-01-31", [("2028-01-31", "2028-02-28"), ("2028-02-29", "2028-03-28"), ("2028-03-29", "2028-04-28")]),
        ("2026-11-15", [("2026-11-15", "2026-12-14"), ("2026-12-15", "2027-01-14"), ("2027-01-15", "2027-02-14")]),
        ("2026-12-31", [("2026-12-31", "2027-01-30"), ("2027-01-31", "2027-02-27"), ("2027-02-28", "2027-03-27")]),
    ],
)
def test_template_dates_follow_the_month_lengths(project, scrum_master, start, plan):
    services.apply_template(project=project, by=scrum_master, start=D(start))
    assert [(p.start_date, p.end_date) for p in project.phases.order_by("order")] == [(D(a), D(b)) for a, b in plan]
    assert project.releases.get().target_date == D(plan[-1][1])
    # The phases tile the plan: each starts the day after the one before ends.
    phases = list(project.phases.order_by("order"))
    assert all(b.start_date == a.end_date + datetime.timedelta(days=1) for a, b in itertools.pairwise(phases))


def test_the_template_starts_today_by_default(project, scrum_master):
    services.apply_template(project=project, by=scrum_master)
    assert project.phases.order_by("order").first().start_date == TODAY


def test_the_template_is_refused_when_the_roadmap_has_phases(project, scrum_master, phase):
    with pytest.raises(ConflictError):
        services.apply_template(project=project, by=scrum_master, start=D("2026-03-01"))
    assert project.phases.count() == 1
    assert not project.milestones.exists()
    assert not project.releases.exists()


def test_the_template_is_refused_when_version_1_0_0_exists(project, scrum_master, release):
    with pytest.raises(ConflictError):
        services.apply_template(project=project, by=scrum_master)
    assert not project.phases.exists()


def test_the_template_refuses_a_start_in_the_year_3000(project, scrum_master):
    with pytest.raises(ValidationError) as excinfo:
        services.apply_template(project=project, by=scrum_master, start=D("3000-01-01"))
    assert set(errors(excinfo)) == {"start"}
    assert not project.phases.exists()


# --- notes and releasing ----------------------------------------------------------------------


@pytest.fixture
def shipped(scrum_master, release, make_item, make_epic):
    """Release 1.0.0 with: an epic (a done story, a done bug, an open task), a done story, an open bug."""
    epic = make_epic("Checkout")
    parts = {
        "epic": epic,
        "child_story": make_item("Pay by card", parent=epic, done=True),
        "child_bug": make_item("Rounding error", type=ItemType.BUG, parent=epic, done=True),
        "child_task": make_item("Load test", type=ItemType.TASK, parent=epic),
        "story": make_item("Sign in", done=True),
        "open_bug": make_item("Crash on logout", type=ItemType.BUG),
    }
    services.link_items(target=release, by=scrum_master, add=[epic, parts["story"], parts["open_bug"]])
    return parts


def test_shipped_items_are_the_done_linked_items_and_done_children_of_linked_epics(release, shipped):
    got = services.shipped_items(release)
    assert [item.pk for item in got] == sorted(
        [shipped["child_story"].pk, shipped["child_bug"].pk, shipped["story"].pk],
        key=lambda pk: next(i.number for i in shipped.values() if i.pk == pk),
    )


def test_notes_group_the_done_items_by_type(release, shipped):
    notes = services.generate_notes(release)
    s = {name: item.key for name, item in shipped.items()}
    assert notes == (
        "# 1.0.0\n"
        "\n"
        "## Features\n"
        "\n"
        f"- {s['child_story']}: Pay by card\n"
        f"- {s['story']}: Sign in\n"
        "\n"
        "## Fixes\n"
        "\n"
        f"- {s['child_bug']}: Rounding error\n"
    )
    assert "Load test" not in notes
    assert "Crash on logout" not in notes


def test_notes_of_an_empty_release_say_nothing_is_done(project, scrum_master):
    release = services.create_release(project=project, by=scrum_master, version="0.1.0", name="Preview")
    assert services.generate_notes(release) == "# 0.1.0 — Preview\n\nNothing is done in this release yet.\n"


def test_releasing_marks_done_items_released_freezes_notes_and_records_the_date(scrum_master, release, shipped):
    before = services.generate_notes(release)
    released = services.release_version(release=release, by=scrum_master)
    release.refresh_from_db()
    assert (release.status, release.released_on, release.released_by) == (
        ReleaseStatus.RELEASED,
        TODAY,
        scrum_master,
    )
    assert released.notes == release.notes == before
    links = dict(ReleaseItem.objects.filter(release=release).values_list("item_id", "released"))
    assert links == {
        shipped["epic"].pk: False,
        shipped["story"].pk: True,
        shipped["open_bug"].pk: False,
        # The done children of the epic got links of their own.
        shipped["child_story"].pk: True,
        shipped["child_bug"].pk: True,
    }


def test_releasing_keeps_notes_edited_by_hand(scrum_master, release, shipped):
    services.update_release(release=release, by=scrum_master, notes="Our own words")
    services.release_version(release=release, by=scrum_master, released_on=D("2026-03-01"))
    release.refresh_from_db()
    assert (release.notes, release.released_on) == ("Our own words", D("2026-03-01"))


def test_a_released_version_no_longer_changes(scrum_master, release, shipped, make_item):
    services.release_version(release=release, by=scrum_master)
    release.refresh_from_db()
    frozen = (release.version, release.notes, release.target_date)
    with pytest.raises(ConflictError):
        services.update_release(release=release, by=scrum_master, notes="Rewritten")
    with pytest.raises(ConflictError):
        services.delete_release(release=release, by=scrum_master)
    with pytest.raises(ConflictError):
        services.link_items(target=release, by=scrum_master, add=[make_item("Late")])
    with pytest.raises(ConflictError):
        services.release_version(release=release, by=scrum_master)
    release.refresh_from_db()
    assert (release.version, release.notes, release.target_date) == frozen
    assert Release.objects.filter(pk=release.pk).exists()


def test_releasing_moves_unfinished_items_to_another_release(project, scrum_master, release, shipped):
    next_release = services.create_release(project=project, by=scrum_master, version="1.1.0")
    services.release_version(release=release, by=scrum_master, move_unfinished_to=next_release)
    assert sorted(ReleaseItem.objects.filter(release=next_release).values_list("item_id", "released")) == sorted(
        [(shipped["open_bug"].pk, False)]
    )
    kept = dict(ReleaseItem.objects.filter(release=release).values_list("item_id", "released"))
    # The epic stays with the release that shipped part of it; the open bug moved on.
    assert kept == {
        shipped["epic"].pk: False,
        shipped["story"].pk: True,
        shipped["child_story"].pk: True,
        shipped["child_bug"].pk: True,
    }


def test_unfinished_items_move_only_to_another_unreleased_release_of_the_project(project, scrum_master, release):
    old = services.create_release(project=project, by=scrum_master, version="0.9.0")
    old = services.release_version(release=old, by=scrum_master)
    xx = make_project(key="XX")
    theirs = services.create_release(project=xx, by=xx.memberships.get().user, version="2.0.0")
    for target in (release, old, theirs):
        with pytest.raises(ValidationError) as excinfo:
            services.release_version(release=release, by=scrum_master, move_unfinished_to=target)
        assert set(errors(excinfo)) == {"move_unfinished_to"}
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PLANNED


# --- permissions ------------------------------------------------------------------------------


WRITES = {
    "create_phase": lambda ctx: services.create_phase(
        project=ctx["project"], by=ctx["by"], name="P", start_date=TODAY, end_date=TODAY
    ),
    "update_phase": lambda ctx: services.update_phase(phase=ctx["phase"], by=ctx["by"], name="Renamed"),
    "delete_phase": lambda ctx: services.delete_phase(phase=ctx["phase"], by=ctx["by"]),
    "create_milestone": lambda ctx: services.create_milestone(
        project=ctx["project"], by=ctx["by"], name="M", date=TODAY
    ),
    "update_milestone": lambda ctx: services.update_milestone(milestone=ctx["milestone"], by=ctx["by"], done=True),
    "delete_milestone": lambda ctx: services.delete_milestone(milestone=ctx["milestone"], by=ctx["by"]),
    "create_release": lambda ctx: services.create_release(project=ctx["project"], by=ctx["by"], version="9.0.0"),
    "update_release": lambda ctx: services.update_release(release=ctx["release"], by=ctx["by"], name="Renamed"),
    "delete_release": lambda ctx: services.delete_release(release=ctx["release"], by=ctx["by"]),
    "link_items": lambda ctx: services.link_items(target=ctx["release"], by=ctx["by"], add=[ctx["item"]]),
    "apply_template": lambda ctx: services.apply_template(project=ctx["project"], by=ctx["by"]),
    "release_version": lambda ctx: services.release_version(release=ctx["release"], by=ctx["by"]),
}


def _snapshot(project) -> tuple:
    return (
        list(Phase.objects.filter(project=project).values()),
        list(Milestone.objects.filter(project=project).values()),
        list(Release.objects.filter(project=project).values()),
        list(ReleaseItem.objects.values()),
    )


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize(
    ("persona", "error"),
    [("developer", PermissionDenied), ("stakeholder", PermissionDenied), ("outsider", Http404)],
)
def test_writes_need_the_manage_roadmap_permission(
    team, scrum_master, phase, release, make_item, write, persona, error
):
    milestone = services.create_milestone(project=team.project, by=scrum_master, name="M", date=TODAY)
    ctx = {
        "project": team.project,
        "by": team.persona(persona),
        "phase": phase,
        "milestone": milestone,
        "release": release,
        "item": make_item("A"),
    }
    before = _snapshot(team.project)
    with pytest.raises(error):
        WRITES[write](ctx)
    assert _snapshot(team.project) == before


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_product_owner_holds_manage_roadmap(team, phase, release, make_item, write):
    milestone = services.create_milestone(project=team.project, by=team.product_owner, name="M", date=TODAY)
    if write == "apply_template":
        services.delete_phase(phase=phase, by=team.product_owner)
        services.delete_release(release=release, by=team.product_owner)
    ctx = {
        "project": team.project,
        "by": team.product_owner,
        "phase": phase,
        "milestone": milestone,
        "release": release,
        "item": make_item("A"),
    }
    WRITES[write](ctx)
