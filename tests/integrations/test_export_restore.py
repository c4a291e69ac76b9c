"""Restoring an export (import source "scrumboard"): the round trip, people, checks, query counts."""

import copy
import dataclasses
import json
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from backlog.models import BacklogItem, Comment, ItemCounter, ItemEvent, Status
from integrations.exporting import export_project
from integrations.importing import jobs, scrumboard_source
from integrations.importing.records import ImportFileError
from integrations.models import ImportJob
from projects.models import Project
from retrospectives.models import Card, HealthRating, Retrospective, Vote
from roadmap.models import ReleaseItem
from roles.models import Role
from scrumboard.demo import load_demo
from sprints.models import CommittedItem, Sprint
from sprints.selectors import sprint_report
from standups.models import DailyScrum, Entry
from tests.factories import make_member, make_project
from tests.integrations.export_helpers import build_small_project, comparable, export_of, new_project_like, restore

pytestmark = pytest.mark.django_db


def test_demo_project_survives_export_and_restore_unchanged():
    demo = load_demo()
    document = export_project(demo)
    copy_ = new_project_like(demo, key="RT")
    progress: list[tuple[int, int]] = []

    result = restore(
        copy_,
        document,
        actor=copy_.memberships.get(is_admin=True).user,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert comparable(export_of(copy_)) == comparable(document)
    assert result["created"] == 50 and result["people"]["unmatched"] == []
    assert progress[0][0] == 0 and progress[-1][0] == progress[-1][1] > 0
    assert [done for done, _total in progress] == sorted(done for done, _total in progress)
    # The copy works as the original: the same velocity figures, burndown replayed from the copied history.
    for original, copied in zip(Sprint.objects.filter(project=demo), Sprint.objects.filter(project=copy_), strict=True):
        if original.report:
            assert copied.report == _rekeyed(original.report, original, copied)
        live = _rekeyed(sprint_report(original), original, copied)
        assert {**sprint_report(copied), "generated_at": None} == {**live, "generated_at": None}


def _rekeyed(report, original, copied):
    text = json.dumps(report).replace(f'"{original.project.key}-', f'"{copied.project.key}-')
    data = json.loads(text)
    data["sprint"]["id"] = copied.pk
    return data


def test_small_project_with_every_kind_of_object_survives_the_round_trip(team):
    project = build_small_project(team, former_leaves=False)
    document = export_project(project)
    copy_ = new_project_like(project, key="RT")
    restore(copy_, document, actor=team.admin)

    assert comparable(export_of(copy_)) == comparable(document)
    story = BacklogItem.objects.get(project=copy_, number=2)
    assert story.key == "RT-2" and story.parent.key == "RT-1"
    assert [label.name for label in story.labels.order_by("name")] == ["ux", "бэкенд"]
    # The original times, not the restore's.
    original = BacklogItem.objects.get(project=project, number=2)
    assert (story.created_at, story.updated_at) == (original.created_at, original.updated_at)
    assert Project.objects.get(pk=copy_.pk).created_at == Project.objects.get(pk=project.pk).created_at
    # History values point at the copy's own status and sprint rows.
    sprint = Sprint.objects.get(project=copy_, number=1)
    moved = ItemEvent.objects.filter(project=copy_, field="sprint", new__isnull=False).first()
    assert moved.new["id"] == sprint.pk
    created = ItemEvent.objects.get(project=copy_, item_number=2, kind="created")
    assert created.new["status"]["id"] == Status.objects.get(project=copy_, name="To Do").pk
    assert created.new["parent"] == "RT-1"
    # The deleted item keeps its history and its place in the commitment, under an id no live item has.
    gone = CommittedItem.objects.get(sprint=sprint, item_number=4)
    assert not BacklogItem.objects.filter(pk=gone.item_id).exists()
    assert ItemEvent.objects.filter(item_id=gone.item_id, kind="deleted").count() == 1
    assert ItemCounter.objects.get(project=copy_).last_number == ItemCounter.objects.get(project=project).last_number
    # Frozen JSON: ids swapped for the copy's, keys rekeyed.
    retro = Retrospective.objects.get(project=copy_)
    assert retro.summary["id"] == retro.pk and retro.summary["sprint"]["id"] == sprint.pk
    assert retro.summary["action_items"][0]["backlog_item"] == "RT-3"
    meeting = DailyScrum.objects.get(project=copy_)
    assert meeting.summary["raised"][0]["id"] == meeting.impediments_raised.get().pk
    assert meeting.speaking_order == [team.developer.pk, team.admin.pk]


def test_export_names_people_by_username_and_lists_former_members(team):
    document = export_project(build_small_project(team))

    text = json.dumps(document)
    assert '"assignee": "dev"' in text and "former-sb" not in [m["username"] for m in document["members"]]
    former = get_user_model().objects.get(username="former-sb")
    person = {"username": "former-sb", "email": "former-sb@example.com", "name": former.get_full_name()}
    assert document["people"] == [person]
    retro = document["retrospectives"][0]
    assert retro["anonymous"] and all(card["author"] is None for card in retro["cards"])
    assert not any(key.endswith("_id") for key in _keys(document))


def _keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_people_missing_from_the_new_project_become_nobody_and_are_listed(team):
    project = build_small_project(team)
    document = export_project(project)
    copy_ = new_project_like(project, key="RT", skip=("dev",))
    preview = scrumboard_source.preview(copy_, scrumboard_source.parse(json.dumps(document).encode()))

    assert preview["people"]["unmatched"] == ["dev", "former-sb"]
    assert {"source": "po", "member": "po"} in preview["people"]["matched"]
    assert any(p["key"] == "Daily scrum entries" for p in preview["problems"])
    result = restore(copy_, document)

    assert result["skipped"] == {"standup_entries": 1, "votes": 2, "days_off": 1, "health_ratings": 2}
    assert BacklogItem.objects.get(project=copy_, number=2).assignee is None
    assert Comment.objects.get(item__project=copy_).author is None
    assert not Entry.objects.filter(meeting__project=copy_).exists()
    assert not Vote.objects.filter(retrospective__project=copy_).exists()
    assert Card.objects.filter(retrospective__project=copy_).count() == 2
    assert not HealthRating.objects.filter(retrospective__project=copy_).exists()


def test_people_are_matched_by_email_when_the_username_differs(team):
    project = build_small_project(team)
    document = export_project(project)
    copy_ = new_project_like(project, key="RT")
    for person in document["members"]:
        if person["username"] == "dev":
            person["username"] = "dev-at-old-site"
    text = json.dumps(document).replace('"dev"', '"dev-at-old-site"')

    restore(copy_, json.loads(text))

    assert BacklogItem.objects.get(project=copy_, number=2).assignee == team.developer


def test_preview_counts_everything_and_writes_nothing(team):
    document = export_project(build_small_project(team))
    copy_ = new_project_like(team.project, key="RT")
    before = _rows()

    preview = scrumboard_source.preview(copy_, scrumboard_source.parse(json.dumps(document).encode()))

    assert _rows() == before
    assert preview["source"] == "scrumboard" and preview["creates"] == 4 and preview["updates"] == 0
    assert preview["counts"] == {
        "items": 4,
        "comments": 1,
        "history_events": preview["counts"]["history_events"],
        "labels": 4,
        "sprints": 2,
        "committed_items": 3,
        "daily_scrums": 1,
        "standup_entries": 1,
        "impediments": 2,
        "retrospectives": 1,
        "cards": 2,
        "votes": 2,
        "action_items": 1,
        "phases": 1,
        "milestones": 1,
        "releases": 1,
    }
    assert preview["counts"]["history_events"] >= 10


def _rows() -> tuple:
    models = (BacklogItem, ItemEvent, Comment, Sprint, CommittedItem, DailyScrum, Entry, Retrospective, Card, Vote)
    return (*(model.objects.count() for model in models), Status.objects.count(), Role.objects.count())


def test_restore_refuses_a_project_that_already_has_content(team):
    document = export_project(build_small_project(team))
    parsed = scrumboard_source.parse(json.dumps(document).encode())
    before = _rows()

    with pytest.raises(ImportFileError, match="new, empty project"):
        scrumboard_source.preview(team.project, parsed)
    with pytest.raises(ImportFileError, match="new, empty project"), transaction.atomic():
        scrumboard_source.apply(team.project, parsed, actor=team.admin, job=None, progress=lambda d, t: None)
    assert _rows() == before


def test_restore_adopts_the_exported_workflow_and_settings_but_keeps_the_name(team):
    project = team.project
    Status.objects.filter(project=project, name="In Review").update(name="Testing", wip_limit=3)
    project.timezone, project.sprint_length_days = "Europe/Moscow", 7
    project.save()
    document = export_project(project)
    copy_ = make_project(key="RT", name="Restored")

    restore(copy_, document)

    copy_.refresh_from_db()
    assert (copy_.name, copy_.timezone, copy_.sprint_length_days) == ("Restored", "Europe/Moscow", 7)
    statuses = list(Status.objects.filter(project=copy_).values_list("name", "wip_limit"))
    assert statuses == [("To Do", None), ("In Progress", None), ("Testing", 3), ("Done", None)]


def test_existing_roles_keep_their_permissions_and_missing_ones_are_added(team):
    project = team.project
    Role.objects.create(project=project, slug="qa", name="QA", permissions=["view", "comment"], order=9)
    Role.objects.filter(project=project, slug="stakeholder").update(permissions=["view", "comment"])
    document = export_project(project)
    copy_ = new_project_like(project, key="RT")
    preview = scrumboard_source.preview(copy_, scrumboard_source.parse(json.dumps(document).encode()))

    restore(copy_, document)

    assert Role.objects.get(project=copy_, slug="qa").permissions == ["view", "comment"]
    assert Role.objects.get(project=copy_, slug="stakeholder").permissions == ["view"]
    assert [p["key"] for p in preview["problems"]] == ["stakeholder"]


def test_a_restore_by_someone_who_may_not_change_settings_or_roles_keeps_them(team):
    project = team.project
    Role.objects.create(project=project, slug="qa", name="QA", permissions=["view"], order=9)
    project.timezone = "Europe/Moscow"
    project.save()
    document = export_project(project)
    copy_ = new_project_like(project, key="RT")
    devops = make_member(copy_, "devops").user  # manages integrations, not the project or its roles

    result = restore(copy_, document, actor=devops)

    copy_.refresh_from_db()
    assert copy_.timezone == "Asia/Almaty" and not Role.objects.filter(project=copy_, slug="qa").exists()
    assert len(result["notes"]) == 2
    assert restore(make_project(key="RU"), document, actor=None)["notes"] == []


# --- the file's checks ----------------------------------------------------------------------------


def test_sniff_recognises_an_export_and_nothing_else(team):
    data = json.dumps(export_project(team.project)).encode()
    assert scrumboard_source.sniff(data)
    assert scrumboard_source.sniff(b"\xef\xbb\xbf" + data)
    assert not scrumboard_source.sniff(b'{"issues": []}')
    assert not scrumboard_source.sniff(b"Summary,Issue key\n")


def _broken(document: dict, path: str, value) -> bytes:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("format", "something-else", "not a Scrumboard export"),
        ("version", 2, "version 2"),
        ("items", {}, "at items: expected a list"),
        ("items.0.title", None, "at items[0].title: must not be null"),
        ("items.0.created_at", "yesterday", "at items[0].created_at: not a valid value"),
        ("items.0.created_at", "2026-03-02T10:00:00", "at items[0].created_at: not a valid value"),
        ("items.0.type", "saga", "at items[0].type"),
        ("items.0.title", "x" * 256, "at items[0].title"),
        ("items.0.points", "1.25", "at items[0].points"),
        ("items.0.rank", "", "at items[0].rank"),
        ("items.1.parent", "SB-99", "at items[1].parent: refers to “99”"),
        ("items.1.parent", "XX-1", "at items[1].parent: not a valid value"),
        ("items.0.status", "Nowhere", "at items[0].status: refers to “Nowhere”"),
        ("items.0.number", 2, "item number “2” appears twice"),
        ("items.0.links", KeyError, "at items[0].links: missing"),
        ("sprints.0.state", "active", "more than one sprint is active"),
        ("sprints.0.end_date", "2026-01-01", "the sprint ends before it starts"),
        ("retrospectives.0.votes.0.card", 1, "a vote is for a card or for a group"),
        ("retrospectives.0.health.0.score", 6, "at retrospectives[0].health[0].score"),
        ("roadmap.releases.0.version", "one", "not a semantic version"),
        ("roadmap.releases.0.released_on", None, "only when, it is released"),
        ("standups.meetings.0.sprint", 7, "refers to “7”"),
        ("roles.0.permissions", ["comment"], "at roles[0].permissions"),
        ("items.0.acceptance_criteria", "just text", "at items[0].acceptance_criteria"),
        ("project.timezone", "Mars/Olympus", "at project.timezone: Unknown time zone “Mars/Olympus”"),
        ("project.working_days", [8], "at project.working_days: Choose at least one working day"),
        ("project.sprint_length_days", 40, "at project.sprint_length_days"),
        ("sprints.0.commitment.0.item", "SB-99999999999", "at sprints[0].commitment[0].item"),
        ("items.1.role_points", {"backend": "7"}, "at items[1].role_points"),
        ("sprints.0.report", [1], "at sprints[0].report"),
        ("retrospectives.0.columns", [{"key": 1}], "at retrospectives[0].columns"),
        ("standups.meetings.0.attendance", {"dev": "yes"}, "at standups.meetings[0].attendance"),
    ],
)
def test_parse_rejects_a_broken_export_with_the_place_and_the_problem(team, path, value, message):
    document = export_project(build_small_project(team))
    document["sprints"][1]["state"] = "active"

    with pytest.raises(ImportFileError) as error:
        scrumboard_source.parse(_broken(document, path, value))

    assert message in error.value.message
    assert error.value.status == 400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8 text: byte 1 (line 1)"),
        (b"[" * 100_000 + b"]" * 100_000, "nests its JSON too deeply"),
        (b'{"format": "scrumboard-export",\n "version": 1,,}', "not valid JSON: Expecting property name"),
        (b"[1, 2]", "not a Scrumboard export"),
        (b'{"format": "scrumboard-export", "version": 1, "project": {}}', "names no project key"),
    ],
)
def test_parse_rejects_what_is_not_an_export(data, message):
    with pytest.raises(ImportFileError) as error:
        scrumboard_source.parse(data)
    assert message in error.value.message


