"""The roadmap pages: the timeline, the phase, milestone and release forms, the release page."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from backlog.models import ItemType
from roadmap import services
from roadmap.charts import lanes, wrap
from roadmap.models import Milestone, Phase, PhaseStatus, Release, ReleaseItem, ReleaseStatus
from scrumboard.demo import DemoCalendar, load_demo
from sprints import services as sprint_services
from tests.factories import make_project
from tests.html_safety import unsafe_parts
from tests.roadmap.conftest import D, velocity_history

pytestmark = pytest.mark.django_db

PAGE_TAGS = frozenset({"script", "form", "link", "meta", "svg"})
EVIL = "<script>alert(1)</script>"


def url(name: str, obj=None, **kwargs) -> str:
    if obj is not None:
        kwargs["pk"] = obj.pk
    return reverse(f"roadmap:{name}", kwargs={"key": "SB", **kwargs})


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.fixture
def po_client(client, product_owner):
    client.force_login(product_owner)
    return client


@pytest.fixture
def dev_client(client, developer):
    client.force_login(developer)
    return client


@pytest.fixture
def planned(project, product_owner, make_epic, make_item):
    """One phase with an epic (two children, one done), its milestone, and release 1.0.0 with the epic."""
    phase = services.create_phase(
        project=project,
        by=product_owner,
        name="Month 1: Architecture",
        start_date=D("2026-03-01"),
        end_date=D("2026-03-31"),
    )
    milestone = services.create_milestone(
        project=project, by=product_owner, name="Architecture approved", date=D("2026-03-31"), phase=phase
    )
    epic = make_epic("Architecture")
    make_item("Data model", parent=epic, estimate="5", done=True)
    make_item("CI", parent=epic, estimate="3")
    release = services.create_release(
        project=project, by=product_owner, version="1.0.0", name="First", target_date=D("2026-05-29")
    )
    services.link_items(target=phase, by=product_owner, add=[epic])
    services.link_items(target=release, by=product_owner, add=[epic])
    return phase, milestone, release, epic


# --- the timeline -------------------------------------------------------------------------------


def test_timeline_draws_phases_milestones_releases_and_epics_with_links(po_client, planned):
    phase, milestone, release, epic = planned
    html = html_of(po_client.get(url("timeline")))
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert f'href="{url("phase", phase)}"' in svg
    assert f'href="{url("milestone", milestone)}"' in svg
    assert f'href="{url("release", release)}"' in svg
    assert f'href="/projects/SB/items/{epic.key}/"' in svg
    assert "Month 1: Architecture" in svg and "62% · Planned" in svg  # 5 of 8 points, rounded half to even
    assert 'class="rm-today"' in svg and "March 2026" in svg
    assert 'class="rm-milestone"' in svg  # open: a hollow diamond
    # The lists under the chart, in the project's date format.
    assert "March 1, 2026 – March 31, 2026" in html
    assert "May 29, 2026" in html
    # The data for screen readers.
    assert '<table class="visually-hidden">' in html


def test_sprints_long_before_the_plan_do_not_stretch_the_timeline(po_client, project, planned):
    velocity_history(project, *[5] * 10)  # twenty weeks of sprints, the last one ending on March 1
    html = html_of(po_client.get(url("timeline")))
    assert html.count('class="rm-sprint rm-sprint--completed"') == 1
    assert "February 2026" not in html and "March 2026" in html


def test_timeline_month_names_follow_the_language(po_client, planned):
    with translation.override("kk"):
        html = html_of(po_client.get(url("timeline"), HTTP_ACCEPT_LANGUAGE="kk"))
    assert "March 2026" not in html
    assert "Наурыз 2026" in html


def test_done_milestone_is_filled_and_done_phase_is_labelled(po_client, planned, product_owner):
    phase, milestone, _release, _epic = planned
    services.update_milestone(milestone=milestone, by=product_owner, done=True)
    services.update_phase(phase=phase, by=product_owner, status=PhaseStatus.DONE)
    html = html_of(po_client.get(url("timeline")))
    assert 'class="rm-milestone rm-milestone--done"' in html
    assert 'class="rm-phase rm-phase--done"' in html and "62% · Done" in html


def test_timeline_flags_a_release_at_risk_in_words(po_client, project, planned, product_owner):
    _phase, _milestone, release, _epic = planned
    velocity_history(project, 1, 1, 1)  # one point a sprint: 3 points take months
    services.update_release(release=release, by=product_owner, target_date=D("2026-03-13"))
    html = html_of(po_client.get(url("timeline")))
    assert "rm-release--at-risk" in html
    assert 'class="rm-risk-label"' in html and ">At risk<" in html
    assert 'class="rm-row-risk"' in html  # the releases list says so too


def test_release_on_track_is_not_flagged(po_client, project, planned):
    velocity_history(project, 20, 20, 20)
    html = html_of(po_client.get(url("timeline")))
    assert "rm-release--at-risk" not in html and ">At risk<" not in html
    assert 'class="rm-forecast"' in html


def test_timeline_for_a_read_only_member_has_no_edit_buttons(dev_client, planned):
    html = html_of(dev_client.get(url("timeline")))
    assert "<svg" in html
    assert url("phase_create") not in html and url("release_create") not in html


def test_timeline_is_not_found_for_outsiders_and_asks_anonymous_to_log_in(client, outsider, planned):
    assert client.get(url("timeline")).status_code == 302
    client.force_login(outsider)
    assert client.get(url("timeline")).status_code == 404


def test_roadmap_tab_is_in_the_project_navigation(po_client, project):
    html = html_of(po_client.get(reverse("backlog:list", kwargs={"key": "SB"})))
    assert f'href="{url("timeline")}"' in html


# --- the template -------------------------------------------------------------------------------


def test_empty_roadmap_offers_the_template_to_managers_only(po_client, client, developer):
    html = html_of(po_client.get(url("timeline")))
    assert "Start from the three-month template" in html and 'value="2026-03-02"' in html
    client.force_login(developer)
    html = html_of(client.get(url("timeline")))
    assert "Start from the three-month template" not in html and "No roadmap yet" in html


def test_template_button_starts_three_months(po_client, project):
    response = po_client.post(url("template"), {"start": "2026-03-02"}, follow=True)
    assert response.status_code == 200
    assert [p.name for p in Phase.objects.filter(project=project)] == [
        "Month 1: Architecture",
        "Month 2: MVP",
        "Month 3: Testing and release 1.0",
    ]
    assert Release.objects.get(project=project).version == "1.0.0"
    assert "The three-month plan is in place" in response.content.decode()


def test_template_twice_is_a_message_not_an_error(po_client, project, product_owner):
    services.apply_template(project=project, by=product_owner)
    response = po_client.post(url("template"), {"start": "2026-03-02"}, follow=True)
    assert response.status_code == 200
    assert "already has phases" in " ".join(messages_of(response))
    assert Phase.objects.filter(project=project).count() == 3


def test_template_with_a_bad_date_saves_nothing(po_client, project):
    response = po_client.post(url("template"), {"start": "someday"}, follow=True)
    assert response.status_code == 200 and messages_of(response)
    assert not Phase.objects.filter(project=project).exists()


# --- phases -------------------------------------------------------------------------------------


def test_creating_a_phase_links_the_ticked_epics_and_the_keyed_items(po_client, project, make_epic, make_item):
    epic = make_epic("MVP")
    story = make_item("Sign in")
    response = po_client.post(
        url("phase_create"),
        {
            "name": "Month 2: MVP",
            "goal": "The core",
            "start_date": "2026-04-01",
            "end_date": "2026-04-30",
            "status": "planned",
            "epics": [epic.pk],
            "item_keys": f"{story.key.lower()}, ",
        },
    )
    assert response.status_code == 302 and response.url == url("timeline")
    phase = Phase.objects.get(project=project)
    assert (phase.name, phase.goal, phase.start_date) == ("Month 2: MVP", "The core", D("2026-04-01"))
    assert set(phase.items.all()) == {epic, story}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"end_date": "2026-03-01"}, "end_date", "A phase cannot end before it starts."),
        ({"start_date": "31.02.2026"}, "start_date", "Enter a valid date."),
        ({"end_date": "3000-01-01"}, "end_date", "Give a date before the year 3000."),
        ({"item_keys": "SB-99, XX-1, nonsense"}, "item_keys", "No such item in this project: XX-1, nonsense, SB-99."),
        ({"status": "finished"}, "status", "Select a valid choice."),
    ],
)
def test_phase_form_shows_bad_input_and_saves_nothing(po_client, project, change, field, message):
    data = {"name": "Month 2", "start_date": "2026-04-01", "end_date": "2026-04-30", "status": "planned"}
    response = po_client.post(url("phase_create"), data | change)
    html = html_of(response)
    assert message in " ".join(str(e) for e in response.context["form"].errors[field])
    assert "has-error" in html
    assert not Phase.objects.filter(project=project).exists()


def test_editing_a_phase_saves_and_unlinks(po_client, planned, make_item):
    phase, _milestone, _release, _epic = planned
    story = make_item("Sign in")
    html = html_of(po_client.get(url("phase", phase)))
    assert 'value="Month 1: Architecture"' in html and "checked" in html
    response = po_client.post(
        url("phase", phase),
        {
            "name": "Month 1: Foundations",
            "start_date": "2026-03-01",
            "end_date": "2026-04-03",
            "status": "active",
            "item_keys": story.key,
        },
    )
    assert response.status_code == 302
    phase.refresh_from_db()
    assert (phase.name, phase.end_date, phase.status) == ("Month 1: Foundations", D("2026-04-03"), "active")
    assert list(phase.items.all()) == [story]


def test_a_bad_edit_leaves_the_phase_as_it_was(po_client, planned):
    phase = planned[0]
    response = po_client.post(
        url("phase", phase), {"name": "Renamed", "start_date": "2026-03-01", "end_date": "2026-02-01", "status": "done"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    phase.refresh_from_db()
    assert (phase.name, phase.status) == ("Month 1: Architecture", "planned")
    assert "Month 1: Architecture" in response.content.decode()  # the heading shows the saved name


def test_developer_reads_a_phase_without_a_form_and_may_not_post(dev_client, planned):
    phase = planned[0]
    html = html_of(dev_client.get(url("phase", phase)))
    assert "Month 1: Architecture" in html and "Architecture" in html
    assert '<form method="post" action="/projects/SB/roadmap/phases/' not in html
    assert "Only members who manage the roadmap change it." in html
    response = dev_client.post(
        url("phase", phase), {"name": "Mine", "start_date": "2026-03-01", "end_date": "2026-03-02"}
    )
    assert response.status_code == 403
    assert Phase.objects.get(pk=phase.pk).name == "Month 1: Architecture"
    assert dev_client.get(url("phase_create")).status_code == 403


def test_deleting_a_phase_keeps_its_milestones(po_client, planned):
    phase, milestone, _release, _epic = planned
    response = po_client.post(url("phase_delete", phase), follow=True)
    assert "deleted" in " ".join(messages_of(response))
    assert not Phase.objects.filter(pk=phase.pk).exists()
    assert Milestone.objects.get(pk=milestone.pk).phase is None


def test_another_projects_phase_is_not_found(po_client, planned):
    other = make_project(key="XX")
    theirs = services.create_phase(
        project=other,
        by=other.memberships.get().user,
        name="Theirs",
        start_date=D("2026-03-01"),
        end_date=D("2026-03-31"),
    )
    assert po_client.get(url("phase", theirs)).status_code == 404
    assert po_client.post(url("phase_delete", theirs)).status_code == 404
    assert Phase.objects.filter(pk=theirs.pk).exists()


# --- milestones ---------------------------------------------------------------------------------


def test_milestone_create_edit_and_delete(po_client, project, planned):
    phase = planned[0]
    html = html_of(po_client.get(url("milestone_create") + f"?phase={phase.pk}"))
    assert f'<option value="{phase.pk}" selected>' in html
    response = po_client.post(url("milestone_create"), {"name": "MVP demo", "date": "2026-04-30", "phase": phase.pk})
    assert response.status_code == 302
    milestone = Milestone.objects.get(name="MVP demo")
    assert milestone.phase == phase and not milestone.done
    response = po_client.post(url("milestone", milestone), {"name": "MVP demo", "date": "2026-04-29", "done": "on"})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.date, milestone.done, milestone.phase) == (D("2026-04-29"), True, None)
    po_client.post(url("milestone_delete", milestone))
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


def test_milestone_with_another_projects_phase_or_no_date_is_refused(po_client, project):
    other = make_project(key="XX")
    theirs = services.create_phase(
        project=other, by=other.memberships.get().user, name="T", start_date=D("2026-03-01"), end_date=D("2026-03-31")
    )
    response = po_client.post(url("milestone_create"), {"name": "Demo", "date": "", "phase": theirs.pk})
    errors = response.context["form"].errors
    assert response.status_code == 200 and set(errors) == {"date", "phase"}
    assert not Milestone.objects.exists()


def test_stakeholder_reads_a_milestone(client, stakeholder, planned):
    client.force_login(stakeholder)
    html = html_of(client.get(url("milestone", planned[1])))
    assert "Architecture approved" in html and "Only members who manage the roadmap change it." in html
    assert 'name="name"' not in html


# --- releases -----------------------------------------------------------------------------------


def test_creating_a_release_links_epics_and_opens_its_page(po_client, project, make_epic):
    epic = make_epic("MVP")
    response = po_client.post(
        url("release_create"),
        {"version": "1.1.0", "name": "Next", "target_date": "2026-06-30", "status": "planned", "epics": [epic.pk]},
    )
    release = Release.objects.get(project=project, version="1.1.0")
    assert response.status_code == 302 and response.url == url("release", release)
    assert list(release.items.all()) == [epic]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"version": "1.0"}, "version", "is not a semantic version"),
        ({"version": "1.0.0"}, "version", "already has a release with this version"),
        ({"status": "released"}, "status", "Select a valid choice."),
        ({"target_date": "2026-13-01"}, "target_date", "Enter a valid date."),
        ({"epics": ["999999"]}, "epics", "Select a valid choice."),
    ],
)
def test_release_form_shows_bad_input_and_saves_nothing(po_client, project, planned, change, field, message):
    data = {"version": "2.0.0", "target_date": "2026-06-30", "status": "planned"}
    response = po_client.post(url("release_create"), data | change)
    assert response.status_code == 200
    assert message in " ".join(str(e) for e in response.context["form"].errors[field])
    assert Release.objects.filter(project=project).count() == 1


def test_release_page_shows_progress_forecast_items_and_generated_notes(po_client, project, planned):
    release, epic = planned[2], planned[3]
    velocity_history(project, 3, 3, 3)
    html = html_of(po_client.get(url("release", release)))
    assert "Release 1.0.0" in html and "62%" in html
    assert epic.key in html and "Architecture" in html
    assert "Generated from the done items" in html
    assert "SB-2: Data model" in html  # the done child, in the preview
    assert "85% likely" in html
    assert 'name="released_on"' in html and 'value="2026-03-02"' in html


def test_editing_notes_then_emptying_them_goes_back_to_generated(po_client, planned):
    release = planned[2]
    po_client.post(url("release_notes", release), {"notes": "# 1.0.0\n\nHand-written."})
    release.refresh_from_db()
    assert release.notes_edited and "Hand-written." in release.notes
    html = html_of(po_client.get(url("release", release)))
    assert "Hand-written." in html and "Generated from the done items" not in html
    po_client.post(url("release_notes", release), {"notes": "  "})
    release.refresh_from_db()
    assert not release.notes_edited
    assert "Generated from the done items" in html_of(po_client.get(url("release", release)))


def test_releasing_moves_unfinished_items_and_freezes_the_release(
    po_client, project, planned, product_owner, make_item
):
    release = planned[2]
    later = services.create_release(project=project, by=product_owner, version="1.1.0")
    leftover = make_item("Polish")
    services.link_items(target=release, by=product_owner, add=[leftover])
    response = po_client.post(
        url("release_ship", release), {"released_on": "2026-03-06", "move_unfinished_to": later.pk}, follow=True
    )
    assert "Version 1.0.0 is released." in " ".join(messages_of(response))
    release.refresh_from_db()
    assert (release.status, release.released_on, release.released_by) == (
        ReleaseStatus.RELEASED,
        D("2026-03-06"),
        product_owner,
    )
    assert list(later.items.all()) == [leftover]
    html = response.content.decode()
    assert "Released on March 6, 2026." in html and 'name="released_on"' not in html
    # Afterwards it no longer changes: messages, not errors.
    response = po_client.get(url("release_edit", release), follow=True)
    assert "no longer changes" in " ".join(messages_of(response))
    response = po_client.post(url("release_notes", release), {"notes": "Changed"}, follow=True)
    assert response.status_code == 200 and "no longer changes" in " ".join(messages_of(response))
    response = po_client.post(url("release_delete", release), follow=True)
    assert response.status_code == 200 and "stays on record" in " ".join(messages_of(response))
    response = po_client.post(url("release_ship", release), {"released_on": "2026-03-07"}, follow=True)
    assert "released already" in " ".join(messages_of(response))
    assert Release.objects.get(pk=release.pk).released_on == D("2026-03-06")


def test_release_with_a_bad_date_or_target_shows_the_error(po_client, project, planned):
    release = planned[2]
    other = make_project(key="XX")
    theirs = services.create_release(project=other, by=other.memberships.get().user, version="9.0.0")
    response = po_client.post(url("release_ship", release), {"released_on": "", "move_unfinished_to": theirs.pk})
    assert response.status_code == 200
    assert set(response.context["action_form"].errors) == {"released_on", "move_unfinished_to"}
    response = po_client.post(url("release_ship", release), {"released_on": "3001-01-01"})
    assert response.status_code == 200 and "before the year 3000" in response.content.decode()
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.PLANNED


def test_editing_a_release_changes_its_links(po_client, planned, make_item):
    release, epic = planned[2], planned[3]
    story = make_item("Sign in")
    html = html_of(po_client.get(url("release_edit", release)))
    assert 'value="1.0.0"' in html
    response = po_client.post(
        url("release_edit", release),
        {"version": "1.0.1", "name": "First", "status": "in_progress", "item_keys": story.key, "epics": [epic.pk]},
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.version, release.status, release.target_date) == ("1.0.1", "in_progress", None)
    assert set(ReleaseItem.objects.filter(release=release).values_list("item_id", flat=True)) == {epic.pk, story.pk}


def test_developer_reads_a_release_without_forms(dev_client, planned):
    release = planned[2]
    html = html_of(dev_client.get(url("release", release)))
    assert "Release 1.0.0" in html
    assert 'name="released_on"' not in html and 'name="notes"' not in html and "Edit release" not in html
    assert dev_client.post(url("release_ship", release), {"released_on": "2026-03-02"}).status_code == 403
    assert dev_client.get(url("release_edit", release)).status_code == 403


def test_deleting_a_release(po_client, planned):
    release = planned[2]
    response = po_client.post(url("release_delete", release))
    assert response.status_code == 302 and response.url == url("timeline")
    assert not Release.objects.filter(pk=release.pk).exists()


# --- html safety --------------------------------------------------------------------------------


def test_pages_keep_user_text_inert(po_client, project, product_owner, make_epic):
    phase = services.create_phase(
        project=project, by=product_owner, name=EVIL, goal=EVIL, start_date=D("2026-03-01"), end_date=D("2026-03-31")
    )
    milestone = services.create_milestone(
        project=project, by=product_owner, name=EVIL, date=D("2026-03-15"), phase=phase
    )
    release = services.create_release(project=project, by=product_owner, version="1.0.0", name=EVIL, notes=EVIL)
    epic = make_epic(EVIL)
    services.link_items(target=phase, by=product_owner, add=[epic])
    services.link_items(target=release, by=product_owner, add=[epic])
    for address in (url("timeline"), url("phase", phase), url("milestone", milestone), url("release", release)):
        html = html_of(po_client.get(address))
        assert unsafe_parts(html, allow_tags=PAGE_TAGS) == [], address
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, address
    html = html_of(po_client.get(url("timeline")))
    assert html.count("<svg") == 1  # the timeline is the page's only inline svg


# --- a constant number of queries -----------------------------------------------------------------


def _fill(project, by, make_epic, make_item, size: int) -> None:
    for n in range(size):
        phase = services.create_phase(
            project=project, by=by, name=f"Phase {n}", start_date=D("2026-03-01"), end_date=D("2026-04-30")
        )
        services.create_milestone(project=project, by=by, name=f"M{n}", date=D("2026-04-30"), phase=phase)
        release = services.create_release(project=project, by=by, version=f"1.{n}.0", target_date=D("2026-05-01"))
        epic = make_epic(f"Epic {n}")
        items = [make_item(f"Item {n}.{m}", parent=epic, estimate="3", done=m % 2 == 0) for m in range(3)]
        services.link_items(target=phase, by=by, add=[epic, *items[:1]])
        services.link_items(target=release, by=by, add=[epic, make_item(f"Loose {n}", estimate="2")])
    sprint_services.create_sprint(project=project, by=by, start_date=D("2026-03-02"))


@pytest.mark.parametrize("size", [1, 6])
def test_timeline_page_query_count_does_not_grow(
    po_client, project, product_owner, make_epic, make_item, size, django_assert_num_queries
):
    velocity_history(project, 8, 10, 12)
    _fill(project, product_owner, make_epic, make_item, size)
    po_client.get(url("timeline"))  # warm the session and the translations
    with django_assert_num_queries(14):
        html = html_of(po_client.get(url("timeline")))
    assert html.count('class="rm-phase ') == size


# --- the chart's layout helpers -----------------------------------------------------------------


def test_labels_that_would_overlap_go_to_the_next_lane():
    assert lanes([(0, 100), (50, 150), (120, 200), (300, 400)]) == [0, 1, 0, 0]
    assert lanes([(0, 100), (104, 200)]) == [0, 1]  # closer than the gap


def test_long_names_wrap_on_two_lines_and_shorten_after():
    assert wrap("Month 3: Testing and release 1.0", 150, 13) == ["Month 3: Testing", "and release 1.0"]
    lines = wrap("A very long phase name that goes on and on and on", 150, 13)
    assert len(lines) == 2 and lines[1].endswith("\u2026")


def test_epic_type_is_required_for_the_epic_list(po_client, project, make_item):
    make_item("Story only", type=ItemType.STORY)
    html = html_of(po_client.get(url("phase_create")))
    assert "The backlog has no epics yet." in html


# --- the demo -------------------------------------------------------------------------------------


def test_demo_roadmap_starts_from_the_template_with_month_one_done(client):
    project = load_demo()
    phases = list(Phase.objects.filter(project=project).order_by("order"))
    assert [p.status for p in phases] == [PhaseStatus.DONE, PhaseStatus.ACTIVE, PhaseStatus.PLANNED]
    assert phases[0].start_date == DemoCalendar.ending_today().starts[0]
    assert [m.done for m in Milestone.objects.filter(project=project).order_by("date")] == [True, False, False]
    assert [[item.title for item in phase.items.all()] for phase in phases] == [
        ["Architecture and technology stack"],
        ["Minimum viable product"],
        ["Testing and release 1.0"],
    ]
    release = Release.objects.get(project=project)
    assert (release.version, release.status, release.items.count()) == ("1.0.0", ReleaseStatus.IN_PROGRESS, 3)
    client.force_login(project.memberships.get(user__username="aigerim").user)
    html = html_of(client.get(reverse("roadmap:timeline", kwargs={"key": project.key})))
    assert html.count('class="rm-phase ') == 3 and "rm-milestone--done" in html
