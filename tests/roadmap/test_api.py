"""The roadmap API: the whole roadmap, phases, milestones, releases, links, releasing, notes, the template."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from backlog.models import ItemType
from roadmap import services
from roadmap.models import Milestone, Phase, Release, ReleaseItem, ReleaseStatus
from tests.factories import make_project
from tests.roadmap.conftest import TODAY, D, local, velocity_history
from tests.roadmap.test_selectors import build_roadmap


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"key": "SB", **kwargs})


@pytest.fixture
def sm(api, scrum_master):
    return api.as_(scrum_master)


@pytest.fixture
def phase(project, scrum_master) -> Phase:
    return services.create_phase(
        project=project, by=scrum_master, name="Month 1", start_date=D("2026-03-01"), end_date=D("2026-03-31")
    )


@pytest.fixture
def release(project, scrum_master) -> Release:
    return services.create_release(project=project, by=scrum_master, version="1.0.0", target_date=D("2026-04-30"))


def assert_error(response, status: int, fields: set[str] | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "detail", "errors"}
    if fields is not None:
        assert set(body["errors"]) == fields
    return body


# --- the whole roadmap ------------------------------------------------------------------------


def test_the_roadmap_shows_phases_milestones_releases_epics_and_sprints(
    api, project, stakeholder, scrum_master, phase, release, make_item, make_epic
):
    velocity_history(project, 10, 10, 10)
    epic = make_epic("Checkout")
    make_item("Pay", parent=epic, estimate="5", done=True)
    make_item("Refund", parent=epic, estimate="5")
    loose = make_item("Sign in", estimate="20")
    services.link_items(target=phase, by=scrum_master, add=[loose, epic])
    services.link_items(target=release, by=scrum_master, add=[epic, loose])
    milestone = services.create_milestone(project=project, by=scrum_master, name="Demo", date=D("2026-03-31"))

    response = api.as_(stakeholder).get(url("roadmap"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"phases", "milestones", "releases", "epics", "sprints", "range", "today"}
    progress = {"items_done": 1, "items_total": 3, "points_done": 5.0, "points_total": 30.0, "percent": 17}
    assert body["phases"] == [
        {
            "id": phase.pk,
            "name": "Month 1",
            "goal": "",
            "start_date": "2026-03-01",
            "end_date": "2026-03-31",
            "order": 0,
            "status": "planned",
            "progress": progress,
            "items": sorted([epic.key, loose.key], key=lambda k: int(k.split("-")[1])),
        }
    ]
    assert body["milestones"] == [
        {"id": milestone.pk, "name": "Demo", "date": "2026-03-31", "phase": None, "done": False}
    ]
    six_weeks = (TODAY + datetime.timedelta(weeks=6) - datetime.timedelta(days=1)).isoformat()
    (shown,) = body["releases"]
    assert shown == {
        "id": release.pk,
        "version": "1.0.0",
        "name": "",
        "phase": None,
        "target_date": "2026-04-30",
        "status": "planned",
        "released_on": None,
        "notes": "",
        "notes_edited": False,
        "progress": progress,
        # 25 points left at 10 a sprint: three sprints, before the target date.
        "forecast": {
            "remaining_points": 25.0,
            "p50_date": six_weeks,
            "p85_date": six_weeks,
            "history": 3,
            "at_risk": False,
        },
        "items": shown["items"],
    }
    assert sorted(shown["items"]) == sorted([epic.key, loose.key])
    assert body["epics"] == [
        {
            "key": epic.key,
            "title": "Checkout",
            "progress": {"items_done": 1, "items_total": 2, "points_done": 5.0, "points_total": 10.0, "percent": 50},
        }
    ]
    assert [s["name"] for s in body["sprints"]] == ["Sprint 1", "Sprint 2", "Sprint 3"]
    assert set(body["sprints"][0]) == {"id", "name", "start_date", "end_date", "state"}
    assert body["range"] == {"start": "2026-01-01", "end": "2026-04-30"}  # the sprints began in January
    assert body["today"] == "2026-03-02"


def test_an_empty_roadmap_is_empty_lists_and_the_current_month(api, developer):
    body = api.as_(developer).get(url("roadmap")).json()
    assert body == {
        "phases": [],
        "milestones": [],
        "releases": [],
        "epics": [],
        "sprints": [],
        "range": {"start": "2026-03-01", "end": "2026-03-31"},
        "today": "2026-03-02",
    }


def test_a_release_without_velocity_history_has_no_forecast(sm, scrum_master, release, make_item):
    services.link_items(target=release, by=scrum_master, add=[make_item("Open", estimate="5")])
    assert sm.get(url("roadmap")).json()["releases"][0]["forecast"] is None


@pytest.mark.parametrize("size", [1, 6])
def test_the_roadmap_endpoint_takes_a_fixed_number_of_queries(
    api, project, scrum_master, stakeholder, make_item, size, django_assert_num_queries
):
    build_roadmap(project, scrum_master, make_item, size)
    client = api.as_(stakeholder)
    with django_assert_num_queries(13):  # membership, project, the roadmap (10), item keys
        response = client.get(url("roadmap"))
    assert response.status_code == 200
    assert len(response.json()["releases"]) == size + 1


@pytest.mark.parametrize("size", [1, 6])
@pytest.mark.parametrize(("name", "count"), [("roadmap-phase-list", 14), ("roadmap-release-list", 14)])
def test_phase_and_release_lists_take_a_fixed_number_of_queries(
    api, project, scrum_master, stakeholder, make_item, size, name, count, django_assert_num_queries
):
    build_roadmap(project, scrum_master, make_item, size)
    client = api.as_(stakeholder)
    with django_assert_num_queries(count):  # the page, then the roadmap for progress and forecasts
        response = client.get(url(name))
    assert response.status_code == 200
    assert len(response.json()["results"]) >= size


@pytest.mark.parametrize("size", [1, 6])
def test_the_milestone_list_takes_a_fixed_number_of_queries(
    api, project, scrum_master, stakeholder, make_item, size, django_assert_num_queries
):
    build_roadmap(project, scrum_master, make_item, size)
    client = api.as_(stakeholder)
    with django_assert_num_queries(3):
        response = client.get(url("roadmap-milestone-list"))
    assert len(response.json()["results"]) == size


def test_lists_are_paginated(sm, project, scrum_master):
    for n in range(3):
        services.create_milestone(project=project, by=scrum_master, name=f"M{n}", date=TODAY)
    first = sm.get(url("roadmap-milestone-list"), {"limit": 2}).json()
    assert [m["name"] for m in first["results"]] == ["M0", "M1"]
    second = sm.get(first["next"]).json()
    assert [m["name"] for m in second["results"]] == ["M2"]


# --- phases -----------------------------------------------------------------------------------


def test_a_phase_is_created_read_changed_and_deleted(sm, project):
    response = sm.post(
        url("roadmap-phase-list"),
        {"name": "Month 1", "goal": "Architecture", "start_date": "2026-03-01", "end_date": "2026-03-31"},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    assert (created["name"], created["order"], created["status"], created["items"]) == ("Month 1", 0, "planned", [])
    assert created["progress"]["percent"] == 0
    detail = url("roadmap-phase-detail", pk=created["id"])
    read = sm.get(detail)
    assert read.json() == created
    assert read["ETag"]
    changed = sm.patch(detail, {"status": "active", "end_date": "2026-04-05"}, format="json").json()
    assert (changed["status"], changed["end_date"]) == ("active", "2026-04-05")
    assert sm.delete(detail).status_code == 204
    assert not Phase.objects.filter(project=project).exists()
    assert_error(sm.get(detail), 404)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "start_date", "end_date"}),
        ({"name": "P", "start_date": "2026-03-10", "end_date": "2026-03-01"}, {"end_date"}),
        ({"name": "P", "start_date": "2026-03-10", "end_date": "3000-01-01"}, {"end_date"}),
        ({"name": "P", "start_date": "10 March", "end_date": "2026-03-31"}, {"start_date"}),
        ({"name": "P", "start_date": "2026-03-01", "end_date": "2026-03-31", "status": "late"}, {"status"}),
        ({"name": "P", "start_date": "2026-03-01", "end_date": "2026-03-31", "order": -1}, {"order"}),
        ({"name": "x" * 201, "start_date": "2026-03-01", "end_date": "2026-03-31"}, {"name"}),
    ],
)
def test_bad_phase_input_is_400_with_field_messages(sm, project, body, fields):
    assert_error(sm.post(url("roadmap-phase-list"), body, format="json"), 400, fields)
    assert not Phase.objects.filter(project=project).exists()


def test_changing_a_phase_to_end_before_it_starts_is_400(sm, phase):
    response = sm.patch(url("roadmap-phase-detail", pk=phase.pk), {"start_date": "2026-04-10"}, format="json")
    assert_error(response, 400, {"end_date"})


def test_unknown_ids_are_404(sm):
    for name in ("roadmap-phase-detail", "roadmap-milestone-detail", "roadmap-release-detail"):
        assert_error(sm.get(url(name, pk=999)), 404)
        assert_error(sm.patch(url(name, pk=999), {"name": "X"}, format="json"), 404)
        assert_error(sm.delete(url(name, pk=999)), 404)
    assert_error(sm.post(url("roadmap-release-release", pk=999), {}, format="json"), 404)


def test_a_stale_if_match_is_412_and_changes_nothing(sm, phase, time_machine):
    detail = url("roadmap-phase-detail", pk=phase.pk)
    etag = sm.get(detail)["ETag"]
    time_machine.move_to(local(TODAY.isoformat(), "12:01"), tick=False)  # the ETag follows updated_at
    assert sm.patch(detail, {"name": "First"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    assert_error(sm.patch(detail, {"name": "Second"}, format="json", HTTP_IF_MATCH=etag), 412)
    assert_error(sm.delete(detail, HTTP_IF_MATCH=etag), 412)
    phase.refresh_from_db()
    assert phase.name == "First"


# --- links ------------------------------------------------------------------------------------


def test_items_are_linked_and_unlinked_by_key(sm, phase, release, make_item):
    a, b = make_item("A"), make_item("B")
    for name, target in (("roadmap-phase-items", phase), ("roadmap-release-items", release)):
        response = sm.post(url(name, pk=target.pk), {"add": [a.key, b.key.lower()]}, format="json")
        assert response.status_code == 200
        assert response.json()["items"] == [a.key, b.key]
        response = sm.post(url(name, pk=target.pk), {"add": [a.key], "remove": [b.key]}, format="json")
        assert response.json()["items"] == [a.key]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"non_field_errors"}),
        ({"add": [], "remove": []}, {"non_field_errors"}),
        ({"add": ["SB-999"]}, {"add"}),
        ({"add": ["XX-1"]}, {"add"}),
        ({"remove": ["nonsense"]}, {"remove"}),
        ({"add": "SB-1"}, {"add"}),
    ],
)
def test_bad_links_are_400(sm, release, make_item, body, fields):
    make_item("Ours")
    other = make_project(key="XX")
    make_item("Theirs", project=other, by=other.memberships.get().user)
    assert_error(sm.post(url("roadmap-release-items", pk=release.pk), body, format="json"), 400, fields)
    assert not ReleaseItem.objects.exists()


# --- milestones -------------------------------------------------------------------------------


def test_a_milestone_is_created_in_a_phase_and_marked_done(sm, phase):
    response = sm.post(
        url("roadmap-milestone-list"), {"name": "Demo", "date": "2026-03-31", "phase": phase.pk}, format="json"
    )
    assert response.status_code == 201
    milestone = response.json()
    assert milestone == {"id": milestone["id"], "name": "Demo", "date": "2026-03-31", "phase": phase.pk, "done": False}
    done = sm.patch(url("roadmap-milestone-detail", pk=milestone["id"]), {"done": True, "phase": None}, format="json")
    assert (done.json()["done"], done.json()["phase"]) == (True, None)


@pytest.mark.parametrize("phase_value", [999, "abc", True, 10**30])
def test_a_milestone_takes_only_a_phase_of_the_project(sm, phase_value):
    response = sm.post(
        url("roadmap-milestone-list"), {"name": "Demo", "date": "2026-03-31", "phase": phase_value}, format="json"
    )
    assert_error(response, 400, {"phase"})


def test_another_projects_phase_is_refused(sm):
    other = make_project(key="XX")
    theirs = services.create_phase(
        project=other, by=other.memberships.get().user, name="Theirs", start_date=TODAY, end_date=TODAY
    )
    response = sm.post(
        url("roadmap-milestone-list"), {"name": "Demo", "date": "2026-03-31", "phase": theirs.pk}, format="json"
    )
    assert_error(response, 400, {"phase"})
    assert not Milestone.objects.filter(project__key="SB").exists()


# --- releases ---------------------------------------------------------------------------------


def test_a_release_is_planned_with_a_semantic_version(sm, phase):
    response = sm.post(
        url("roadmap-release-list"),
        {"version": "1.1.0-rc.1", "name": "Candidate", "phase": phase.pk, "target_date": "2026-05-31"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["version"], body["name"], body["phase"], body["status"], body["items"]) == (
        "1.1.0-rc.1",
        "Candidate",
        phase.pk,
        "planned",
        [],
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"version"}),
        ({"version": "1.0"}, {"version"}),
        ({"version": "1.0.0"}, {"version"}),  # taken by the fixture's release
        ({"version": "2.0.0", "status": "released"}, {"status"}),
        ({"version": "2.0.0", "status": "shipped"}, {"status"}),
        ({"version": "2.0.0", "target_date": "3000-01-01"}, {"target_date"}),
        ({"version": "x" * 65}, {"version"}),
    ],
)
def test_bad_release_input_is_400_never_500(sm, release, body, fields):
    assert_error(sm.post(url("roadmap-release-list"), body, format="json"), 400, fields)
    assert Release.objects.count() == 1


def test_renaming_a_release_to_a_taken_version_is_400(sm, project, scrum_master, release):
    other = services.create_release(project=project, by=scrum_master, version="1.1.0")
    response = sm.patch(url("roadmap-release-detail", pk=other.pk), {"version": "1.0.0"}, format="json")
    assert_error(response, 400, {"version"})


def test_a_version_taken_by_a_concurrent_request_is_400_not_500(sm, release, monkeypatch):
    """Both requests pass the check; the unique constraint stops the second, reported on the field."""
    monkeypatch.setattr(services, "_check_version_free", lambda release: None)
    assert_error(sm.post(url("roadmap-release-list"), {"version": "1.0.0"}, format="json"), 400, {"version"})
    assert Release.objects.count() == 1


def test_edited_notes_are_kept_and_blank_notes_go_back_to_generated(sm, release):
    detail = url("roadmap-release-detail", pk=release.pk)
    assert sm.patch(detail, {"notes": "Our words"}, format="json").json()["notes_edited"] is True
    assert sm.patch(detail, {"notes": ""}, format="json").json()["notes_edited"] is False


def test_releasing_through_the_api(sm, project, scrum_master, release, make_item, make_epic):
    epic = make_epic("Checkout")
    pay = make_item("Pay", parent=epic, done=True)
    crash = make_item("Crash", type=ItemType.BUG, done=True)
    later = make_item("Later")
    services.link_items(target=release, by=scrum_master, add=[epic, crash, later])
    next_release = services.create_release(project=project, by=scrum_master, version="1.1.0")

    preview = sm.get(url("roadmap-release-notes", pk=release.pk))
    assert preview.status_code == 200
    notes = preview.json()
    assert notes["generated"] == (f"# 1.0.0\n\n## Features\n\n- {pay.key}: Pay\n\n## Fixes\n\n- {crash.key}: Crash\n")
    assert (notes["notes"], notes["notes_edited"], notes["frozen"]) == ("", False, False)
    release.refresh_from_db()
    assert release.notes == ""  # the preview saves nothing

    response = sm.post(
        url("roadmap-release-release", pk=release.pk),
        {"released_on": "2026-03-01", "move_unfinished_to": next_release.pk},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["released_on"], body["notes"], body["forecast"]) == (
        "released",
        "2026-03-01",
        notes["generated"],
        None,
    )
    assert later.key not in body["items"]
    assert pay.key in body["items"]
    assert list(ReleaseItem.objects.filter(release=next_release).values_list("item_id", flat=True)) == [later.pk]
    assert sm.get(url("roadmap-release-notes", pk=release.pk)).json()["frozen"] is True


def test_a_released_version_is_409_for_every_change(sm, scrum_master, release, make_item):
    services.release_version(release=release, by=scrum_master)
    item = make_item("Late")
    assert_error(sm.patch(url("roadmap-release-detail", pk=release.pk), {"notes": "X"}, format="json"), 409)
    assert_error(sm.delete(url("roadmap-release-detail", pk=release.pk)), 409)
    assert_error(sm.post(url("roadmap-release-items", pk=release.pk), {"add": [item.key]}, format="json"), 409)
    assert_error(sm.post(url("roadmap-release-release", pk=release.pk), {}, format="json"), 409)
    release.refresh_from_db()
    assert (release.status, release.notes_edited) == (ReleaseStatus.RELEASED, False)


@pytest.mark.parametrize("target", ["self", "released", "foreign", "missing", "text"])
def test_moving_unfinished_items_needs_another_unreleased_release_of_the_project(
    sm, project, scrum_master, release, target
):
    old = services.create_release(project=project, by=scrum_master, version="0.9.0")
    services.release_version(release=old, by=scrum_master)
    other = make_project(key="XX")
    theirs = services.create_release(project=other, by=other.memberships.get().user, version="2.0.0")
    value = {"self": release.pk, "released": old.pk, "foreign": theirs.pk, "missing": 999, "text": "next"}[target]
    response = sm.post(url("roadmap-release-release", pk=release.pk), {"move_unfinished_to": value}, format="json")
    assert_error(response, 400, {"move_unfinished_to"})
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PLANNED


def test_releasing_with_an_idempotency_key_replays_the_first_answer(sm, release):
    release_url = url("roadmap-release-release", pk=release.pk)
    first = sm.post(release_url, {}, format="json", HTTP_IDEMPOTENCY_KEY="release-1.0.0")
    again = sm.post(release_url, {}, format="json", HTTP_IDEMPOTENCY_KEY="release-1.0.0")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


# --- the template -----------------------------------------------------------------------------


def test_the_template_answers_201_with_the_roadmap(sm, project):
    response = sm.post(url("roadmap-template"), {"start": "2026-01-31"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert [(p["name"], p["start_date"], p["end_date"]) for p in body["phases"]] == [
        ("Month 1: Architecture", "2026-01-31", "2026-02-27"),
        ("Month 2: MVP", "2026-02-28", "2026-03-27"),
        ("Month 3: Testing and release 1.0", "2026-03-28", "2026-04-27"),
    ]
    assert [p["status"] for p in body["phases"]] == ["planned", "active", "planned"]
    assert [m["date"] for m in body["milestones"]] == ["2026-02-27", "2026-03-27", "2026-04-27"]
    assert [(r["version"], r["target_date"]) for r in body["releases"]] == [("1.0.0", "2026-04-27")]
    assert_error(sm.post(url("roadmap-template"), {}, format="json"), 409)
    assert project.phases.count() == 3


def test_the_template_starts_today_without_a_start(sm):
    body = sm.post(url("roadmap-template"), {}, format="json").json()
    assert body["phases"][0]["start_date"] == TODAY.isoformat()


@pytest.mark.parametrize("start", ["soon", "3000-01-01", 20260301])
def test_a_bad_template_start_is_400(sm, project, start):
    assert_error(sm.post(url("roadmap-template"), {"start": start}, format="json"), 400, {"start"})
    assert not project.phases.exists()


# --- permissions (the whole matrix is in tests/roadmap/matrix_rows.py) --------------------------


def test_a_developer_without_manage_roadmap_reads_but_cannot_write(api, developer, phase):
    client = api.as_(developer)
    assert client.get(url("roadmap")).status_code == 200
    assert client.get(url("roadmap-phase-detail", pk=phase.pk)).status_code == 200
    # Refused before the body is read: 403, not a 400 for the empty body.
    assert_error(client.post(url("roadmap-phase-list"), {}, format="json"), 403)
    assert_error(client.patch(url("roadmap-phase-detail", pk=phase.pk), {"name": "X"}, format="json"), 403)


def test_a_non_member_gets_404_everywhere(api, outsider, phase):
    client = api.as_(outsider)
    assert_error(client.get(url("roadmap")), 404)
    assert_error(client.get(url("roadmap-phase-detail", pk=phase.pk)), 404)
    assert_error(client.post(url("roadmap-template"), {}, format="json"), 404)


def test_a_read_only_token_cannot_write(api, project, scrum_master, phase):
    from rest_framework.test import APIClient

    from integrations.services import create_token

    _token, raw = create_token(user=scrum_master, name="ro", scope="read")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(url("roadmap")).status_code == 200
    assert client.patch(url("roadmap-phase-detail", pk=phase.pk), {"name": "X"}, format="json").status_code == 403


# --- the schema -------------------------------------------------------------------------------


def test_the_schema_documents_the_roadmap_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/v1/projects/{key}/roadmap/:",
        "/api/v1/projects/{key}/roadmap/template/:",
        "/api/v1/projects/{key}/roadmap/phases/{id}/items/:",
        "/api/v1/projects/{key}/roadmap/releases/{id}/release/:",
        "/api/v1/projects/{key}/roadmap/releases/{id}/notes/:",
        "/api/v1/projects/{key}/roadmap/milestones/{id}/:",
    ):
        assert path in schema