def test_parse_refuses_more_items_than_an_import_takes(team, settings):
    build_small_project(team)
    settings.IMPORT_MAX_ROWS = 3

    with pytest.raises(ImportFileError, match="This export has 4 items; a restore takes at most 3"):
        scrumboard_source.parse(json.dumps(export_project(team.project)).encode())


# --- query counts -------------------------------------------------------------------------------


def _restorable(team, key: str, extra_items: int):
    """A project like SB (same members) with one of everything and ``extra_items`` more, and an empty copy."""
    source = new_project_like(team.project, key=key)
    document = export_project(build_small_project(dataclasses.replace(team, project=source), extra_items=extra_items))
    return new_project_like(source, key=f"{key}C"), scrumboard_source.parse(json.dumps(document).encode())


# Per table and batch of 500 rows, not per row: locks and checks, settings, roles, workflow and
# labels, then one insert (and one update restoring the original times) per table.
RESTORE_QUERIES = 87


def test_restore_writes_in_a_constant_number_of_queries(django_assert_num_queries, team):
    small = _restorable(team, "RA", 0)
    large = _restorable(team, "RB", 40)

    for project, parsed in (small, large):
        with django_assert_num_queries(RESTORE_QUERIES), transaction.atomic():
            scrumboard_source.apply(project, parsed, actor=None, job=None, progress=lambda d, t: None)
    assert BacklogItem.objects.filter(project=large[0]).count() == 44


