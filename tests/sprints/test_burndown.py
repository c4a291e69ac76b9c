"""Burndown, burnup and the review report on scripted timelines, with time frozen at each step."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from backlog import services as backlog_services
from backlog.models import BacklogItem, ItemType
from sprints import selectors, services
from tests.factories import make_member

TWO_WEEKS = [
    "start",
    "2026-03-02",
    "2026-03-03",
    "2026-03-04",
    "2026-03-05",
    "2026-03-06",
    # Saturday 7 and Sunday 8 are no working days
    "2026-03-09",
    "2026-03-10",
    "2026-03-11",
    "2026-03-12",
    "2026-03-13",
]


def local(day: str, clock: str = "12:00", tz: str = "Asia/Almaty") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zoneinfo.ZoneInfo(tz))


def column(series: dict, label: str) -> dict:
    """Every line's value on one day."""
    index = series["days"].index(label)
    names = ("scope", "completed", "remaining", "scope_items", "completed_items", "remaining_items")
    return {name: series[name][index] for name in names}


@pytest.fixture
def scripted(project, make_item, make_sprint, plan, set_status, estimate, done, todo, scrum_master, time_machine):
    """Mon 2026-03-02..Sun 03-15 in Asia/Almaty. A (3), B (5), C (8) committed at the start; then

    day 2 A done; day 3 D (2) added; day 4 B re-estimated 5 → 8; day 5 A re-opened;
    Saturday D done (counts on Monday); day 7 A done again; day 8 C removed.
    """
    time_machine.move_to(local("2026-02-27", "10:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    a, b, c, d = (
        make_item("A", estimate="3"),
        make_item("B", estimate="5"),
        make_item("C", estimate="8"),
        make_item("D", estimate="2"),
    )
    plan(sprint, a, b, c)
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    services.start_sprint(sprint=sprint, by=scrum_master)
    script = [
        ("2026-03-03", "15:00", lambda: set_status(a, done)),
        ("2026-03-04", "11:00", lambda: plan(sprint, d)),
        ("2026-03-05", "10:00", lambda: estimate(b, "8")),
        ("2026-03-06", "16:00", lambda: set_status(a, todo)),
        ("2026-03-07", "13:00", lambda: set_status(d, done)),
        ("2026-03-10", "17:30", lambda: set_status(a, done)),
        ("2026-03-11", "12:00", lambda: plan(None, c)),
    ]
    for day, clock, step in script:
        time_machine.move_to(local(day, clock), tick=False)
        step()
    time_machine.move_to(local("2026-03-12", "14:00"), tick=False)
    return sprint


def test_burndown_replays_the_sprint_day_by_day(scripted):
    series = selectors.sprint_burndown(scripted)
    assert series["days"] == TWO_WEEKS
    #                          start  M3   T3   W4   T5   F6   M9   T10  W11  T12  F13
    assert series["scope"] == [16.0, 16.0, 16.0, 18.0, 21.0, 21.0, 21.0, 21.0, 13.0, 13.0, None]
    assert series["completed"] == [0.0, 0.0, 3.0, 3.0, 3.0, 0.0, 2.0, 5.0, 5.0, 5.0, None]
    assert series["remaining"] == [16.0, 16.0, 13.0, 15.0, 18.0, 21.0, 19.0, 16.0, 8.0, 8.0, None]
    assert series["today"] == 9


def test_item_count_series_follow_the_same_story(scripted):
    series = selectors.sprint_burndown(scripted)
    assert series["scope_items"] == [3, 3, 3, 4, 4, 4, 4, 4, 3, 3, None]
    assert series["completed_items"] == [0, 0, 1, 1, 1, 0, 1, 2, 2, 2, None]
    assert series["remaining_items"] == [3, 3, 2, 3, 3, 4, 3, 2, 1, 1, None]


def test_the_ideal_line_steps_evenly_over_the_working_days_only(scripted):
    series = selectors.sprint_burndown(scripted)
    # 16 committed points over ten working days: 1.6 a day, weekends skipped.
    assert series["ideal"] == [16.0, 14.4, 12.8, 11.2, 9.6, 8.0, 6.4, 4.8, 3.2, 1.6, 0.0]
    assert series["ideal_items"] == [3.0, 2.7, 2.4, 2.1, 1.8, 1.5, 1.2, 0.9, 0.6, 0.3, 0.0]


def test_a_weekend_event_counts_on_the_next_working_day(scripted):
    saturday = selectors.sprint_burndown(scripted, until=local("2026-03-07", "18:00"))
    assert saturday["today"] == 5  # the weekend shows as Friday, the last working day so far
    assert column(saturday, "2026-03-06")["completed"] == 0.0  # D was done on Saturday, not Friday
    assert saturday["completed"][6:] == [None] * 5
    assert column(selectors.sprint_burndown(scripted), "2026-03-09")["completed"] == 2.0


def test_days_to_come_are_empty_and_today_is_marked(scripted):
    first_day = selectors.sprint_burndown(scripted, until=local("2026-03-02", "18:00"))
    assert first_day["today"] == 1
    assert first_day["remaining"] == [16.0, 16.0, *[None] * 9]
    day_two_morning = selectors.sprint_burndown(scripted, until=local("2026-03-03", "10:00"))
    assert day_two_morning["today"] == 2
    assert day_two_morning["completed"][:3] == [0.0, 0.0, 0.0]  # A is done at 15:00, not yet
    day_two_evening = selectors.sprint_burndown(scripted, until=local("2026-03-03", "20:00"))
    assert day_two_evening["completed"][:3] == [0.0, 0.0, 3.0]
    assert day_two_evening["completed"][3:] == [None] * 8
    # The morning of the start day, before the start: the start point only.
    before = selectors.sprint_burndown(scripted, until=local("2026-03-02", "08:00"))
    assert before["today"] == 1 and before["remaining"][0] == 16.0


def test_the_report_names_scope_added_removed_and_changed(scripted):
    report = selectors.sprint_report(scripted)
    change = report["scope_change"]
    assert [(row["key"], row["points"]) for row in change["added"]] == [("SB-4", 2.0)]
    assert [(row["key"], row["points"]) for row in change["removed"]] == [("SB-3", 8.0)]
    assert [(row["key"], row["old"], row["new"]) for row in change["changed"]] == [("SB-2", 5.0, 8.0)]
    assert datetime.datetime.fromisoformat(change["added"][0]["at"]) == local("2026-03-04", "11:00")
    assert (change["added_points"], change["removed_points"], change["changed_points"]) == (2.0, 8.0, 3.0)
    assert change["percent"] == -19  # 13 points now against 16 committed
    assert report["committed"] == {"points": 16.0, "items": 3}
    assert report["scope"] == {"points": 13.0, "items": 3}
    assert report["completed"] == {"points": 5.0, "items": 2}
    assert report["committed_completed"] == {"points": 3.0, "items": 1}  # A; D was added
    assert report["completion_percent"] == 38
    assert [row["key"] for row in report["done_items"]] == ["SB-1", "SB-4"]
    assert [(row["key"], row["points"]) for row in report["carry_over"]] == [("SB-2", 8.0)]
    assert report["burndown"] == selectors.sprint_burndown(scripted)


def test_an_item_created_in_the_sprint_after_the_start_is_scope_added(
    project, make_item, make_sprint, plan, scrum_master, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    plan(sprint, make_item("A", estimate="5"))
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-04", "10:00"), tick=False)
    backlog_services.create_item(project=project, by=scrum_master, title="Hotfix", estimate="3", sprint=sprint)
    time_machine.move_to(local("2026-03-05", "10:00"), tick=False)
    report = selectors.sprint_report(sprint)
    assert [(row["key"], row["title"], row["points"]) for row in report["scope_change"]["added"]] == [
        ("SB-2", "Hotfix", 3.0)
    ]
    assert report["burndown"]["scope"][:5] == [5.0, 5.0, 5.0, 8.0, 8.0]
    assert report["committed"] == {"points": 5.0, "items": 1}


def test_epics_never_count_as_sprint_scope(project, make_item, make_sprint, plan, scrum_master, time_machine):
    """Epics span sprints and cannot enter one; an epic that slipped in (older data) still counts for nothing."""
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    plan(sprint, make_item("Story", estimate="5"))
    with pytest.raises(ValidationError):
        plan(sprint, make_item("Big epic", type=ItemType.EPIC, estimate="40"))
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-04", "10:00"), tick=False)
    with pytest.raises(ValidationError):
        backlog_services.create_item(
            project=project, by=scrum_master, title="Epic made here", type=ItemType.EPIC, estimate="13", sprint=sprint
        )
    slipped = make_item("Slipped epic", type=ItemType.EPIC, estimate="20")
    BacklogItem.objects.filter(pk=slipped.pk).update(sprint=sprint)
    report = selectors.sprint_report(sprint)
    assert report["scope_change"]["added"] == []
    assert report["scope"] == report["committed"] == {"points": 5.0, "items": 1}
    assert report["burndown"]["scope"][:4] == [5.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize(
    ("last_done", "completed", "today"),
    [
        (("2026-03-14", "12:00"), ("2026-03-15", "18:00"), 10),  # Saturday of the sprint's last weekend
        (("2026-03-16", "09:00"), ("2026-03-16", "10:00"), None),  # an overrun: done and completed on Monday
    ],
)
def test_the_last_point_counts_everything_until_the_sprint_closes(
    project, make_item, make_sprint, plan, set_status, done, scrum_master, time_machine, last_done, completed, today
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    first, last = make_item("First", estimate="3"), make_item("Last", estimate="5")
    plan(sprint, first, last)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-12", "12:00"), tick=False)
    set_status(first, done)
    time_machine.move_to(local(*last_done), tick=False)
    set_status(last, done)
    time_machine.move_to(local(*completed), tick=False)
    services.complete_sprint(sprint=sprint, by=scrum_master)
    sprint.refresh_from_db()
    report = selectors.sprint_report(sprint)
    assert report["completed"] == {"points": 8.0, "items": 2}
    # The chart ends where the report's figures do.
    assert report["burndown"]["completed"][-3:] == [0.0, 3.0, 8.0]  # Wed, Thu, and Fri with the rest
    assert report["burndown"]["remaining"][-1] == 0.0
    assert report["burndown"]["today"] == today


def test_deleted_and_moved_away_items_are_scope_removed(
    project, make_item, make_sprint, plan, scrum_master, developer, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint, later = make_sprint("2026-03-02", "2026-03-15"), make_sprint("2026-03-16", "2026-03-29")
    kept = make_item("Kept", role_points={"backend": "3", "frontend": "2"})
    deleted, moved = make_item("Deleted", estimate="8"), make_item("Moved", estimate="3")
    plan(sprint, kept, deleted, moved)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-03"), tick=False)
    backlog_services.delete_item(item=deleted, by=scrum_master)
    time_machine.move_to(local("2026-03-04"), tick=False)
    plan(later, moved)
    time_machine.move_to(local("2026-03-05"), tick=False)
    backlog_services.update_item(item=kept, by=developer, role_points={"backend": "5", "frontend": "3"})
    report = selectors.sprint_report(sprint)
    change = report["scope_change"]
    assert [(row["key"], row["title"], row["points"]) for row in change["removed"]] == [
        ("SB-2", "Deleted", 8.0),
        ("SB-3", "Moved", 3.0),
    ]
    assert [(row["key"], row["old"], row["new"]) for row in change["changed"]] == [("SB-1", 5.0, 8.0)]
    assert report["burndown"]["scope"][:5] == [16.0, 16.0, 8.0, 5.0, 8.0]
    assert report["scope"] == {"points": 8.0, "items": 1}


def test_a_sun_to_thu_week_shows_its_own_working_days(
    project, make_item, make_sprint, plan, set_status, done, scrum_master, time_machine
):
    project.working_days = [7, 1, 2, 3, 4]
    project.save()
    time_machine.move_to(local("2026-03-01", "09:00"), tick=False)
    sprint = make_sprint("2026-03-01", "2026-03-14")  # Sunday to Saturday
    item = make_item(estimate="5")
    plan(sprint, item)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-06", "12:00"), tick=False)  # Friday: the weekend there
    set_status(item, done)
    series = selectors.sprint_burndown(sprint)
    assert series["days"] == [
        "start",
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-08",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
    ]
    assert series["today"] == 5  # Friday shows as Thursday
    assert series["ideal"] == [5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0]
    assert series["completed"][:6] == [0.0] * 6
    time_machine.move_to(local("2026-03-08", "09:00"), tick=False)
    assert selectors.sprint_burndown(sprint)["completed"][6] == 5.0  # counted on Sunday


def test_days_follow_the_projects_zone_not_utc(
    project, make_item, make_sprint, plan, set_status, done, scrum_master, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    late, early = make_item("Late", estimate="3"), make_item("Early", estimate="5")
    plan(sprint, late, early)
    services.start_sprint(sprint=sprint, by=scrum_master)
    # 23:30 on Tuesday in Almaty (UTC+5) is 18:30 UTC: Tuesday.
    time_machine.move_to(local("2026-03-03", "23:30"), tick=False)
    set_status(late, done)
    # 02:00 on Thursday in Almaty is 21:00 UTC on Wednesday: still Thursday for the team.
    time_machine.move_to(local("2026-03-05", "02:00"), tick=False)
    assert datetime.datetime.now(datetime.UTC).date() == datetime.date(2026, 3, 4)
    set_status(early, done)
    series = selectors.sprint_burndown(sprint)
    assert series["completed"][:5] == [0.0, 0.0, 3.0, 3.0, 8.0]
    assert series["today"] == 4


def test_days_follow_daylight_saving_time(
    project, make_item, make_sprint, plan, set_status, done, scrum_master, time_machine
):
    project.timezone = "Europe/Berlin"
    project.working_days = [7, 1, 2, 3, 4]  # Sunday 29 March, when clocks go forward, is a working day
    project.save()
    berlin = "Europe/Berlin"
    time_machine.move_to(local("2026-03-26", "09:00", berlin), tick=False)
    sprint = make_sprint("2026-03-26", "2026-04-08")
    items = [make_item(f"Item {n}", estimate="1") for n in range(4)]
    plan(sprint, *items)
    services.start_sprint(sprint=sprint, by=scrum_master)
    steps = [
        ("2026-03-28", "23:30"),  # Saturday, CET (UTC+1): counts on Sunday
        ("2026-03-29", "23:30"),  # Sunday, CEST (UTC+2) since 03:00: 21:30 UTC
        ("2026-03-30", "00:30"),  # Monday, 22:30 UTC on Sunday
        ("2026-03-30", "23:30"),  # Monday
    ]
    for item, (day, clock) in zip(items, steps, strict=True):
        time_machine.move_to(local(day, clock, berlin), tick=False)
        set_status(item, done)
    time_machine.move_to(local("2026-03-31", "12:00", berlin), tick=False)
    series = selectors.sprint_burndown(sprint)
    assert series["days"][:5] == ["start", "2026-03-26", "2026-03-29", "2026-03-30", "2026-03-31"]
    assert series["completed"][:5] == [0.0, 0.0, 2.0, 4.0, 4.0]
    assert series["today"] == 4
    # On Sunday evening, Monday has not begun yet.
    sunday = selectors.sprint_burndown(sprint, until=local("2026-03-29", "23:45", berlin))
    assert sunday["today"] == 2 and sunday["completed"][:4] == [0.0, 0.0, 2.0, None]


def test_a_planned_sprint_has_no_series_yet(project, make_item, make_sprint, plan, time_machine):
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    plan(sprint, make_item(estimate="5"))
    series = selectors.sprint_burndown(sprint)
    assert series["days"] == TWO_WEEKS
    assert series["remaining"] == [None] * 11 and series["today"] is None
    assert series["ideal"] == [0.0] * 11


def test_done_points_per_member_and_per_role(
    project, make_item, make_sprint, plan, set_status, done, developer, scrum_master, time_machine
):
    frontend = make_member(project, "frontend").user
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    split = make_item("Split", role_points={"backend": "3", "frontend": "2"}, assignee=developer)
    page = make_item("Page", estimate="5", assignee=frontend)
    api = make_item("API", estimate="8", assignee=developer)
    docs = make_item("Docs", estimate="1")
    unfinished = make_item("Unfinished", estimate="13", assignee=frontend)
    plan(sprint, split, page, api, docs, unfinished)
    services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-05"), tick=False)
    for item in (split, page, api, docs):
        set_status(item, done)
    report = selectors.sprint_report(sprint)
    assert [(row["username"], row["points"], row["items"]) for row in report["by_member"]] == [
        ("dev", 13.0, 2),  # Split (5) and API (8)
        (frontend.username, 5.0, 1),
        ("", 1.0, 1),  # unassigned
    ]
    # Split's points go to the roles they were estimated for; the rest whole to the assignee's role.
    assert [(row["slug"], row["name"], row["points"]) for row in report["by_role"]] == [
        ("backend", "Backend Developer", 11.0),
        ("frontend", "Frontend Developer", 7.0),
        ("", "", 1.0),
    ]
