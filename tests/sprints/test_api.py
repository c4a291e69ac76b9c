"""The sprints REST API: wiring, validation, idempotent start/complete, board, reports, query counts."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from backlog import ranking
from backlog import services as backlog_services
from backlog.models import BacklogItem, EventKind, ItemCounter, ItemEvent, ItemType, Label, Status
from scrumboard.models import IdempotencyRecord
from sprints import services
from sprints.models import CommittedItem, DaysOff, Sprint, SprintState
from tests.factories import make_project

BASE = "/api/v1/projects/SB/"
SPRINTS = BASE + "sprints/"
ITEMS = BASE + "items/"
VELOCITY = BASE + "velocity/"
# A Monday morning in the project's time zone (Asia/Almaty, UTC+5).
MONDAY = datetime.datetime(2025, 3, 3, 5, 0, tzinfo=datetime.UTC)
ERROR_KEYS = {"type", "detail", "errors"}


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(MONDAY, tick=False)


def url(sprint: Sprint, suffix: str = "") -> str:
    return f"{SPRINTS}{sprint.pk}/{suffix}"


def make_sprint(project, by, **fields) -> Sprint:
    return services.create_sprint(project=project, by=by, **fields)


def add_items(project, by, count, *, sprint=None, **fields) -> list[BacklogItem]:
    return [
        backlog_services.create_item(project=project, by=by, title=f"Item {n}", sprint=sprint, **fields)
        for n in range(count)
    ]


def status(project, name: str) -> Status:
    return Status.objects.get(project=project, name=name)


def set_status(item: BacklogItem, by, name: str, **extra) -> None:
    backlog_services.update_item(item=item, by=by, status=status(item.project, name), **extra)


def assert_error(response, code: int, error_type: str, field: str | None = None) -> dict:
    assert response.status_code == code, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS and body["type"] == error_type
    if field is not None:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body


def later(time_machine, **delta) -> None:
    """Moves the frozen clock on: ETags and the board's version come from update times."""
    time_machine.move_to(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(**delta), tick=False)


# --- CRUD ----------------------------------------------------------------------------------


def test_create_sprint_with_defaults_numbers_and_dates_it(api, team):
    client = api.as_(team.scrum_master)
    first = client.post(SPRINTS, {}, format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["number"], body["name"], body["state"]) == (1, "Sprint 1", "planned")
    assert (body["start_date"], body["end_date"]) == ("2025-03-03", "2025-03-16")  # 14 days from today
    assert (body["item_count"], body["goal_outcome"], body["committed_points"]) == (0, "", None)
    assert first["ETag"]
    second = client.post(SPRINTS, {"name": "  "}, format="json").json()
    assert (second["number"], second["name"]) == (2, "Sprint 2")
    assert (second["start_date"], second["end_date"]) == ("2025-03-17", "2025-03-30")  # after the last one
    assert [s["name"] for s in client.get(SPRINTS).json()["results"]] == ["Sprint 1", "Sprint 2"]


def test_create_sprint_with_explicit_fields(api, team):
    response = api.as_(team.product_owner).post(
        SPRINTS,
        {"name": "Checkout", "goal": "Pay by card", "start_date": "2025-03-10", "end_date": "2025-03-21"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    sprint = Sprint.objects.get()
    assert (sprint.name, sprint.goal, sprint.state) == ("Checkout", "Pay by card", SprintState.PLANNED)
    assert (sprint.start_date, sprint.end_date) == (datetime.date(2025, 3, 10), datetime.date(2025, 3, 21))
    assert response.json()["id"] == sprint.pk


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"start_date": "2025-03-10", "end_date": "2025-03-09"}, "end_date", "must end on or after its start"),
        ({"start_date": "2025-03-10", "end_date": "2025-04-10"}, "end_date", "one month at most"),
        ({"end_date": "2025-03-01"}, "end_date", "must end on or after its start"),  # before the default start
        ({"start_date": "tomorrow"}, "start_date", "Date has wrong format"),
        ({"end_date": "2025-02-30"}, "end_date", "Date has wrong format"),
        ({"start_date": None}, "start_date", "may not be null"),
        ({"start_date": 20250303}, "start_date", ""),
        ({"name": "x" * 101}, "name", "100 characters"),
        ({"goal_outcome": "maybe"}, "goal_outcome", "not a valid choice"),
        # Near the calendar's end the default end date and the one-month rule would overflow.
        ({"start_date": "9999-12-31"}, "start_date", "before the year 3000"),
        ({"start_date": "9999-12-20", "end_date": "9999-12-25"}, "end_date", "before the year 3000"),
    ],
)
def test_create_sprint_with_bad_input_is_400_with_the_fields_message(api, team, payload, field, message):
    response = api.as_(team.scrum_master).post(SPRINTS, payload, format="json")
    body = assert_error(response, 400, "validation_error", field)
    assert message in body["errors"][field][0]
    assert not Sprint.objects.exists()


