"""Sprint business rules, through the services: planning, start, completion, review."""

import datetime
import threading
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from backlog.models import BacklogItem, ItemEvent, ItemType
from projects.services import create_project
from scrumboard.errors import ConflictError
from sprints import selectors, services
from sprints.models import CommittedItem, DaysOff, GoalOutcome, Sprint, SprintState
from tests.factories import UserFactory, make_project

D = datetime.date.fromisoformat


def local(day: str, clock: str = "12:00", tz: str = "Asia/Almaty") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zoneinfo.ZoneInfo(tz))


def sprint_titles(sprint: Sprint) -> list[str]:
    return list(sprint.items.order_by("rank").values_list("title", flat=True))


def backlog_titles(project) -> list[str]:
    return list(
        BacklogItem.objects.filter(project=project, sprint=None).order_by("rank").values_list("title", flat=True)
    )


def all_titles(project) -> list[str]:
    return list(BacklogItem.objects.filter(project=project).order_by("rank").values_list("title", flat=True))


def sprint_events(item: BacklogItem) -> list[tuple]:
    return list(ItemEvent.objects.filter(item_id=item.pk, field="sprint").values_list("old", "new"))


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]


def not_a_conflict(excinfo) -> bool:
    """ConflictError is a ValidationError (409 rather than 400): tell them apart."""
    return not isinstance(excinfo.value, ConflictError)


# --- names, numbers, dates -----------------------------------------------------------------