# --- through the import pipeline -------------------------------------------------------------------


def _upload(api, user, key: str, data: bytes):
    body = {"file": SimpleUploadedFile("SB-2026-03-21.json", data, content_type="application/json")}
    return api.as_(user).post(reverse("api:import-list", kwargs={"key": key}), body, format="multipart")


def test_an_uploaded_export_is_detected_previewed_and_restored_by_the_import_job(api, team):
    document = export_project(build_small_project(team, former_leaves=False))
    copy_ = new_project_like(team.project, key="RT")

    response = _upload(api, team.admin, "RT", json.dumps(document).encode())

    assert response.status_code == 201, response.content
    job = response.json()
    assert job["preview"]["source"] == "scrumboard" and job["preview"]["counts"]["items"] == 4
    ImportJob.objects.filter(pk=job["id"]).update(state="queued")
    finished = jobs.run_job(job["id"])
    assert finished.state == "succeeded", finished.error
    assert finished.result["created"] == 4
    assert comparable(export_of(copy_)) == comparable(document)


def test_uploading_an_export_into_a_project_with_content_is_refused_on_the_file(api, team):
    document = export_project(build_small_project(team))

    response = _upload(api, team.admin, "SB", json.dumps(document).encode())

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["Restore an export into a new, empty project."]}


def test_a_restore_failing_at_the_last_table_leaves_nothing_behind(team):
    document = export_project(build_small_project(team))
    copy_ = new_project_like(team.project, key="RT")
    parsed = scrumboard_source.parse(json.dumps(document).encode())
    before = _rows()

    with (
        mock.patch.object(ReleaseItem.objects, "bulk_create", side_effect=IntegrityError("release_item_once")),
        pytest.raises(ImportFileError, match="contradicts itself"),
        transaction.atomic(),
    ):
        scrumboard_source.apply(copy_, parsed, actor=None, job=None, progress=lambda d, t: None)

    assert _rows() == before
    assert not BacklogItem.objects.filter(project=copy_).exists()