def test_patch_name_goal_and_dates(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    client = api.as_(team.scrum_master)
    response = client.patch(
        url(sprint), {"name": " Renamed ", "goal": "Ship it", "end_date": "2025-03-14"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["goal"], response.json()["end_date"]) == (
        "Renamed",
        "Ship it",
        "2025-03-14",
    )
    sprint.refresh_from_db()
    assert (sprint.name, sprint.goal, sprint.end_date) == ("Renamed", "Ship it", datetime.date(2025, 3, 14))
    for payload, field in [
        ({"end_date": "2025-03-01"}, "end_date"),
        ({"end_date": "2025-05-01"}, "end_date"),
        ({"start_date": "03/04/2025"}, "start_date"),
        ({"name": ""}, "name"),
    ]:
        assert_error(client.patch(url(sprint), payload, format="json"), 400, "validation_error", field)
    sprint.refresh_from_db()
    assert (sprint.name, sprint.start_date, sprint.end_date) == (
        "Renamed",
        datetime.date(2025, 3, 3),
        datetime.date(2025, 3, 14),
    )


def test_goal_outcome_is_recorded_on_a_started_sprint_only(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    client = api.as_(team.scrum_master)
    planned = client.patch(url(sprint), {"goal_outcome": "met", "goal_note": "All done"}, format="json")
    assert_error(planned, 400, "validation_error", "goal_outcome")
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    response = client.patch(url(sprint), {"goal_outcome": "partly", "goal_note": " Login slipped "}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["goal_outcome"], response.json()["goal_note"]) == ("partly", "Login slipped")
    assert_error(client.patch(url(sprint), {"goal_outcome": "maybe"}, format="json"), 400, "validation_error")
    note_only = client.patch(url(sprint), {"goal_note": "Login moved to next sprint"}, format="json").json()
    assert (note_only["goal_outcome"], note_only["goal_note"]) == ("partly", "Login moved to next sprint")
    sprint.refresh_from_db()
    assert (sprint.goal_outcome, sprint.goal_note) == ("partly", "Login moved to next sprint")
    # A started sprint's start date is fixed.
    assert_error(client.patch(url(sprint), {"start_date": "2025-03-04"}, format="json"), 400, "validation_error")
    # The verdict is usually given at the review, after completion; the dates then belong to the report.
    services.complete_sprint(sprint=sprint, by=team.scrum_master)
    assert client.patch(url(sprint), {"goal_outcome": "met"}, format="json").json()["goal_outcome"] == "met"
    assert_error(client.patch(url(sprint), {"end_date": "2025-03-12"}, format="json"), 400, "validation_error")


def test_read_only_fields_are_ignored(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    response = api.as_(team.scrum_master).patch(
        url(sprint),
        {"state": "completed", "number": 7, "committed_points": "99", "started_at": "2025-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    sprint.refresh_from_db()
    assert (sprint.state, sprint.number, sprint.committed_points, sprint.started_at) == ("planned", 1, None, None)


def test_delete_planned_sprint_returns_its_items_to_the_backlog(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    items = add_items(team.project, team.scrum_master, 2, sprint=sprint)
    response = api.as_(team.scrum_master).delete(url(sprint))
    assert response.status_code == 204
    assert not Sprint.objects.exists()
    assert [item.sprint_id for item in BacklogItem.objects.order_by("number")] == [None, None]
    moved = ItemEvent.objects.filter(field="sprint", item_id=items[0].pk).get()
    assert (moved.old, moved.new) == ({"id": sprint.pk, "name": "Sprint 1"}, None)
    assert_error(api.get(url(sprint)), 404, "not_found")


def test_delete_active_sprint_is_409(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    assert_error(api.as_(team.scrum_master).delete(url(sprint)), 409, "conflict")
    assert Sprint.objects.get().state == SprintState.ACTIVE


def test_detail_has_an_etag_and_a_stale_if_match_gets_412(api, team, time_machine):
    sprint = make_sprint(team.project, team.scrum_master)
    client = api.as_(team.scrum_master)
    etag = client.get(url(sprint))["ETag"]
    assert etag
    later(time_machine, minutes=1)
    fresh = client.patch(url(sprint), {"name": "One"}, format="json", HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    later(time_machine, minutes=1)
    stale = client.patch(url(sprint), {"name": "Two"}, format="json", HTTP_IF_MATCH=etag)
    assert_error(stale, 412, "precondition_failed")
    assert_error(client.delete(url(sprint), HTTP_IF_MATCH=etag), 412, "precondition_failed")
    assert Sprint.objects.get().name == "One"
    assert client.patch(url(sprint), {"name": "Three"}, format="json", HTTP_IF_MATCH=fresh["ETag"]).status_code == 200


def test_list_filters_by_state(api, team):
    done, active, _planned = (make_sprint(team.project, team.scrum_master) for _ in range(3))
    services.start_sprint(sprint=done, by=team.scrum_master)
    services.complete_sprint(sprint=done, by=team.scrum_master)
    services.start_sprint(sprint=active, by=team.scrum_master)
    client = api.as_(team.stakeholder)
    assert [s["state"] for s in client.get(SPRINTS).json()["results"]] == ["completed", "active", "planned"]
    assert [s["number"] for s in client.get(SPRINTS, {"state": "planned,active"}).json()["results"]] == [2, 3]
    assert client.get(SPRINTS, {"state": "nonsense"}).json()["results"] == []


# --- start and complete --------------------------------------------------------------------


def test_start_records_the_commitment_and_allows_one_active_sprint(api, team):
    first, second = make_sprint(team.project, team.scrum_master), make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=first, estimate="3")
    client = api.as_(team.scrum_master)
    response = client.post(url(first, "start/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "active" and body["started_at"].startswith("2025-03-03T")
    assert CommittedItem.objects.filter(sprint=first).count() == 2
    assert "Sprint 1" in assert_error(client.post(url(second, "start/")), 409, "conflict")["detail"]
    assert_error(client.post(url(first, "start/")), 409, "conflict")
    assert Sprint.objects.get(pk=second.pk).state == SprintState.PLANNED


def test_starting_a_sprint_that_has_ended_is_400(api, team):
    sprint = make_sprint(team.project, team.scrum_master, start_date=datetime.date(2025, 2, 17))
    response = api.as_(team.scrum_master).post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="late")
    assert_error(response, 400, "validation_error", "end_date")
    assert Sprint.objects.get().state == SprintState.PLANNED and not IdempotencyRecord.objects.exists()


def test_complete_moves_unfinished_items_to_the_next_sprint(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    done, open_item = add_items(team.project, team.scrum_master, 2, sprint=sprint, estimate="2")
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    set_status(done, team.scrum_master, "Done", override_reason="test")
    response = api.as_(team.scrum_master).post(url(sprint, "complete/"), {"unfinished": "next_sprint"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["sprint"]["state"] == "completed" and body["sprint"]["completed_points"] == "2.0"
    assert body["carried_over"] == [open_item.key]
    assert body["next_sprint"]["name"] == "Sprint 2" and body["next_sprint"]["state"] == "planned"
    assert BacklogItem.objects.get(pk=open_item.pk).sprint_id == body["next_sprint"]["id"]
    assert BacklogItem.objects.get(pk=done.pk).sprint_id == sprint.pk


def test_complete_returns_unfinished_items_to_the_backlog_top(api, team):
    add_items(team.project, team.scrum_master, 2)  # SB-1, SB-2 in the backlog
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=sprint)  # SB-3, SB-4
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    client = api.as_(team.scrum_master)
    assert_error(
        client.post(url(sprint, "complete/"), {"unfinished": "nowhere"}, format="json"),
        400,
        "validation_error",
        "unfinished",
    )
    assert Sprint.objects.get().state == SprintState.ACTIVE
    response = client.post(url(sprint, "complete/"), {"unfinished": "backlog"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["next_sprint"] is None
    backlog = client.get(ITEMS, {"sprint": "none"}).json()["results"]
    assert [row["key"] for row in backlog] == ["SB-3", "SB-4", "SB-1", "SB-2"]
    assert Sprint.objects.count() == 1
    assert_error(client.post(url(sprint, "complete/"), {}, format="json"), 409, "conflict")


def test_completing_a_planned_sprint_is_409(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    assert_error(api.as_(team.scrum_master).post(url(sprint, "complete/"), {}, format="json"), 409, "conflict")


def test_start_with_an_idempotency_key_replays_instead_of_409(api, team, time_machine):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 1, sprint=sprint)
    client = api.as_(team.scrum_master)
    first = client.post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="start-1")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first
    started_at = Sprint.objects.get().started_at
    later(time_machine, minutes=5)
    again = client.post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="start-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Sprint.objects.get().started_at == started_at
    assert CommittedItem.objects.count() == 1
    assert_error(client.post(url(sprint, "start/")), 409, "conflict")  # no key: a second start
    assert_error(client.post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="start-2"), 409, "conflict")
    assert IdempotencyRecord.objects.count() == 1  # the refused start kept nothing


def test_complete_with_an_idempotency_key_creates_one_next_sprint(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=sprint)
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    client = api.as_(team.scrum_master)
    payload = {"unfinished": "next_sprint"}
    first = client.post(url(sprint, "complete/"), payload, format="json", HTTP_IDEMPOTENCY_KEY="done-1")
    assert first.status_code == 200, first.json()
    again = client.post(url(sprint, "complete/"), payload, format="json", HTTP_IDEMPOTENCY_KEY="done-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Sprint.objects.count() == 2
    assert ItemEvent.objects.filter(field="sprint", kind=EventKind.CHANGED).count() == 2
    other = client.post(
        url(sprint, "complete/"), {"unfinished": "backlog"}, format="json", HTTP_IDEMPOTENCY_KEY="done-1"
    )
    assert_error(other, 422, "idempotency_key_reused")


def test_a_refused_complete_does_not_use_up_its_idempotency_key(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    client = api.as_(team.scrum_master)
    bad = client.post(url(sprint, "complete/"), {"unfinished": "nowhere"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_error(bad, 400, "validation_error", "unfinished")
    good = client.post(url(sprint, "complete/"), {"unfinished": "backlog"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 200
    assert_error(client.post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="x" * 256), 400, "validation_error")


# --- the board -----------------------------------------------------------------------------


def test_board_has_a_column_per_status_with_its_cards(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    todo, doing, done = add_items(team.project, team.scrum_master, 3, sprint=sprint, labels=["ux"], estimate="2")
    add_items(team.project, team.scrum_master, 1)  # in the backlog, not on the board
    set_status(doing, team.scrum_master, "In Progress")
    set_status(done, team.scrum_master, "Done", override_reason="test")
    response = api.as_(team.stakeholder).get(url(sprint, "board/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["sprint"] == {"id": sprint.pk, "name": "Sprint 1", "state": "planned"}
    assert [c["status"] for c in body["columns"]] == ["To Do", "In Progress", "In Review", "Done"]
    assert [c["category"] for c in body["columns"]] == ["todo", "in_progress", "in_progress", "done"]
    assert [[card["key"] for card in c["items"]] for c in body["columns"]] == [
        [todo.key],
        [doing.key],
        [],
        [done.key],
    ]
    card = body["columns"][0]["items"][0]
    assert (card["title"], card["points"], card["labels"]) == ("Item 0", "2.0", ["ux"])
    assert "description" not in card  # cards stay small
    assert body["lanes"] == [] and body["version"]
    assert all(c["wip_limit"] is None and c["over_limit"] is False for c in body["columns"])


def test_board_filters_only_mine_and_groups_swimlanes(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    story = backlog_services.create_item(project=team.project, by=team.scrum_master, title="Story", sprint=sprint)
    task = backlog_services.create_item(
        project=team.project, by=team.scrum_master, title="Task", type="task", parent=story, sprint=sprint
    )
    mine = backlog_services.create_item(
        project=team.project, by=team.scrum_master, title="Mine", assignee=team.developer, sprint=sprint
    )
    client = api.as_(team.developer)
    only_mine = client.get(url(sprint, "board/"), {"assignee": "me"}).json()
    assert [card["key"] for c in only_mine["columns"] for card in c["items"]] == [mine.key]
    by_assignee = client.get(url(sprint, "board/"), {"swimlanes": "assignee"}).json()
    assert [(lane["key"], lane["columns"][0]["items"]) for lane in by_assignee["lanes"]] == [
        ("dev", [mine.key]),
        ("", [story.key, task.key]),
    ]
    by_parent = client.get(url(sprint, "board/"), {"swimlanes": "parent"}).json()
    assert [(lane["key"], lane["title"]) for lane in by_parent["lanes"]] == [
        (story.key, f"{story.key} Story"),
        ("", ""),
    ]
    assert by_parent["lanes"][0]["columns"][0]["items"] == [task.key]  # lanes name the cards by key
    assert len(by_parent["columns"][0]["items"]) == 3  # the columns still hold every card
    none = client.get(url(sprint, "board/"), {"swimlanes": "none"}).json()
    assert none["lanes"] == []
    assert_error(client.get(url(sprint, "board/"), {"swimlanes": "status"}), 400, "validation_error", "swimlanes")


def test_board_column_over_its_wip_limit_is_flagged(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    items = add_items(team.project, team.scrum_master, 3, sprint=sprint)
    Status.objects.filter(project=team.project, name="In Progress").update(wip_limit=2)
    client = api.as_(team.developer)
    for item in items[:2]:
        set_status(item, team.developer, "In Progress")
    column = client.get(url(sprint, "board/")).json()["columns"][1]
    assert (column["status"], column["wip_limit"], column["over_limit"]) == ("In Progress", 2, False)
    set_status(items[2], team.developer, "In Progress")
    column = client.get(url(sprint, "board/")).json()["columns"][1]
    assert (len(column["items"]), column["over_limit"]) == (3, True)
    # Showing only my cards does not hide that the column is over its limit.
    mine = client.get(url(sprint, "board/"), {"assignee": "me"}).json()["columns"][1]
    assert (len(mine["items"]), mine["over_limit"]) == (0, True)


def test_board_lanes_by_epic_gather_stories_and_their_tasks(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    create = backlog_services.create_item
    epic = create(project=team.project, by=team.scrum_master, title="Epic", type="epic")
    story = create(project=team.project, by=team.scrum_master, title="Story", parent=epic, sprint=sprint)
    task = create(project=team.project, by=team.scrum_master, title="Task", type="task", parent=story, sprint=sprint)
    loose = create(project=team.project, by=team.scrum_master, title="Loose", sprint=sprint)
    body = api.as_(team.stakeholder).get(url(sprint, "board/"), {"swimlanes": "epic"}).json()
    assert [(lane["key"], lane["title"], lane["columns"][0]["items"]) for lane in body["lanes"]] == [
        (epic.key, f"{epic.key} Epic", [story.key, task.key]),
        ("", "", [loose.key]),
    ]


def test_board_version_changes_when_a_card_changes(api, team, time_machine):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=sprint)
    client = api.as_(team.developer)
    version = client.get(url(sprint, "board/")).json()["version"]
    assert client.get(url(sprint, "board/")).json()["version"] == version  # stable while nothing changes
    later(time_machine, seconds=3)
    moved = client.patch(ITEMS + "SB-1/", {"status": "In Progress"}, format="json")
    assert moved.status_code == 200, moved.json()
    board = client.get(url(sprint, "board/")).json()
    assert board["version"] != version
    assert [card["key"] for card in board["columns"][1]["items"]] == ["SB-1"]


# --- burndown, report ----------------------------------------------------------------------


def started_sprint_with_work(team, time_machine) -> Sprint:
    """Sprint 1, started on Monday with SB-1 (3 points) and SB-2 (5); an hour later SB-1 done, SB-3 (2) added."""
    sprint = make_sprint(team.project, team.scrum_master, goal="Sign-in works")
    first = backlog_services.create_item(
        project=team.project,
        by=team.scrum_master,
        title="Sign in",
        estimate="3",
        sprint=sprint,
        assignee=team.developer,
    )
    backlog_services.create_item(
        project=team.project, by=team.scrum_master, title="=cmd()", estimate="5", sprint=sprint
    )
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    later(time_machine, hours=1)
    set_status(first, team.developer, "Done", override_reason="test")
    backlog_services.create_item(project=team.project, by=team.scrum_master, title="Extra", estimate="2", sprint=sprint)
    return sprint


def test_burndown_series(api, team, time_machine):
    sprint = started_sprint_with_work(team, time_machine)
    response = api.as_(team.stakeholder).get(url(sprint, "burndown/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["days"] == [
        "start",
        *[f"2025-03-{d:02d}" for d in (3, 4, 5, 6, 7, 10, 11, 12, 13, 14)],
    ]  # weekends are not working days
    for name in ("ideal", "remaining", "scope", "completed", "ideal_items", "remaining_items", "scope_items"):
        assert len(body[name]) == 11, name
    assert body["ideal"][0] == 8.0 and body["ideal"][-1] == 0.0
    assert body["scope"][:3] == [8.0, 10.0, None] and body["completed"][:2] == [0.0, 3.0]
    assert body["remaining"][:2] == [8.0, 7.0] and body["scope_items"][:2] == [2, 3]
    assert body["today"] == 1


def test_report_json(api, team, time_machine):
    sprint = started_sprint_with_work(team, time_machine)
    response = api.as_(team.stakeholder).get(url(sprint, "report/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "active" and body["goal_outcome"] == "" and body["feedback"] == []
    assert body["sprint"]["goal"] == "Sign-in works"
    assert body["committed"] == {"points": 8.0, "items": 2}
    assert body["completed"] == {"points": 3.0, "items": 1}
    assert body["scope"] == {"points": 10.0, "items": 3}
    assert body["completion_percent"] == 30
    assert [row["key"] for row in body["scope_change"]["added"]] == ["SB-3"]
    assert [row["key"] for row in body["done_items"]] == ["SB-1"]
    assert [row["key"] for row in body["carry_over"]] == ["SB-2", "SB-3"]
    assert body["by_member"] == [{"username": "dev", "name": team.developer.get_full_name(), "points": 3.0, "items": 1}]
    assert {"burndown", "product_goal", "capacity", "by_role", "committed_completed"} <= set(body)


def test_report_csv_is_spreadsheet_safe(api, team, time_machine):
    sprint = started_sprint_with_work(team, time_machine)
    response = api.as_(team.stakeholder).get(url(sprint, "report/"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="SB-sprint-1-report.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Section", "Key", "Title", "Points", "Status", "Assignee", "Note"]
    assert ["done", "SB-1", "Sign in", "3.0", "Done", "dev", ""] in rows
    assert ["carry-over", "SB-2", "'=cmd()", "5.0", "To Do", "", ""] in rows
    assert ["total", "committed", "", "8.0", "", "", "2 items"] in rows
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@"))]


def test_completed_sprint_report_is_frozen(api, team, time_machine):
    sprint = started_sprint_with_work(team, time_machine)
    services.complete_sprint(sprint=sprint, by=team.scrum_master)
    client = api.as_(team.scrum_master)
    before = client.get(url(sprint, "report/")).json()
    backlog_services.update_item(item=BacklogItem.objects.get(number=1), by=team.scrum_master, estimate="13")
    after = client.get(url(sprint, "report/")).json()
    assert after == before and after["state"] == "completed" and after["completed"]["points"] == 3.0
    assert client.get(url(sprint, "burndown/")).json() == before["burndown"]


# --- capacity, feedback, velocity ----------------------------------------------------------


def test_capacity_read_and_days_off(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=sprint, estimate="5")
    client = api.as_(team.scrum_master)
    body = client.get(url(sprint, "capacity/")).json()
    assert (body["working_days"], body["available_days"], body["planned_points"]) == (10, 10, 10.0)
    assert body["members"] == [{"member": "dev", "role": "backend", "days_off": 0, "available_days": 10}]
    assert body["average_velocity"] is None and body["capacity_points"] is None and body["over_capacity"] is False
    response = client.patch(url(sprint, "capacity/"), {"members": [{"member": "dev", "days_off": 3}]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["members"][0] == {"member": "dev", "role": "backend", "days_off": 3, "available_days": 7}
    assert response.json()["available_days"] == 7
    assert DaysOff.objects.get().days == 3
    assert (
        client.patch(url(sprint, "capacity/"), {"members": [{"member": "dev", "days_off": 0}]}, format="json").json()[
            "available_days"
        ]
        == 10
    )
    assert not DaysOff.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"members": [{"member": "outsider", "days_off": 1}]},
        {"members": [{"member": "ghost", "days_off": 1}]},
        {"members": [{"member": "dev", "days_off": 11}]},  # the sprint has 10 working days
        {"members": [{"member": "dev", "days_off": -1}]},
        {"members": [{"member": "dev", "days_off": "two"}]},
        {"members": [{"member": "dev"}]},
        {"members": []},
        {"members": "dev"},
        {},
    ],
)
def test_capacity_bad_days_off_are_400(api, team, payload):
    sprint = make_sprint(team.project, team.scrum_master)
    response = api.as_(team.scrum_master).patch(url(sprint, "capacity/"), payload, format="json")
    assert_error(response, 400, "validation_error", "members")
    assert not DaysOff.objects.exists()


def test_days_off_change_nothing_when_one_row_is_bad(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    payload = {"members": [{"member": "dev", "days_off": 2}, {"member": "sm", "days_off": 20}]}
    assert_error(
        api.as_(team.scrum_master).patch(url(sprint, "capacity/"), payload, format="json"), 400, "validation_error"
    )
    assert not DaysOff.objects.exists()


def test_feedback_becomes_a_labelled_backlog_item(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    client = api.as_(team.scrum_master)
    planned = client.post(url(sprint, "feedback/"), {"title": "Too early"}, format="json")
    assert_error(planned, 400, "validation_error")
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    response = client.post(
        url(sprint, "feedback/"), {"title": "Export to PDF", "description": "Asked by sales"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["title"], body["labels"], body["sprint"], body["status"]) == (
        "Export to PDF",
        ["feedback"],
        None,
        "To Do",
    )
    reader = api.as_(team.stakeholder)
    assert [row["key"] for row in reader.get(url(sprint, "feedback/")).json()["results"]] == [body["key"]]
    assert reader.get(url(sprint, "report/")).json()["feedback"] == [{"key": body["key"], "title": "Export to PDF"}]
    assert_error(reader.post(url(sprint, "feedback/"), {"title": "Mine"}, format="json"), 403, "permission_denied")
    client = api.as_(team.developer)  # anyone who edits the backlog may capture feedback
    assert_error(client.post(url(sprint, "feedback/"), {"title": ""}, format="json"), 400, "validation_error", "title")
    assert client.post(url(sprint, "feedback/"), {"title": "Dark mode"}, format="json").status_code == 201
    assert BacklogItem.objects.filter(labels__name="feedback").count() == 2


def complete_sprints(team, points: list[str]) -> None:
    """Completed sprints one after another, each with one item of the given points done."""
    for estimate in points:
        sprint = make_sprint(team.project, team.scrum_master)
        item = backlog_services.create_item(
            project=team.project, by=team.scrum_master, title="Work", estimate=estimate, sprint=sprint
        )
        backlog_services.create_item(
            project=team.project, by=team.scrum_master, title="Spill", estimate="1", sprint=sprint
        )
        services.start_sprint(sprint=sprint, by=team.scrum_master)
        set_status(item, team.scrum_master, "Done", override_reason="test")
        services.complete_sprint(sprint=sprint, by=team.scrum_master)


def test_velocity_without_history_has_no_forecast(api, team):
    add_items(team.project, team.scrum_master, 2, estimate="5")
    client = api.as_(team.stakeholder)
    body = client.get(VELOCITY).json()
    assert body == {"sprints": [], "average_last_3": None, "next_sprint_forecast": None, "forecast": None}
    assert client.get(VELOCITY, {"remaining": "40"}).json()["forecast"] is None
    # Nothing left to do needs no history: zero sprints.
    assert client.get(VELOCITY, {"remaining": "0"}).json()["forecast"]["p85_sprints"] == 0


def test_velocity_and_forecast(api, team):
    complete_sprints(team, ["3", "5", "8", "5"])
    client = api.as_(team.stakeholder)
    body = client.get(VELOCITY).json()
    assert [(row["number"], row["committed"], row["completed"]) for row in body["sprints"]] == [
        (1, 4.0, 3.0),
        (2, 6.0, 5.0),
        (3, 9.0, 8.0),
        (4, 6.0, 5.0),
    ]
    assert body["average_last_3"] == 6.0 and body["next_sprint_forecast"] == 6.0
    # The default remaining work is the unfinished backlog: the four spilled 1-point items.
    assert body["forecast"]["remaining_points"] == 4.0 and body["forecast"]["p50_sprints"] == 1
    forecast = client.get(VELOCITY, {"remaining": "42.5"}).json()["forecast"]
    assert forecast["remaining_points"] == 42.5 and forecast["history"] == 4
    assert 1 <= forecast["p50_sprints"] <= forecast["p85_sprints"]
    assert forecast["p50_date"] <= forecast["p85_date"]
    assert client.get(VELOCITY, {"remaining": "0"}).json()["forecast"]["p85_sprints"] == 0
    assert forecast["beyond_horizon"] is False


def test_a_forecast_too_far_out_says_beyond_the_horizon_without_dates(api, team):
    complete_sprints(team, ["3"])
    forecast = api.as_(team.stakeholder).get(VELOCITY, {"remaining": "1000000"}).json()["forecast"]
    assert forecast["beyond_horizon"] is True
    assert (forecast["p50_date"], forecast["p85_date"]) == (None, None)


@pytest.mark.parametrize("remaining", ["abc", "-1", "nan", "inf", "1e9", ""])
def test_velocity_with_a_bad_remaining_is_400(api, team, remaining):
    response = api.as_(team.stakeholder).get(VELOCITY, {"remaining": remaining})
    assert_error(response, 400, "validation_error", "remaining")


# --- the items API and sprints -------------------------------------------------------------


def test_move_into_a_sprint_at_its_top_and_back_to_the_backlog(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2, sprint=sprint)  # SB-1, SB-2 in the sprint
    add_items(team.project, team.scrum_master, 1)  # SB-3 in the backlog
    client = api.as_(team.product_owner)
    response = client.post(ITEMS + "SB-3/move/", {"sprint": sprint.pk, "position": "top"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["sprint"] == sprint.pk
    in_sprint = client.get(ITEMS, {"sprint": str(sprint.pk)}).json()["results"]
    assert [row["key"] for row in in_sprint] == ["SB-3", "SB-1", "SB-2"]
    event = ItemEvent.objects.filter(field="sprint").get()
    assert (event.old, event.new) == (None, {"id": sprint.pk, "name": "Sprint 1"})
    back = client.post(ITEMS + "SB-1/move/", {"sprint": None}, format="json")
    assert back.status_code == 200 and back.json()["sprint"] is None
    assert [row["key"] for row in client.get(ITEMS, {"sprint": "none"}).json()["results"]] == ["SB-1"]


def test_move_into_another_projects_or_a_completed_sprint_is_400(api, team):
    other = make_project(key="XX")
    foreign = make_sprint(other, other.memberships.get().user)
    done = make_sprint(team.project, team.scrum_master)
    services.start_sprint(sprint=done, by=team.scrum_master)
    services.complete_sprint(sprint=done, by=team.scrum_master)
    add_items(team.project, team.scrum_master, 1)
    client = api.as_(team.scrum_master)
    for sprint_id in (foreign.pk, done.pk, 999999, "1; DROP", -1, 1.5, True, [1], {"id": 1}):
        response = client.post(ITEMS + "SB-1/move/", {"sprint": sprint_id, "position": "top"}, format="json")
        assert_error(response, 400, "validation_error", "sprint")
    assert BacklogItem.objects.get().sprint_id is None


@pytest.mark.parametrize("value", ["²", "١", "99999999999999999999", "-1", "1.0"])
@pytest.mark.parametrize("request_kind", ["move", "create", "list"])
def test_a_sprint_id_that_is_not_plain_ascii_digits_is_refused_not_a_500(api, team, request_kind, value):
    sprint = make_sprint(team.project, team.scrum_master)  # sprint 1 exists: an Arabic-Indic one must not reach it
    add_items(team.project, team.scrum_master, 1)
    BacklogItem.objects.filter(number=1).update(sprint=sprint)
    client = api.as_(team.scrum_master)
    if request_kind == "move":
        response = client.post(ITEMS + "SB-1/move/", {"sprint": value}, format="json")
    elif request_kind == "create":
        response = client.post(ITEMS, {"title": "New", "sprint": value}, format="json")
    else:
        response = client.get(ITEMS, {"sprint": value})
    if request_kind == "list":
        assert response.status_code == 200
        assert response.json()["results"] == []
    else:
        assert response.status_code == 400
        assert "sprint" in response.json()["errors"]


def test_moving_into_a_sprint_needs_manage_sprints(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 2)
    client = api.as_(team.developer)
    assert_error(client.post(ITEMS + "SB-1/move/", {"sprint": sprint.pk}, format="json"), 403, "permission_denied")
    assert_error(client.patch(ITEMS + "SB-1/", {"sprint": sprint.pk}, format="json"), 403, "permission_denied")
    assert_error(
        client.post(ITEMS + "bulk/", {"items": ["SB-1"], "sprint": sprint.pk}, format="json"), 403, "permission_denied"
    )
    assert not BacklogItem.objects.filter(sprint__isnull=False).exists()
    # Ordering the backlog stays the developer's.
    assert client.post(ITEMS + "SB-2/move/", {"position": "top"}, format="json").status_code == 200


def test_patch_item_sprint_and_list_filters(api, team):
    planned, active = make_sprint(team.project, team.scrum_master), make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 4)
    services.start_sprint(sprint=active, by=team.scrum_master)
    client = api.as_(team.scrum_master)
    response = client.patch(ITEMS + "SB-1/", {"sprint": planned.pk, "title": "Planned"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["sprint"], response.json()["title"]) == (planned.pk, "Planned")
    assert client.patch(ITEMS + "SB-2/", {"sprint": active.pk}, format="json").json()["sprint"] == active.pk
    assert_error(client.patch(ITEMS + "SB-3/", {"sprint": "abc"}, format="json"), 400, "validation_error", "sprint")

    def keys(**params):
        return [row["key"] for row in client.get(ITEMS, params).json()["results"]]

    assert keys(sprint=planned.pk) == ["SB-1"]
    assert keys(sprint="active") == ["SB-2"]
    assert keys(sprint="none") == ["SB-3", "SB-4"]
    assert keys(sprint="999999") == [] and keys(sprint="soon") == []
    assert client.patch(ITEMS + "SB-1/", {"sprint": None}, format="json").json()["sprint"] is None
    assert keys(sprint="none") == ["SB-1", "SB-3", "SB-4"]


def test_bulk_moves_items_into_a_sprint(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 3)
    client = api.as_(team.product_owner)
    response = client.post(ITEMS + "bulk/", {"items": ["SB-1", "SB-3"], "sprint": sprint.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"updated": 2}
    assert [i.number for i in BacklogItem.objects.filter(sprint=sprint).order_by("number")] == [1, 3]
    assert ItemEvent.objects.filter(field="sprint").count() == 2
    assert client.get(SPRINTS).json()["results"][0]["item_count"] == 2
    back = client.post(ITEMS + "bulk/", {"items": ["SB-1", "SB-3"], "sprint": None}, format="json")
    assert back.status_code == 200 and not BacklogItem.objects.filter(sprint__isnull=False).exists()


# --- role boundaries -----------------------------------------------------------------------


def test_product_owner_starts_and_completes_a_sprint(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    client = api.as_(team.product_owner)
    assert client.post(url(sprint, "start/")).json()["state"] == "active"
    assert client.post(url(sprint, "complete/"), {}, format="json").json()["sprint"]["state"] == "completed"


@pytest.mark.parametrize("persona", ["developer", "stakeholder"])
def test_developers_and_stakeholders_cannot_change_sprints(api, team, persona):
    planned = make_sprint(team.project, team.scrum_master)
    active = make_sprint(team.project, team.scrum_master)
    services.start_sprint(sprint=active, by=team.scrum_master)
    client = api.as_(getattr(team, persona))
    for response in [
        client.post(SPRINTS, {}, format="json"),
        client.patch(url(planned), {"name": "Mine"}, format="json"),
        client.delete(url(planned)),
        client.post(url(planned, "start/"), HTTP_IDEMPOTENCY_KEY="try"),
        client.post(url(active, "complete/"), {"unfinished": "backlog"}, format="json"),
        client.patch(url(active), {"goal_outcome": "met"}, format="json"),
        client.patch(url(active, "capacity/"), {"members": [{"member": "dev", "days_off": 1}]}, format="json"),
    ]:
        assert_error(response, 403, "permission_denied")
    assert [(s.name, s.state, s.goal_outcome) for s in Sprint.objects.order_by("number")] == [
        ("Sprint 1", "planned", ""),
        ("Sprint 2", "active", ""),
    ]
    assert not DaysOff.objects.exists() and not IdempotencyRecord.objects.exists()
    for path in ["", "board/", "burndown/", "report/", "capacity/", "feedback/"]:
        assert client.get(url(active, path)).status_code == 200, path
    assert client.get(url(active, "report/"), {"format": "csv"}).status_code == 200
    assert client.get(VELOCITY).status_code == 200


def test_developer_drags_a_card_on_the_board(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    add_items(team.project, team.scrum_master, 1, sprint=sprint)
    services.start_sprint(sprint=sprint, by=team.scrum_master)
    client = api.as_(team.developer)
    assert client.patch(ITEMS + "SB-1/", {"status": "In Review"}, format="json").status_code == 200
    assert client.get(url(sprint, "board/")).json()["columns"][2]["items"][0]["key"] == "SB-1"
    assert_error(
        api.as_(team.stakeholder).patch(ITEMS + "SB-1/", {"status": "Done"}, format="json"), 403, "permission_denied"
    )


def test_outsiders_and_anonymous_see_nothing(api, team):
    sprint = make_sprint(team.project, team.scrum_master)
    for path in ["", "board/", "burndown/", "report/", "capacity/", "feedback/"]:
        assert_error(api.as_(team.outsider).get(url(sprint, path)), 404, "not_found")
    assert_error(api.as_(team.outsider).get(VELOCITY), 404, "not_found")
    api.force_authenticate(user=None)
    assert_error(api.get(url(sprint)), 401, "not_authenticated")
    assert_error(api.post(url(sprint, "start/"), HTTP_IDEMPOTENCY_KEY="anon"), 401, "not_authenticated")
    assert Sprint.objects.get().state == SprintState.PLANNED


# --- query counts --------------------------------------------------------------------------


def bulk_sprint(team, count: int, time_machine) -> Sprint:
    """An active sprint of ``count`` items (some tasks under a story, labelled, assigned, in every status).

    The items are bulk-created with the "created" history events ``create_item`` writes, then
    the sprint is started and two more items arrive an hour later (scope added).
    """
    project, by = team.project, team.scrum_master
    sprint = make_sprint(project, by)
    story = backlog_services.create_item(project=project, by=by, title="Parent story", estimate="5", sprint=sprint)
    label = Label.objects.create(project=project, name="bulk")
    statuses = list(project.statuses.order_by("order"))
    ranks = ranking.keys_between(story.rank, None, count)
    items = BacklogItem.objects.bulk_create(
        BacklogItem(
            project=project,
            number=story.number + 1 + n,
            type=ItemType.TASK if n % 3 == 0 else ItemType.STORY,
            title=f"Bulk {n}",
            status=statuses[n % len(statuses)],
            assignee=(team.developer, team.product_owner, None)[n % 3],
            reporter=by,
            parent=story if n % 3 == 0 else None,
            estimate="3",
            points=Decimal(3),
            rank=rank,
            sprint=sprint,
        )
        for n, rank in enumerate(ranks)
    )
    ItemCounter.objects.filter(project=project).update(last_number=story.number + count)
    BacklogItem.labels.through.objects.bulk_create(
        BacklogItem.labels.through(backlogitem_id=item.pk, label_id=label.pk) for item in items
    )
    # The very snapshot create_item records, so the burndown and report replay these items as real ones.
    ItemEvent.objects.bulk_create(
        backlog_services.history_event(
            item, by=by, kind=EventKind.CREATED, new=backlog_services._snapshot(item, [label])
        )
        for item in items
    )
    services.start_sprint(sprint=sprint, by=by)
    later(time_machine, hours=1)
    for n in range(2):
        backlog_services.create_item(project=project, by=by, title=f"Late {n}", estimate="2", sprint=sprint)
    services.set_days_off(sprint=sprint, by=by, user=team.developer, days=2)
    sprint.feedback_items.set(items)  # as many feedback items as cards, for the feedback list
    later(time_machine, hours=1)
    return sprint


# (path, query params, queries). Every request: the project, the caller's membership.
SPRINT_READS = [
    # the sprint; statuses; cards; their labels; the version (count and latest change)
    pytest.param("board/", {}, 7, id="board"),
    # only mine: plus every column's full count, for the WIP limits
    pytest.param("board/", {"swimlanes": "parent", "assignee": "me"}, 8, id="board-mine-by-parent"),
    pytest.param("board/", {"swimlanes": "epic"}, 7, id="board-by-epic"),
    pytest.param("board/", {"swimlanes": "assignee"}, 7, id="board-by-assignee"),
    # the sprint; the sprint's item ids, their events; the commitment (for the ideal line)
    pytest.param("burndown/", {}, 6, id="burndown"),
    # the sprint; item ids, events; commitment; members; role names (the report's burndown re-walks the same events);
    # product goal; capacity (days off, team, recent velocity, items); feedback
    pytest.param("report/", {}, 14, id="report"),
    pytest.param("report/", {"format": "csv"}, 14, id="report-csv"),
    # the sprint; days off; the team; recent velocity; items
    pytest.param("capacity/", {}, 7, id="capacity"),
    # the sprint; statuses; items; their labels
    pytest.param("feedback/", {}, 6, id="feedback"),
    # the sprint; the sprint annotated with its item count and points
    pytest.param("", {}, 4, id="detail"),
]


@pytest.mark.parametrize("count", [5, 300])
@pytest.mark.parametrize(("path", "params", "queries"), SPRINT_READS)
def test_sprint_reads_run_a_constant_number_of_queries(
    api, team, time_machine, django_assert_num_queries, count, path, params, queries
):
    sprint = bulk_sprint(team, count, time_machine)
    client = api.as_(team.developer)
    with django_assert_num_queries(queries):
        response = client.get(url(sprint, path), params)
    assert response.status_code == 200
    if path == "board/":
        cards = sum(len(column["items"]) for column in response.json()["columns"])
        mine = sum(1 for n in range(count) if n % 3 == 0)  # the developer's cards
        assert cards == (mine if params.get("assignee") == "me" else count + 3)


@pytest.mark.parametrize("count", [5, 300])
def test_sprint_and_item_lists_run_a_constant_number_of_queries(
    api, team, time_machine, django_assert_num_queries, count
):
    sprint = bulk_sprint(team, count, time_machine)
    for _n in range(count // 100 + 2):
        make_sprint(team.project, team.scrum_master)
    client = api.as_(team.stakeholder)
    # project, membership, sprints with counts
    with django_assert_num_queries(3):
        response = client.get(SPRINTS)
    assert response.json()["results"][0]["item_count"] == count + 3
    # project, membership, statuses, items page, labels
    with django_assert_num_queries(5):
        response = client.get(ITEMS, {"sprint": sprint.pk, "limit": 200})
    assert len(response.json()["results"]) == min(count + 3, 200)


def completed_history(team, sprints: int) -> None:
    """``sprints`` completed sprints, bulk-created as completion leaves them (report columns filled)."""
    start = datetime.date(2023, 1, 2)
    Sprint.objects.bulk_create(
        Sprint(
            project=team.project,
            number=n + 1,
            name=f"Sprint {n + 1}",
            start_date=start + datetime.timedelta(days=14 * n),
            end_date=start + datetime.timedelta(days=14 * n + 13),
            state=SprintState.COMPLETED,
            started_at=MONDAY - datetime.timedelta(days=14 * (sprints - n)),
            completed_at=MONDAY - datetime.timedelta(days=14 * (sprints - n) - 13),
            committed_points=Decimal(20),
            completed_points=Decimal(10 + n % 7),
            available_days=30,
        )
        for n in range(sprints)
    )


@pytest.mark.parametrize("sprints", [3, 50])
def test_velocity_runs_a_constant_number_of_queries(api, team, django_assert_num_queries, sprints):
    completed_history(team, sprints)
    add_items(team.project, team.scrum_master, 3, estimate="8")
    client = api.as_(team.stakeholder)
    # project, membership, velocity rows, remaining backlog points, latest sprint
    with django_assert_num_queries(5):
        response = client.get(VELOCITY)
    body = response.json()
    assert len(body["sprints"]) == sprints and body["forecast"]["remaining_points"] == 24.0
    with django_assert_num_queries(4):
        response = client.get(VELOCITY, {"remaining": "100"})
    assert response.json()["forecast"]["history"] == min(sprints, 10)


@pytest.mark.parametrize("count", [5, 300])
def test_completed_sprint_report_runs_a_constant_number_of_queries(
    api, team, time_machine, django_assert_num_queries, count
):
    sprint = bulk_sprint(team, count, time_machine)
    services.complete_sprint(sprint=sprint, by=team.scrum_master, unfinished="next_sprint")
    client = api.as_(team.stakeholder)
    # project, membership, sprint, feedback (the frozen report needs nothing else)
    with django_assert_num_queries(4):
        assert client.get(url(sprint, "report/")).status_code == 200
    with django_assert_num_queries(3):
        assert client.get(url(sprint, "burndown/")).status_code == 200


def test_the_sprint_list_is_paginated_by_number_like_every_list(api, team):
    for _n in range(3):
        make_sprint(team.project, team.scrum_master)
    client = api.as_(team.stakeholder)
    first = client.get(SPRINTS, {"limit": 2}).json()
    assert [s["number"] for s in first["results"]] == [1, 2]
    assert first["next"] and first["previous"] is None
    rest = client.get(first["next"]).json()
    assert [s["number"] for s in rest["results"]] == [3]