def test_new_sprints_are_named_sprint_n_and_numbered_in_order(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-02-27", "10:00"), tick=False)
    first, second = make_sprint(), make_sprint()
    named = make_sprint(name="  Checkout  ", goal="  Pay by card  ")
    fourth = make_sprint(name="   ")
    assert [(s.number, s.name) for s in (first, second, named, fourth)] == [
        (1, "Sprint 1"),
        (2, "Sprint 2"),
        (3, "Checkout"),
        (4, "Sprint 4"),
    ]
    assert named.goal == "Pay by card"


def test_numbering_is_per_project(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-02-27", "10:00"), tick=False)
    make_sprint()
    owner = UserFactory()
    elsewhere = make_project(admin=owner)
    other = services.create_sprint(project=elsewhere, by=owner)
    assert (other.number, other.name) == (1, "Sprint 1")


def test_default_dates_follow_the_last_sprint_for_the_projects_length(project, make_sprint, time_machine):
    # 20:00 UTC on the 1st is already the 2nd in Almaty (UTC+5): "today" is the project's.
    time_machine.move_to(datetime.datetime(2026, 3, 1, 20, 0, tzinfo=datetime.UTC), tick=False)
    first = make_sprint()
    second = make_sprint()
    project.sprint_length_days = 7
    project.save()
    third = make_sprint()
    assert (first.start_date, first.end_date) == (D("2026-03-02"), D("2026-03-15"))
    assert (second.start_date, second.end_date) == (D("2026-03-16"), D("2026-03-29"))
    assert (third.start_date, third.end_date) == (D("2026-03-30"), D("2026-04-05"))


def test_default_start_is_today_when_the_last_sprint_ended_long_ago(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-03-10"), tick=False)
    make_sprint("2026-01-05", "2026-01-18")
    sprint = make_sprint()
    assert (sprint.start_date, sprint.end_date) == (D("2026-03-10"), D("2026-03-23"))


def test_a_given_start_without_an_end_gets_the_projects_length(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-04-06")
    assert sprint.end_date == D("2026-04-19")


def test_default_end_never_passes_the_one_month_limit(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-01-20"), tick=False)
    project.sprint_length_days = 31
    project.save()
    # One month after 31 January is 28 February (clamped): the sprint must end before it.
    assert make_sprint("2026-01-31").end_date == D("2026-02-27")
    assert make_sprint("2026-02-01").end_date == D("2026-02-28")
    assert make_sprint("2026-03-01").end_date == D("2026-03-31")


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        ("2026-01-31", "2026-02-27", True),
        ("2026-01-31", "2026-02-28", False),
        ("2026-01-31", "2026-03-03", False),
        ("2026-02-01", "2026-02-28", True),
        ("2026-02-01", "2026-03-01", False),
        ("2026-02-28", "2026-03-27", True),
        ("2026-02-28", "2026-03-28", False),
        ("2026-01-15", "2026-02-14", True),
        ("2026-01-15", "2026-02-15", False),
        ("2026-12-15", "2027-01-14", True),
        ("2026-12-15", "2027-01-15", False),
        ("2026-03-02", "2026-03-02", True),  # a one-day sprint
        ("2026-03-02", "2026-03-01", False),  # ends before it starts
    ],
)
def test_a_sprint_lasts_one_month_at_most_and_ends_on_or_after_its_start(
    project, make_sprint, time_machine, start, end, allowed
):
    time_machine.move_to(local("2026-01-10"), tick=False)
    if allowed:
        sprint = make_sprint(start, end)
        assert (sprint.start_date, sprint.end_date) == (D(start), D(end))
    else:
        with pytest.raises(ValidationError) as excinfo:
            make_sprint(start, end)
        assert "end_date" in excinfo.value.message_dict
        assert not Sprint.objects.exists()


def test_updating_checks_the_same_date_rules(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-01-10"), tick=False)
    sprint = make_sprint("2026-01-31", "2026-02-13")
    with pytest.raises(ValidationError):
        services.update_sprint(sprint=sprint, by=scrum_master, end_date=D("2026-02-28"))
    with pytest.raises(ValidationError):
        services.update_sprint(sprint=sprint, by=scrum_master, end_date=D("2026-01-30"))
    with pytest.raises(ValidationError):
        services.update_sprint(sprint=sprint, by=scrum_master, name="  ")
    sprint.refresh_from_db()
    assert (sprint.name, sprint.end_date) == ("Sprint 1", D("2026-02-13"))
    services.update_sprint(sprint=sprint, by=scrum_master, name=" Payments ", end_date=D("2026-02-27"))
    sprint.refresh_from_db()
    assert (sprint.name, sprint.end_date) == ("Payments", D("2026-02-27"))


def test_update_refuses_fields_that_are_not_planning(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()
    with pytest.raises(ValidationError) as excinfo:
        services.update_sprint(sprint=sprint, by=scrum_master, state=SprintState.ACTIVE)
    assert "state" in excinfo.value.message_dict
    sprint.refresh_from_db()
    assert sprint.is_planned


def test_an_active_sprints_start_date_is_fixed_but_its_end_may_move(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    services.start_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ValidationError) as excinfo:
        services.update_sprint(sprint=sprint, by=scrum_master, start_date=D("2026-03-03"))
    assert "start_date" in excinfo.value.message_dict
    sprint.refresh_from_db()
    services.update_sprint(sprint=sprint, by=scrum_master, start_date=D("2026-03-02"), end_date=D("2026-03-20"))
    sprint.refresh_from_db()
    assert (sprint.start_date, sprint.end_date) == (D("2026-03-02"), D("2026-03-20"))


def test_a_completed_sprints_dates_are_frozen_but_its_name_and_goal_are_not(
    project, make_sprint, scrum_master, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-13", "17:00"), tick=False)
    services.complete_sprint(sprint=sprint, by=scrum_master)
    for change in ({"start_date": D("2026-03-02")}, {"end_date": D("2026-03-13")}):
        with pytest.raises(ValidationError):
            services.update_sprint(sprint=sprint, by=scrum_master, **change)
    sprint.refresh_from_db()
    services.update_sprint(sprint=sprint, by=scrum_master, name="Checkout", goal="Pay by card")
    sprint.refresh_from_db()
    assert (sprint.name, sprint.goal, sprint.end_date) == ("Checkout", "Pay by card", D("2026-03-15"))


def test_only_sprint_managers_plan_sprints(project, make_sprint, developer, stakeholder, outsider, product_owner):
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            services.create_sprint(project=project, by=user)
    with pytest.raises(Http404):  # a non-member never learns the project exists
        services.create_sprint(project=project, by=outsider)
    sprint = make_sprint(by=product_owner)
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            services.update_sprint(sprint=sprint, by=user, name="Mine")
        with pytest.raises(PermissionDenied):
            services.delete_sprint(sprint=sprint, by=user)
    assert Sprint.objects.get().name == "Sprint 1"


# --- deleting -------------------------------------------------------------------------------


def test_deleting_a_planned_sprint_returns_its_items_to_the_backlog_with_history(
    project, make_item, make_sprint, plan, scrum_master, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    items = [make_item(f"Item {n}") for n in range(5)]
    sprint = make_sprint()
    plan(sprint, items[3], items[1])
    order, ref = all_titles(project), {"id": sprint.pk, "name": "Sprint 1"}
    services.delete_sprint(sprint=sprint, by=scrum_master)
    assert not Sprint.objects.exists()
    assert backlog_titles(project) == order == [f"Item {n}" for n in range(5)]  # back where they were
    for item in (items[1], items[3]):
        assert sprint_events(item) == [(None, ref), (ref, None)]
    assert sprint_events(items[0]) == []


def test_only_a_planned_sprint_can_be_deleted(project, make_item, make_sprint, plan, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    item = make_item()
    plan(sprint, item)
    services.start_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ConflictError):
        services.delete_sprint(sprint=sprint, by=scrum_master)
    services.complete_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ConflictError):
        services.delete_sprint(sprint=sprint, by=scrum_master)
    assert Sprint.objects.filter(pk=sprint.pk).exists()


# --- moving items in and out ----------------------------------------------------------------


def test_moving_an_item_into_a_sprint_writes_its_row_and_a_sprint_event(
    project, make_item, make_sprint, plan, scrum_master, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()
    items = [make_item(f"Item {n}") for n in range(6)]
    plan(sprint, items[0], items[1])
    with CaptureQueriesContext(connection) as queries:
        backlog_services.move_item(item=items[4], by=scrum_master, sprint=sprint, position="top")
    item_writes = [sql for sql in writes(queries) if "backlog_backlogitem" in sql.split("WHERE")[0]]
    assert len(item_writes) == 1  # the moved item's row: sprint and rank
    assert len(writes(queries)) == 2  # ... and its history events, in one insert
    assert sprint_titles(sprint) == ["Item 4", "Item 0", "Item 1"]
    event = ItemEvent.objects.get(item_id=items[4].pk, field="sprint")
    assert (event.old, event.new, event.actor) == (None, {"id": sprint.pk, "name": "Sprint 1"}, scrum_master)
    assert ItemEvent.objects.filter(item_id=items[4].pk, field="rank").count() == 1

    backlog_services.move_item(item=items[4], by=scrum_master, sprint=None)
    assert sprint_events(items[4])[-1] == ({"id": sprint.pk, "name": "Sprint 1"}, None)
    assert BacklogItem.objects.get(pk=items[4].pk).sprint is None


def test_moving_into_a_sprint_costs_the_same_queries_whatever_the_sizes(
    project, make_item, make_sprint, plan, scrum_master, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()

    def queries_to_move(count: int) -> int:
        items = [make_item(f"{count}-{n}") for n in range(count)]
        plan(sprint, *items[: count // 2])
        with CaptureQueriesContext(connection) as queries:
            backlog_services.move_item(item=items[-1], by=scrum_master, sprint=sprint, position="bottom")
        return len(queries.captured_queries)

    assert queries_to_move(4) == queries_to_move(40)


def test_moving_between_sprints_records_both_sprints(project, make_item, make_sprint, plan, time_machine):
    time_machine.move_to(local("2026-02-27"), tick=False)
    first, second = make_sprint(), make_sprint()
    item = make_item()
    plan(first, item)
    plan(second, item)
    assert sprint_events(item)[-1] == ({"id": first.pk, "name": "Sprint 1"}, {"id": second.pk, "name": "Sprint 2"})


def test_top_and_bottom_are_relative_to_the_sprints_items(
    project, make_item, make_sprint, plan, time_machine, scrum_master
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()
    b1, b2, _b3, b4, _b5, b6 = (make_item(f"B{n}") for n in range(1, 7))
    plan(sprint, b2, b4)  # no placement: they keep their ranks
    assert all_titles(project) == ["B1", "B2", "B3", "B4", "B5", "B6"]
    backlog_services.move_item(item=b6, by=scrum_master, sprint=sprint, position="top")
    backlog_services.move_item(item=b1, by=scrum_master, sprint=sprint, position="bottom")
    assert sprint_titles(sprint) == ["B6", "B2", "B4", "B1"]
    # One global order: the sprint's top is just above its first item, its bottom just below its last.
    assert all_titles(project) == ["B6", "B2", "B3", "B4", "B1", "B5"]
    backlog_services.move_item(item=b4, by=scrum_master, sprint=None, position="top")
    backlog_services.move_item(item=b2, by=scrum_master, sprint=None, position="bottom")
    assert backlog_titles(project) == ["B4", "B3", "B5", "B2"]
    assert sprint_titles(sprint) == ["B6", "B1"]


def test_items_cannot_go_into_a_completed_sprint_or_another_projects_sprint(
    project, make_item, make_sprint, scrum_master, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    finished = make_sprint("2026-03-02", "2026-03-15")
    services.start_sprint(sprint=finished, by=scrum_master)
    services.complete_sprint(sprint=finished, by=scrum_master)
    owner = UserFactory()
    elsewhere = make_project(admin=owner)
    foreign = services.create_sprint(project=elsewhere, by=owner)
    item = make_item()
    for sprint in (finished, foreign):
        with pytest.raises(ValidationError) as excinfo:
            backlog_services.move_item(item=item, by=scrum_master, sprint=sprint)
        assert "sprint" in excinfo.value.message_dict
        with pytest.raises(ValidationError):
            backlog_services.create_item(project=project, by=scrum_master, title="New", sprint=sprint)
    assert BacklogItem.objects.get(pk=item.pk).sprint is None
    assert sprint_events(item) == []
    assert BacklogItem.objects.filter(project=project).count() == 1


def test_only_sprint_managers_change_a_sprints_content(
    project, make_item, make_sprint, plan, developer, stakeholder, product_owner, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()
    item, planned = make_item("Loose"), make_item("Planned")
    plan(sprint, planned)
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            backlog_services.move_item(item=item, by=user, sprint=sprint)
        with pytest.raises(PermissionDenied):
            backlog_services.move_item(item=planned, by=user, sprint=None)
    with pytest.raises(PermissionDenied):
        backlog_services.create_item(project=project, by=developer, title="Sneaky", sprint=sprint)
    assert sprint_titles(sprint) == ["Planned"]
    backlog_services.move_item(item=item, by=developer, position="top")  # ordering the backlog is theirs
    backlog_services.move_item(item=item, by=product_owner, sprint=sprint)
    assert sprint_titles(sprint) == ["Loose", "Planned"]


# --- starting ---------------------------------------------------------------------------------


def test_starting_records_each_item_and_its_points_as_the_commitment(
    project, make_item, make_sprint, plan, scrum_master, developer, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    story = make_item("Story", estimate="5", assignee=developer)
    split = make_item("Split", role_points={"backend": "3", "frontend": "2"})
    unestimated = make_item("Unestimated")
    plan(sprint, story, split, unestimated)
    moment = local("2026-03-02", "09:00")
    time_machine.move_to(moment, tick=False)
    services.start_sprint(sprint=sprint, by=scrum_master)
    sprint.refresh_from_db()
    assert sprint.is_active and sprint.started_at == moment and sprint.started_by == scrum_master
    rows = list(
        CommittedItem.objects.filter(sprint=sprint).values_list("item_id", "title", "points", "role_points", "assignee")
    )
    assert rows == [
        (story.pk, "Story", Decimal("5"), {}, "dev"),
        (split.pk, "Split", Decimal("5"), {"backend": "3", "frontend": "2"}, ""),
        (unestimated.pk, "Unestimated", None, {}, ""),
    ]


def test_an_epic_cannot_enter_a_sprint(project, make_item, make_sprint, product_owner):
    sprint = make_sprint()
    epic = make_item("Epic", type=ItemType.EPIC, estimate="40")
    with pytest.raises(ValidationError) as refused:
        backlog_services.move_item(item=epic, by=product_owner, sprint=sprint, position="top")
    assert "plan its stories" in str(refused.value)
    epic.refresh_from_db()
    assert epic.sprint_id is None


def test_the_commitment_keeps_the_points_of_the_start(
    project, make_item, make_sprint, plan, scrum_master, developer, estimate, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    item = make_item(estimate="5")
    plan(sprint, item)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-04"), tick=False)
    estimate(item, "13")
    backlog_services.update_item(item=item, by=developer, title="Renamed")
    later = make_item("Added later", estimate="3")
    plan(sprint, later)
    assert list(CommittedItem.objects.filter(sprint=sprint).values_list("item_id", "title", "points")) == [
        (item.pk, "Story", Decimal("5"))
    ]
    assert selectors.sprint_report(sprint)["committed"] == {"points": 5.0, "items": 1}


def test_one_active_sprint_at_a_time(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    first, second = make_sprint(), make_sprint()
    services.start_sprint(sprint=first, by=scrum_master)
    with pytest.raises(ConflictError):
        services.start_sprint(sprint=second, by=scrum_master)
    second.refresh_from_db()
    assert second.is_planned and second.started_at is None
    # Another project's active sprint is no obstacle.
    owner = UserFactory()
    elsewhere = make_project(admin=owner)
    services.start_sprint(sprint=services.create_sprint(project=elsewhere, by=owner), by=owner)
    services.complete_sprint(sprint=first, by=scrum_master)
    services.start_sprint(sprint=second, by=scrum_master)
    assert Sprint.objects.filter(project=project, state=SprintState.ACTIVE).get() == second


def test_starting_a_started_or_completed_sprint_is_a_conflict(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint()
    stale = Sprint.objects.get(pk=sprint.pk)  # a second tab, loaded before the start
    services.start_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ConflictError):
        services.start_sprint(sprint=stale, by=scrum_master)
    services.complete_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ConflictError):
        services.start_sprint(sprint=Sprint.objects.get(pk=sprint.pk), by=scrum_master)
    assert CommittedItem.objects.count() == 0


def test_a_sprint_whose_end_date_has_passed_cannot_start(project, make_sprint, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-10"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    # 20:00 UTC on the 15th is already the 16th in Almaty: the end date has passed there.
    time_machine.move_to(datetime.datetime(2026, 3, 15, 20, 0, tzinfo=datetime.UTC), tick=False)
    with pytest.raises(ValidationError) as excinfo:
        services.start_sprint(sprint=sprint, by=scrum_master)
    assert not_a_conflict(excinfo) and "end_date" in excinfo.value.message_dict
    sprint.refresh_from_db()
    assert sprint.is_planned
    time_machine.move_to(datetime.datetime(2026, 3, 15, 18, 0, tzinfo=datetime.UTC), tick=False)
    services.start_sprint(sprint=sprint, by=scrum_master)  # the last day itself is fine
    assert Sprint.objects.get(pk=sprint.pk).is_active


def test_only_sprint_managers_start_and_complete(
    project, make_sprint, developer, stakeholder, product_owner, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint()
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            services.start_sprint(sprint=sprint, by=user)
    services.start_sprint(sprint=sprint, by=product_owner)
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            services.complete_sprint(sprint=sprint, by=user)
    assert Sprint.objects.get(pk=sprint.pk).is_active
    services.complete_sprint(sprint=sprint, by=product_owner)
    assert Sprint.objects.get(pk=sprint.pk).is_completed


def test_the_database_refuses_a_second_active_sprint_in_a_project(project, make_sprint, time_machine):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    first, second = make_sprint(), make_sprint()
    with pytest.raises(IntegrityError), transaction.atomic():
        Sprint.objects.filter(pk__in=[first.pk, second.pk]).update(state=SprintState.ACTIVE)
    assert not Sprint.objects.filter(state=SprintState.ACTIVE).exists()
    Sprint.objects.filter(pk=first.pk).update(state=SprintState.ACTIVE)  # one is fine


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_starts_of_two_sprints_leave_exactly_one_active(round_):
    admin = UserFactory()
    project = create_project(key=f"CS{'ABC'[round_]}", name="Concurrent starts", by=admin)
    sprints = [services.create_sprint(project=project, by=admin) for _ in range(2)]
    for sprint in sprints:
        backlog_services.move_item(
            item=backlog_services.create_item(project=project, by=admin, title=sprint.name, estimate="3"),
            by=admin,
            sprint=sprint,
        )
    barrier = threading.Barrier(len(sprints))
    outcomes: dict[int, object] = {}

    def start(sprint_id: int) -> None:
        try:
            sprint = Sprint.objects.select_related("project").get(pk=sprint_id)
            user = get_user_model().objects.get(pk=admin.pk)
            barrier.wait()
            services.start_sprint(sprint=sprint, by=user)
            outcomes[sprint_id] = "started"
        except Exception as exc:  # asserted below
            outcomes[sprint_id] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(sprint.pk,)) for sprint in sprints]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [pk for pk, outcome in outcomes.items() if outcome == "started"]
    refused = [outcome for outcome in outcomes.values() if outcome != "started"]
    assert len(started) == 1
    assert len(refused) == 1 and isinstance(refused[0], ConflictError)
    assert (
        list(Sprint.objects.filter(project=project, state=SprintState.ACTIVE).values_list("pk", flat=True)) == started
    )
    assert set(CommittedItem.objects.values_list("sprint_id", flat=True)) == set(started)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_complete_once_and_create_one_next_sprint():
    admin = UserFactory()
    project = create_project(key="CC", name="Concurrent completions", by=admin)
    sprint = services.create_sprint(project=project, by=admin)
    item = backlog_services.create_item(project=project, by=admin, title="Unfinished", estimate="3")
    backlog_services.move_item(item=item, by=admin, sprint=sprint)
    services.start_sprint(sprint=sprint, by=admin)
    barrier = threading.Barrier(3)
    outcomes: list[object] = []

    def complete() -> None:
        try:
            loaded = Sprint.objects.select_related("project").get(pk=sprint.pk)
            user = get_user_model().objects.get(pk=admin.pk)
            barrier.wait()
            outcomes.append(services.complete_sprint(sprint=loaded, by=user, unfinished="next_sprint"))
        except Exception as exc:  # asserted below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    completions = [o for o in outcomes if isinstance(o, services.Completion)]
    assert len(completions) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o not in completions)
    assert list(Sprint.objects.filter(project=project).values_list("number", "state")) == [
        (1, SprintState.COMPLETED),
        (2, SprintState.PLANNED),
    ]
    assert BacklogItem.objects.get(pk=item.pk).sprint_id == completions[0].next_sprint.pk
    assert ItemEvent.objects.filter(item_id=item.pk, field="sprint").count() == 2  # in, then carried over


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_numbers():
    admin = UserFactory()
    project = create_project(key="CN", name="Concurrent numbers", by=admin)
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def create() -> None:
        try:
            user = get_user_model().objects.get(pk=admin.pk)
            barrier.wait()
            services.create_sprint(project=project, by=user)
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Sprint.objects.filter(project=project).values_list("number", flat=True)) == [1, 2, 3, 4]


# --- completing ---------------------------------------------------------------------------------


@pytest.fixture
def running(project, make_item, make_sprint, plan, set_status, done, in_progress, scrum_master, time_machine):
    """An active sprint 2026-03-02..15: A (3, done), B (5), C (8, in progress), D (2); X and Y in the backlog."""
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    a, _x, b, c, _y, d = (
        make_item(t, estimate=e) for t, e in [("A", "3"), ("X", "1"), ("B", "5"), ("C", "8"), ("Y", "1"), ("D", "2")]
    )
    plan(sprint, a, d, b, c)
    backlog_services.move_item(item=d, by=scrum_master, sprint=sprint, position="top")  # sprint: D, A, B, C
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-05", "15:00"), tick=False)
    set_status(a, done)
    set_status(c, in_progress)
    time_machine.move_to(local("2026-03-13", "17:00"), tick=False)
    return sprint


def test_completing_sends_unfinished_items_to_the_backlog_top_in_their_order(project, running, scrum_master):
    assert all_titles(project) == ["D", "A", "X", "B", "C", "Y"]
    completion = services.complete_sprint(sprint=running, by=scrum_master, unfinished="backlog")
    assert [item.title for item in completion.carried_over] == ["D", "B", "C"]
    assert completion.next_sprint is None
    assert backlog_titles(project)[:3] == ["D", "B", "C"]
    assert backlog_titles(project) == ["D", "B", "C", "X", "Y"]
    assert sprint_titles(running) == ["A"]  # the done item stays: it is the sprint's increment
    sprint = Sprint.objects.get(pk=running.pk)
    assert sprint.is_completed and sprint.completed_at == local("2026-03-13", "17:00")
    assert sprint.completed_by == scrum_master
    carried = BacklogItem.objects.get(project=project, title="C")
    assert sprint_events(carried)[-1] == ({"id": sprint.pk, "name": "Sprint 1"}, None)
    assert {row["key"] for row in sprint.report["carry_over"]} == {"SB-3", "SB-4", "SB-6"}


def test_completing_into_the_next_sprint_uses_the_earliest_planned_one(
    project, running, make_sprint, make_item, plan, scrum_master
):
    later = make_sprint("2026-03-30", "2026-04-12")
    next_one = make_sprint("2026-03-16", "2026-03-29")
    already = make_item("Already planned")
    plan(next_one, already)
    completion = services.complete_sprint(sprint=running, by=scrum_master, unfinished="next_sprint")
    assert completion.next_sprint == next_one
    assert sprint_titles(next_one) == ["D", "B", "C", "Already planned"]  # their order kept
    assert sprint_titles(later) == []
    assert sprint_titles(running) == ["A"]
    event = ItemEvent.objects.filter(item_id=completion.carried_over[0].pk, field="sprint").last()
    assert (event.old, event.new) == ({"id": running.pk, "name": "Sprint 1"}, {"id": next_one.pk, "name": "Sprint 3"})


def test_completing_into_the_next_sprint_creates_it_when_none_is_planned(project, running, scrum_master):
    completion = services.complete_sprint(sprint=running, by=scrum_master, unfinished="next_sprint")
    created = completion.next_sprint
    assert (created.number, created.name, created.state) == (2, "Sprint 2", SprintState.PLANNED)
    assert (created.start_date, created.end_date) == (D("2026-03-16"), D("2026-03-29"))
    assert sprint_titles(created) == ["D", "B", "C"]


def test_a_sprint_completed_late_is_followed_by_one_starting_today(project, running, scrum_master, time_machine):
    time_machine.move_to(local("2026-03-18", "10:00"), tick=False)
    created = services.complete_sprint(sprint=running, by=scrum_master, unfinished="next_sprint").next_sprint
    assert (created.start_date, created.end_date) == (D("2026-03-18"), D("2026-03-31"))


def test_completing_twice_or_before_the_start_is_a_conflict(project, running, make_sprint, scrum_master):
    planned = make_sprint()
    with pytest.raises(ConflictError):
        services.complete_sprint(sprint=planned, by=scrum_master)
    stale = Sprint.objects.get(pk=running.pk)
    services.complete_sprint(sprint=running, by=scrum_master)
    with pytest.raises(ConflictError):
        services.complete_sprint(sprint=stale, by=scrum_master, unfinished="next_sprint")
    assert Sprint.objects.filter(project=project).count() == 2  # no next sprint created by the refused call
    assert Sprint.objects.get(pk=planned.pk).is_planned


def test_completing_refuses_an_unknown_destination(project, running, scrum_master):
    with pytest.raises(ValidationError) as excinfo:
        services.complete_sprint(sprint=running, by=scrum_master, unfinished="trash")
    assert not_a_conflict(excinfo) and "unfinished" in excinfo.value.message_dict
    assert Sprint.objects.get(pk=running.pk).is_active


def test_a_completed_sprints_report_is_frozen(
    project, make_item, make_sprint, plan, set_status, estimate, done, todo, scrum_master, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    a, b, c, d, e, f = (make_item(t, estimate=p) for t, p in zip("ABCDEF", ["3", "5", "8", "2", "1", "2"], strict=True))
    plan(sprint, a, b, c, d, e, f)
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    services.start_sprint(sprint=sprint, by=scrum_master)
    for day, item in zip(["2026-03-03", "2026-03-05", "2026-03-09", "2026-03-11"], [a, b, e, f], strict=True):
        time_machine.move_to(local(day, "16:00"), tick=False)
        set_status(item, done)
    time_machine.move_to(local("2026-03-13", "17:00"), tick=False)
    services.complete_sprint(sprint=sprint, by=scrum_master)

    completed = Sprint.objects.get(pk=sprint.pk)
    report = selectors.sprint_report(completed)
    burndown = selectors.sprint_burndown(completed)
    velocity = selectors.velocity(project)
    assert (completed.committed_points, completed.completed_points, completed.available_days) == (
        Decimal("21.0"),
        Decimal("11.0"),
        10,  # the one Developer, ten working days
    )
    assert report["completed"] == {"points": 11.0, "items": 4}
    assert burndown["completed"][-1] == 11.0 and burndown["remaining"][-1] == 10.0  # C and D unfinished
    assert [(row.committed, row.completed) for row in velocity] == [(21.0, 11.0)]

    # Weeks later, the items change: none of it may change the sprint's figures.
    time_machine.move_to(local("2026-03-20"), tick=False)
    set_status(a, todo)  # re-opened
    estimate(b, "13")
    backlog_services.delete_item(item=e, by=scrum_master)
    next_sprint = make_sprint()
    plan(next_sprint, f)
    estimate(c, "20")  # carried over, re-estimated in the backlog
    backlog_services.update_item(item=d, by=scrum_master, status=done)

    again = Sprint.objects.get(pk=sprint.pk)
    assert selectors.sprint_report(again) == report
    assert selectors.sprint_burndown(again) == burndown
    assert selectors.velocity(project) == velocity
    assert (again.committed_points, again.completed_points, again.available_days) == (
        Decimal("21.0"),
        Decimal("11.0"),
        10,
    )


# --- the review: goal, days off, feedback ---------------------------------------------------------


def test_the_goal_outcome_is_recorded_once_the_sprint_has_started(
    project, make_sprint, scrum_master, developer, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint(goal="Pay by card")
    with pytest.raises(ValidationError):
        services.record_goal_outcome(sprint=sprint, by=scrum_master, outcome=GoalOutcome.MET)
    services.start_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ValidationError):
        services.record_goal_outcome(sprint=sprint, by=scrum_master, outcome="nearly")
    with pytest.raises(PermissionDenied):
        services.record_goal_outcome(sprint=sprint, by=developer, outcome=GoalOutcome.MET)
    services.complete_sprint(sprint=sprint, by=scrum_master)
    services.record_goal_outcome(
        sprint=sprint, by=scrum_master, outcome=GoalOutcome.PARTLY, note="  Cards work; wallets slipped.  "
    )
    sprint.refresh_from_db()
    assert (sprint.goal_outcome, sprint.goal_note) == ("partly", "Cards work; wallets slipped.")
    services.record_goal_outcome(sprint=sprint, by=scrum_master, outcome="")  # cleared again
    assert Sprint.objects.get(pk=sprint.pk).goal_outcome == ""


def test_days_off_range_from_zero_to_the_sprints_working_days(
    project, make_sprint, scrum_master, developer, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")  # ten working days
    for days in (-1, 11):
        with pytest.raises(ValidationError) as excinfo:
            services.set_days_off(sprint=sprint, by=scrum_master, user=developer, days=days)
        assert "days" in excinfo.value.message_dict
    entry = services.set_days_off(sprint=sprint, by=scrum_master, user=developer, days=10)
    assert entry.days == 10
    services.set_days_off(sprint=sprint, by=scrum_master, user=developer, days=2)
    assert list(DaysOff.objects.values_list("user", "days")) == [(developer.pk, 2)]
    assert services.set_days_off(sprint=sprint, by=scrum_master, user=developer, days=0) is None
    assert not DaysOff.objects.exists()  # 0 removes the entry


def test_days_off_are_for_members_and_set_by_sprint_managers(
    project, make_sprint, scrum_master, developer, outsider, time_machine
):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint()
    with pytest.raises(ValidationError) as excinfo:
        services.set_days_off(sprint=sprint, by=scrum_master, user=outsider, days=2)
    assert "user" in excinfo.value.message_dict
    with pytest.raises(PermissionDenied):
        services.set_days_off(sprint=sprint, by=developer, user=developer, days=2)
    assert not DaysOff.objects.exists()


def test_a_completed_sprints_days_off_are_part_of_its_report(project, running, scrum_master, developer):
    services.complete_sprint(sprint=running, by=scrum_master)
    with pytest.raises(ValidationError):
        services.set_days_off(sprint=running, by=scrum_master, user=developer, days=1)


def test_review_feedback_becomes_a_backlog_item_labelled_feedback(
    project, running, make_sprint, developer, stakeholder, scrum_master
):
    item = services.add_review_feedback(
        sprint=running, by=developer, title="Show the card's last digits", description="Asked by finance."
    )
    item.refresh_from_db()
    assert (item.title, item.description, item.sprint) == ("Show the card's last digits", "Asked by finance.", None)
    assert [label.name for label in item.labels.all()] == ["feedback"]
    assert list(running.feedback_items.all()) == [item]
    assert backlog_titles(project)[-1] == "Show the card's last digits"
    with pytest.raises(PermissionDenied):  # recording feedback edits the backlog
        services.add_review_feedback(sprint=running, by=stakeholder, title="Dark mode")
    with pytest.raises(ValidationError):
        services.add_review_feedback(sprint=make_sprint(), by=scrum_master, title="Too early")
    assert BacklogItem.objects.filter(labels__name="feedback").count() == 1
