"""The reminder rules of notifications/schedule.py at a frozen clock: who gets what, and when.

SB meets at 10:00 in Almaty (UTC+5, no daylight saving), NY at 10:00 in New York (UTC-5,
UTC-4 from Sunday 2026-03-08). Both sprints run Monday 2026-03-02 to Friday 2026-03-13.
SB's members: admin (Scrum Master role + administrator), sm (Scrum Master), po (Product
Owner), dev (Backend Developer), stake (Stakeholder: may only read).
"""

import datetime
from unittest import mock

import pytest

from backlog import services as backlog_services
from backlog.models import BacklogItem, Status
from notifications import reminders, schedule, services, tasks
from notifications.models import Channel, Kind, Notification, NotificationSettings
from retrospectives import services as retro_services
from retrospectives.models import ActionItem
from roles import policy
from roles.models import Membership, Role
from sprints import services as sprint_services
from sprints.models import Sprint
from standups import services as standup_services
from standups.models import Impediment
from tests.factories import UserFactory, make_member, make_project
from tests.notifications.conftest import END, local, utc

pytestmark = pytest.mark.django_db

ALMATY = "Asia/Almaty"
NEW_YORK = "America/New_York"
WRITERS = {"admin", "sm", "po", "dev"}  # every SB member who may write a daily scrum entry
EVERYONE = WRITERS | {"stake"}
SCRUM_MASTERS = {"admin", "sm"}


def day(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


def sb(stamp: str) -> datetime.datetime:
    return local(stamp, ALMATY)


def due(now: datetime.datetime, kind: str) -> set[tuple[str, str, datetime.date]]:
    """(recipient, subject, local date) of the ``kind`` reminders due at ``now``."""
    return {(r.recipient.username, r.subject, r.local_date) for r in schedule.due_reminders(now) if r.kind == kind}


def tick(at, instant: datetime.datetime) -> int:
    at(instant)
    return reminders.send_due_reminders()


def rows(kind: str, channel: str = Channel.IN_APP) -> set[tuple[str, str, datetime.date]]:
    return set(
        Notification.objects.filter(kind=kind, channel=channel).values_list(
            "recipient__username", "subject", "local_date"
        )
    )


def count(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


def to(users, subject: str, local_date: datetime.date) -> set[tuple[str, str, datetime.date]]:
    return {(user, subject, local_date) for user in users}


# --- the daily-scrum nudge --------------------------------------------------------------------

STANDUP_0303 = "standup:SB:2026-03-03"


def test_nudge_goes_from_an_hour_before_the_daily_scrum_until_it_starts(sprint):
    expected = to(WRITERS, STANDUP_0303, day("2026-03-03"))
    assert due(sb("2026-03-03T08:59:59"), Kind.STANDUP_NUDGE) == set()
    assert due(sb("2026-03-03T09:00"), Kind.STANDUP_NUDGE) == expected
    assert due(sb("2026-03-03T09:59:59"), Kind.STANDUP_NUDGE) == expected
    assert due(sb("2026-03-03T10:00"), Kind.STANDUP_NUDGE) == set()


def test_stakeholders_are_not_nudged(sprint, team):
    # Only members with the comment permission write entries: the stakeholder is reminded of
    # the meeting itself, never nudged for an entry.
    assert "stake" not in {user for user, *_ in due(sb("2026-03-03T09:30"), Kind.STANDUP_NUDGE)}
    assert "stake" in {user for user, *_ in due(sb("2026-03-03T09:55"), Kind.DAILY_SCRUM_SOON)}


def test_nudge_lead_comes_from_the_setting(sprint, settings):
    settings.DAILY_SCRUM_NUDGE_MINUTES = 15
    assert due(sb("2026-03-03T09:44:59"), Kind.STANDUP_NUDGE) == set()
    assert len(due(sb("2026-03-03T09:45"), Kind.STANDUP_NUDGE)) == 4


def test_no_nudge_on_a_non_working_day_or_outside_the_sprint(sprint, project):
    assert due(sb("2026-03-07T09:30"), Kind.STANDUP_NUDGE) == set()  # Saturday
    assert due(sb("2026-03-16T09:30"), Kind.STANDUP_NUDGE) == set()  # after the sprint's end
    project.working_days = [1, 3, 5]
    project.save(update_fields=["working_days"])
    assert due(sb("2026-03-03T09:30"), Kind.STANDUP_NUDGE) == set()  # a Tuesday


def test_a_second_tick_in_the_nudge_window_writes_nothing(sprint, at):
    assert tick(at, sb("2026-03-03T09:00")) == 8  # four members, two channels
    assert rows(Kind.STANDUP_NUDGE) == to(WRITERS, STANDUP_0303, day("2026-03-03"))
    assert rows(Kind.STANDUP_NUDGE, Channel.EMAIL) == rows(Kind.STANDUP_NUDGE)
    assert tick(at, sb("2026-03-03T09:00:30")) == 0
    assert tick(at, sb("2026-03-03T09:40")) == 0
    assert count(Kind.STANDUP_NUDGE) == 8
    # The next day is a new nudge.
    assert tick(at, sb("2026-03-04T09:00")) == 8


def test_a_member_who_wrote_an_entry_is_not_nudged(sprint, project, developer, at):
    at(sb("2026-03-03T08:30"))
    meeting = standup_services.meeting_for(project=project, by=developer)
    standup_services.save_entry(meeting=meeting, by=developer, done="Login form", next="Tests")
    assert due(sb("2026-03-03T09:00"), Kind.STANDUP_NUDGE) == to(WRITERS - {"dev"}, STANDUP_0303, day("2026-03-03"))
    # Yesterday's entry does not count for today.
    assert ("dev", "standup:SB:2026-03-04", day("2026-03-04")) in due(sb("2026-03-04T09:00"), Kind.STANDUP_NUDGE)


def test_nobody_is_nudged_once_the_meeting_is_closed(sprint, project, scrum_master, at):
    at(sb("2026-03-03T08:30"))
    meeting = standup_services.meeting_for(project=project, by=scrum_master)
    standup_services.end_meeting(meeting=meeting, by=scrum_master)
    assert due(sb("2026-03-03T09:00"), Kind.STANDUP_NUDGE) == set()


def own_hours(user, tz: str, *, days: list[int] | None = None, start: str = "09:00", end: str = "17:00"):
    return NotificationSettings.objects.create(
        user=user,
        timezone=tz,
        work_from=datetime.time.fromisoformat(start),
        work_to=datetime.time.fromisoformat(end),
        work_days=days or [],
    )


def test_a_member_with_own_working_hours_is_nudged_when_their_day_starts(sprint, developer, at):
    # dev works 09:00-17:00 in New York on the Almaty project.
    own_hours(developer, NEW_YORK)
    wednesday = ("dev", "standup:SB:2026-03-04", day("2026-03-04"))
    # Almaty 09:00 on Tuesday is 23:00 on Monday in New York: the others are nudged, dev is not.
    assert due(sb("2026-03-03T09:00"), Kind.STANDUP_NUDGE) == to(WRITERS - {"dev"}, STANDUP_0303, day("2026-03-03"))
    # 09:00 in New York (EST) is 14:00 UTC, 19:00 in Almaty: Tuesday's meeting is over, so dev
    # hears about the next one, Almaty's Wednesday morning.
    assert due(utc("2026-03-03T13:59:59"), Kind.STANDUP_NUDGE) == set()
    assert due(utc("2026-03-03T14:00"), Kind.STANDUP_NUDGE) == {wednesday}
    assert due(local("2026-03-03T13:59", NEW_YORK), Kind.STANDUP_NUDGE) == {wednesday}
    # 14:00 in New York is midnight in Almaty: still the same meeting, so one nudge, not a second.
    assert due(local("2026-03-03T14:00", NEW_YORK), Kind.STANDUP_NUDGE) == {wednesday}
    tick(at, local("2026-03-03T09:00", NEW_YORK))
    assert rows(Kind.STANDUP_NUDGE) >= {wednesday}
    tick(at, local("2026-03-03T14:30", NEW_YORK))
    assert count(Kind.STANDUP_NUDGE) == len(rows(Kind.STANDUP_NUDGE)) * 2  # one in-app and one e-mail each
    assert ("dev", "standup:SB:2026-03-05", day("2026-03-05")) not in rows(Kind.STANDUP_NUDGE)
    # 17:00 in New York: the working day is over.
    assert due(local("2026-03-03T17:00", NEW_YORK), Kind.STANDUP_NUDGE) == set()


def test_a_members_own_working_days_decide(sprint, developer):
    own_hours(developer, NEW_YORK, days=[1, 2, 3])  # Monday to Wednesday
    # Wednesday 09:30 in New York: Almaty's next daily scrum is Thursday morning.
    assert due(local("2026-03-04T09:30", NEW_YORK), Kind.STANDUP_NUDGE) == {
        ("dev", "standup:SB:2026-03-05", day("2026-03-05"))
    }
    # Thursday is a working day of the project but not of dev.
    assert due(local("2026-03-05T09:30", NEW_YORK), Kind.STANDUP_NUDGE) == set()


def test_own_working_hours_follow_the_members_daylight_saving_change(sprint, developer):
    own_hours(developer, NEW_YORK)
    # Thursday 2026-03-05, EST: 09:00 is 14:00 UTC, 19:00 in Almaty: about Friday's meeting.
    assert due(utc("2026-03-05T13:59"), Kind.STANDUP_NUDGE) == set()
    assert due(utc("2026-03-05T14:00"), Kind.STANDUP_NUDGE) == {("dev", "standup:SB:2026-03-06", day("2026-03-06"))}
    # Monday 2026-03-09, EDT: 09:00 is 13:00 UTC (18:00 in Almaty, which did not move): Tuesday's.
    assert due(utc("2026-03-09T12:59"), Kind.STANDUP_NUDGE) == set()
    assert due(utc("2026-03-09T13:00"), Kind.STANDUP_NUDGE) == {("dev", "standup:SB:2026-03-10", day("2026-03-10"))}


def test_a_member_whose_day_starts_before_the_meeting_is_nudged_about_todays(sprint, developer):
    own_hours(developer, "Asia/Almaty")  # 09:00-17:00 in Almaty, the meeting at 10:00
    assert due(sb("2026-03-03T09:00"), Kind.STANDUP_NUDGE) >= {("dev", STANDUP_0303, day("2026-03-03"))}
    # Friday's nudge for a sprint ending that Friday; after the sprint, nothing.
    assert ("dev", "standup:SB:2026-03-13", day("2026-03-13")) in due(sb("2026-03-13T09:00"), Kind.STANDUP_NUDGE)


def test_nudge_in_new_york_follows_the_daylight_saving_change(new_york, at):
    ny_members = {"ny-admin", "ny-dev"}
    # Friday 2026-03-06, EST (UTC-5): the meeting at 10:00 is 15:00 UTC, the nudge from 14:00 UTC.
    assert due(utc("2026-03-06T13:59"), Kind.STANDUP_NUDGE) == set()
    assert due(utc("2026-03-06T14:00"), Kind.STANDUP_NUDGE) == to(
        ny_members, "standup:NY:2026-03-06", day("2026-03-06")
    )
    # Sunday 2026-03-08 (the change itself) is not a working day.
    assert due(local("2026-03-08T09:30", NEW_YORK), Kind.STANDUP_NUDGE) == set()
    # Monday 2026-03-09, EDT (UTC-4): the nudge from 13:00 UTC until 14:00 UTC.
    assert due(utc("2026-03-09T12:59"), Kind.STANDUP_NUDGE) == set()
    assert due(utc("2026-03-09T13:00"), Kind.STANDUP_NUDGE) == to(
        ny_members, "standup:NY:2026-03-09", day("2026-03-09")
    )
    assert due(utc("2026-03-09T14:00"), Kind.STANDUP_NUDGE) == set()
    assert tick(at, utc("2026-03-09T13:00")) == 4
    assert tick(at, utc("2026-03-09T13:30")) == 0


# --- blocker escalation -----------------------------------------------------------------------


def blocker(at, project, by, when: datetime.datetime) -> Impediment:
    at(when)
    return standup_services.raise_impediment(project=project, by=by, description="Waiting for the API keys")


RAISED = sb("2026-03-03T11:00")


def test_a_blocker_goes_to_the_scrum_master_after_n_hours_and_the_product_owner_after_2n(
    sprint, project, developer, at
):
    impediment = blocker(at, project, developer, RAISED)
    sm_level = to(SCRUM_MASTERS, f"impediment:{impediment.pk}:sm", day("2026-03-03"))
    po_level = to({"po"}, f"impediment:{impediment.pk}:po", day("2026-03-03"))
    hours = datetime.timedelta(hours=1)
    assert due(RAISED + 24 * hours - datetime.timedelta(seconds=1), Kind.BLOCKER_ESCALATED) == set()
    assert due(RAISED + 24 * hours, Kind.BLOCKER_ESCALATED) == sm_level
    assert due(RAISED + 48 * hours - datetime.timedelta(seconds=1), Kind.BLOCKER_ESCALATED) == sm_level
    assert due(RAISED + 48 * hours, Kind.BLOCKER_ESCALATED) == sm_level | po_level

    tick(at, RAISED + 24 * hours)
    assert rows(Kind.BLOCKER_ESCALATED) == sm_level
    notification = Notification.objects.get(recipient__username="sm", kind=Kind.BLOCKER_ESCALATED, channel="in_app")
    assert notification.payload["hours"] == 24
    assert "24 hours" in notification.title
    assert notification.body == "Waiting for the API keys"
    assert notification.url == "/projects/SB/impediments/"
    tick(at, RAISED + 30 * hours)
    assert count(Kind.BLOCKER_ESCALATED) == 4  # nothing new while it waits for the second level
    tick(at, RAISED + 48 * hours)
    assert rows(Kind.BLOCKER_ESCALATED) == sm_level | po_level
    tick(at, RAISED + 72 * hours)
    assert count(Kind.BLOCKER_ESCALATED) == 6  # each level once, however long it stays open


def test_a_resolved_blocker_is_not_escalated(sprint, project, developer, at):
    impediment = blocker(at, project, developer, RAISED)
    at(RAISED + datetime.timedelta(hours=20))
    standup_services.resolve_impediment(impediment=impediment, by=developer)
    assert due(RAISED + datetime.timedelta(hours=50), Kind.BLOCKER_ESCALATED) == set()


def test_escalation_hours_come_from_the_setting(sprint, project, developer, at, settings):
    settings.BLOCKER_ESCALATION_HOURS = 2
    impediment = blocker(at, project, developer, RAISED)
    assert due(RAISED + datetime.timedelta(minutes=119), Kind.BLOCKER_ESCALATED) == set()
    assert {user for user, *_ in due(RAISED + datetime.timedelta(hours=2), Kind.BLOCKER_ESCALATED)} == SCRUM_MASTERS
    assert due(RAISED + datetime.timedelta(hours=4), Kind.BLOCKER_ESCALATED) == to(
        SCRUM_MASTERS, f"impediment:{impediment.pk}:sm", day("2026-03-03")
    ) | to({"po"}, f"impediment:{impediment.pk}:po", day("2026-03-03"))


def _demote(membership: Membership, slug: str) -> None:
    membership.role = Role.objects.get(project=membership.project, slug=slug)
    membership.save(update_fields=["role"])
    policy.forget_memberships(membership.user)


def test_without_a_scrum_master_the_administrators_are_escalated_to(at):
    at(RAISED)
    boss = UserFactory(username="boss")
    project = make_project(admin=boss, key="FB", timezone=ALMATY)
    make_member(project, "product-owner", user=UserFactory(username="fb-po"))
    make_member(project, "backend", user=UserFactory(username="fb-dev"))
    make_member(project, "backend", user=UserFactory(username="fb-lead"), is_admin=True)
    # The creator is an administrator with the Scrum Master role: make them a developer.
    _demote(Membership.objects.get(project=project, user=boss), "backend")
    impediment = blocker(at, project, boss, RAISED)
    later = RAISED + datetime.timedelta(hours=48)
    assert due(later, Kind.BLOCKER_ESCALATED) == to(
        {"boss", "fb-lead"}, f"impediment:{impediment.pk}:sm", day("2026-03-03")
    ) | to({"fb-po"}, f"impediment:{impediment.pk}:po", day("2026-03-03"))


def test_without_a_product_owner_the_scrum_masters_get_the_second_level(at):
    at(RAISED)
    boss = UserFactory(username="boss")
    project = make_project(admin=boss, key="NP", timezone=ALMATY)
    make_member(project, "backend", user=UserFactory(username="np-dev"))
    impediment = blocker(at, project, boss, RAISED)
    assert due(RAISED + datetime.timedelta(hours=48), Kind.BLOCKER_ESCALATED) == {
        ("boss", f"impediment:{impediment.pk}:sm", day("2026-03-03")),
        ("boss", f"impediment:{impediment.pk}:po", day("2026-03-03")),
    }


# --- the sprint's end -------------------------------------------------------------------------


def add_items(project, sprint, by, *titles: str) -> list[BacklogItem]:
    return [backlog_services.create_item(project=project, by=by, title=t, sprint=sprint) for t in titles]


def start_all(project, items) -> None:
    in_progress = Status.objects.get(project=project, name="In Progress")
    BacklogItem.objects.filter(pk__in=[item.pk for item in items]).update(status=in_progress)


def test_sprint_ends_tomorrow_reminds_everyone_on_the_last_working_day_before_the_end(
    sprint, project, scrum_master, at
):
    items = add_items(project, sprint, scrum_master, "Login", "Logout", "Profile")
    start_all(project, items[:1])
    subject = f"sprint:{sprint.pk}"
    expected = to(EVERYONE, subject, day("2026-03-12"))
    assert due(sb("2026-03-11T12:00"), Kind.SPRINT_ENDS_TOMORROW) == set()
    assert due(sb("2026-03-12T09:59:59"), Kind.SPRINT_ENDS_TOMORROW) == set()  # not before the daily scrum
    assert due(sb("2026-03-12T10:00"), Kind.SPRINT_ENDS_TOMORROW) == expected
    assert due(sb("2026-03-12T23:59"), Kind.SPRINT_ENDS_TOMORROW) == expected
    assert due(sb("2026-03-13T10:00"), Kind.SPRINT_ENDS_TOMORROW) == set()

    tick(at, sb("2026-03-12T10:00"))
    assert rows(Kind.SPRINT_ENDS_TOMORROW) == expected
    row = Notification.objects.get(recipient__username="dev", kind=Kind.SPRINT_ENDS_TOMORROW, channel="in_app")
    assert row.payload["unstarted"] == 2
    assert "2 items have not been started." in row.body
    tick(at, sb("2026-03-12T16:00"))
    assert count(Kind.SPRINT_ENDS_TOMORROW) == 10


def test_a_sprint_ending_on_monday_is_reminded_on_friday(sprint, project, scrum_master):
    Sprint.objects.filter(pk=sprint.pk).update(end_date=day("2026-03-16"))
    add_items(project, sprint, scrum_master, "Login")
    assert due(sb("2026-03-13T10:00"), Kind.SPRINT_ENDS_TOMORROW) == to(
        EVERYONE, f"sprint:{sprint.pk}", day("2026-03-13")
    )
    for weekend in ("2026-03-14T10:00", "2026-03-15T10:00"):
        assert due(sb(weekend), Kind.SPRINT_ENDS_TOMORROW) == set()


def test_no_sprint_ends_tomorrow_reminder_when_every_item_has_started(sprint, project, scrum_master):
    assert due(sb("2026-03-12T10:00"), Kind.SPRINT_ENDS_TOMORROW) == set()  # no items at all
    items = add_items(project, sprint, scrum_master, "Login", "Logout")
    start_all(project, items)
    assert due(sb("2026-03-12T10:00"), Kind.SPRINT_ENDS_TOMORROW) == set()


def test_an_active_sprint_past_its_end_reminds_the_scrum_masters_once(sprint, at):
    subject = f"sprint:{sprint.pk}:overdue"
    assert due(sb("2026-03-13T23:59"), Kind.RETROSPECTIVE_DUE) == set()
    assert due(sb("2026-03-14T09:59"), Kind.RETROSPECTIVE_DUE) == set()
    expected = to(SCRUM_MASTERS, subject, day("2026-03-14"))
    assert due(sb("2026-03-14T10:00"), Kind.RETROSPECTIVE_DUE) == expected
    # Days later it is still the same reminder (dated the day after the end): written once.
    assert due(sb("2026-03-17T10:00"), Kind.RETROSPECTIVE_DUE) == expected
    tick(at, sb("2026-03-14T10:00"))
    assert rows(Kind.RETROSPECTIVE_DUE) == expected
    assert Notification.objects.filter(kind=Kind.RETROSPECTIVE_DUE, channel="in_app").first().payload["overdue"]
    tick(at, sb("2026-03-17T10:00"))
    assert count(Kind.RETROSPECTIVE_DUE) == 4


def test_a_completed_sprint_is_not_past_its_end(sprint, scrum_master, at):
    at(sb("2026-03-13T17:00"))
    sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
    assert due(sb("2026-03-14T10:00"), Kind.RETROSPECTIVE_DUE) == set()


def test_planning_is_due_from_two_days_before_the_end_to_the_scrum_master_and_product_owner(sprint, at):
    subject = f"sprint:{sprint.pk}"
    expected = to(SCRUM_MASTERS | {"po"}, subject, day("2026-03-11"))
    assert due(sb("2026-03-10T12:00"), Kind.PLANNING_DUE) == set()
    assert due(sb("2026-03-11T09:59"), Kind.PLANNING_DUE) == set()
    for moment in ("2026-03-11T10:00", "2026-03-12T12:00", "2026-03-13T23:00"):
        assert due(sb(moment), Kind.PLANNING_DUE) == expected
    assert due(sb("2026-03-14T12:00"), Kind.PLANNING_DUE) == set()
    # Once across the three days.
    tick(at, sb("2026-03-11T10:00"))
    assert rows(Kind.PLANNING_DUE) == expected
    tick(at, sb("2026-03-12T12:00"))
    tick(at, sb("2026-03-13T12:00"))
    assert count(Kind.PLANNING_DUE) == 6
    row = Notification.objects.filter(kind=Kind.PLANNING_DUE, channel="in_app").first()
    assert (row.payload["end"], row.url) == (END.isoformat(), "/projects/SB/sprints/")


def test_no_planning_reminder_when_the_next_sprint_is_planned(sprint, project, scrum_master, at):
    at(sb("2026-03-10T12:00"))
    sprint_services.create_sprint(project=project, by=scrum_master)
    assert due(sb("2026-03-11T10:00"), Kind.PLANNING_DUE) == set()


# --- overdue items ----------------------------------------------------------------------------


def overdue_item(project, by, assignee, due_date: str, **fields) -> BacklogItem:
    return backlog_services.create_item(
        project=project, by=by, title="Ship the login form", assignee=assignee, due_date=day(due_date), **fields
    )


def test_an_overdue_item_reminds_its_assignee_the_morning_after_its_due_date(
    sprint, project, scrum_master, developer, at
):
    item = overdue_item(project, scrum_master, developer, "2026-03-03")
    expected = {("dev", f"item:{item.pk}", day("2026-03-03"))}
    assert due(sb("2026-03-03T23:59"), Kind.ITEM_OVERDUE) == set()
    assert due(sb("2026-03-04T09:59"), Kind.ITEM_OVERDUE) == set()
    assert due(sb("2026-03-04T10:00"), Kind.ITEM_OVERDUE) == expected
    tick(at, sb("2026-03-04T10:00"))
    assert rows(Kind.ITEM_OVERDUE) == expected
    row = Notification.objects.get(kind=Kind.ITEM_OVERDUE, channel="in_app")
    assert row.url == f"/projects/SB/items/{item.key}/"
    assert item.key in row.title and row.body == "Ship the login form"
    # Once per due date: later mornings write nothing.
    tick(at, sb("2026-03-05T10:00"))
    tick(at, sb("2026-03-06T10:00"))
    assert count(Kind.ITEM_OVERDUE) == 2
    # A new due date, missed again, reminds again.
    BacklogItem.objects.filter(pk=item.pk).update(due_date=day("2026-03-06"))
    tick(at, sb("2026-03-07T10:00"))
    assert rows(Kind.ITEM_OVERDUE) == expected | {("dev", f"item:{item.pk}", day("2026-03-06"))}
    assert count(Kind.ITEM_OVERDUE) == 4


def test_only_open_assigned_items_of_members_are_overdue(sprint, project, scrum_master, developer, outsider):
    done = overdue_item(project, scrum_master, developer, "2026-03-03")
    BacklogItem.objects.filter(pk=done.pk).update(status=Status.objects.get(project=project, name="Done"))
    overdue_item(project, scrum_master, None, "2026-03-03")  # nobody's
    gone = overdue_item(project, scrum_master, developer, "2026-03-03")
    BacklogItem.objects.filter(pk=gone.pk).update(assignee=outsider)  # not a member (any more)
    assert due(sb("2026-03-04T10:00"), Kind.ITEM_OVERDUE) == set()


def test_an_item_an_action_item_became_is_reminded_as_the_action_only(sprint, project, scrum_master, developer):
    item = overdue_item(project, scrum_master, developer, "2026-03-03")
    retro = retro_services.create_retrospective(project=project, by=scrum_master)
    linked = ActionItem.objects.create(
        retrospective=retro,
        text="Quarantine flaky tests",
        owner=developer,
        backlog_item=item,
        due_date=day("2026-03-03"),
    )
    now = sb("2026-03-04T10:00")
    assert due(now, Kind.ITEM_OVERDUE) == set()
    assert due(now, Kind.ACTION_ITEM_DUE) == {("dev", f"action:{linked.pk}", day("2026-03-03"))}
    (reminder,) = [r for r in schedule.due_reminders(now) if r.kind == Kind.ACTION_ITEM_DUE]
    assert reminder.url == f"/projects/SB/items/{item.key}/"
    # Its backlog item done, the action reminds nobody either.
    BacklogItem.objects.filter(pk=item.pk).update(status=Status.objects.get(project=project, name="Done"))
    assert due(now, Kind.ACTION_ITEM_DUE) == set()


def test_overdue_items_look_back_a_week_at_most(sprint, project, scrum_master, developer):
    item = overdue_item(project, scrum_master, developer, "2026-03-02")
    assert due(sb("2026-03-09T10:00"), Kind.ITEM_OVERDUE) == {("dev", f"item:{item.pk}", day("2026-03-02"))}
    assert due(sb("2026-03-10T10:00"), Kind.ITEM_OVERDUE) == set()


def test_overdue_follows_each_projects_own_date(sprint, project, new_york, scrum_master, developer):
    # Both teams meet at 07:00. At 02:00 UTC on 2026-03-04 it is 07:00 on the 4th in Almaty,
    # but 21:00 on the 3rd in New York, where an item due on the 3rd is not late yet.
    for team_project in (project, new_york):
        team_project.daily_scrum_time = datetime.time(7)
        team_project.save(update_fields=["daily_scrum_time"])
    ny_admin = Membership.objects.get(project=new_york, user__username="ny-admin").user
    ny_dev = Membership.objects.get(project=new_york, user__username="ny-dev").user
    sb_item = overdue_item(project, scrum_master, developer, "2026-03-03")
    ny_item = overdue_item(new_york, ny_admin, ny_dev, "2026-03-03")
    sb_due = ("dev", f"item:{sb_item.pk}", day("2026-03-03"))
    ny_due = ("ny-dev", f"item:{ny_item.pk}", day("2026-03-03"))
    assert due(utc("2026-03-04T01:59"), Kind.ITEM_OVERDUE) == set()
    assert due(utc("2026-03-04T02:00"), Kind.ITEM_OVERDUE) == {sb_due}
    assert due(utc("2026-03-04T11:59"), Kind.ITEM_OVERDUE) == {sb_due}  # 06:59 in New York
    assert due(utc("2026-03-04T12:00"), Kind.ITEM_OVERDUE) == {sb_due, ny_due}


# --- retrospective action items ---------------------------------------------------------------


@pytest.fixture
def retro(project, scrum_master):
    return retro_services.create_retrospective(project=project, by=scrum_master)


def action(retro, owner, due_date: str | None, **fields) -> ActionItem:
    return ActionItem.objects.create(
        retrospective=retro,
        text="Quarantine flaky tests",
        owner=owner,
        due_date=day(due_date) if due_date else None,
        **fields,
    )


def test_an_action_item_reminds_its_owner_from_its_due_date(sprint, retro, developer, at):
    item = action(retro, developer, "2026-03-04")
    expected = {("dev", f"action:{item.pk}", day("2026-03-04"))}
    assert due(sb("2026-03-03T12:00"), Kind.ACTION_ITEM_DUE) == set()
    assert due(sb("2026-03-04T09:59"), Kind.ACTION_ITEM_DUE) == set()
    assert due(sb("2026-03-04T10:00"), Kind.ACTION_ITEM_DUE) == expected
    tick(at, sb("2026-03-04T10:00"))
    assert rows(Kind.ACTION_ITEM_DUE) == expected
    row = Notification.objects.get(kind=Kind.ACTION_ITEM_DUE, channel="in_app")
    assert (row.body, row.url) == ("Quarantine flaky tests", f"/projects/SB/retrospectives/{retro.pk}/")
    tick(at, sb("2026-03-05T10:00"))
    assert count(Kind.ACTION_ITEM_DUE) == 2


def test_an_action_item_without_a_member_owner_goes_to_the_scrum_masters(sprint, retro, outsider):
    nobodys = action(retro, None, "2026-03-04")
    outsiders = action(retro, outsider, "2026-03-04")
    assert due(sb("2026-03-04T10:00"), Kind.ACTION_ITEM_DUE) == to(
        SCRUM_MASTERS, f"action:{nobodys.pk}", day("2026-03-04")
    ) | to(SCRUM_MASTERS, f"action:{outsiders.pk}", day("2026-03-04"))


def test_done_and_undated_action_items_remind_nobody(sprint, retro, developer):
    action(retro, developer, "2026-03-04", done=True)
    action(retro, developer, None)
    assert due(sb("2026-03-04T10:00"), Kind.ACTION_ITEM_DUE) == set()


# --- delivery of what the tick writes: quiet hours and preferences ----------------------------


def test_quiet_hours_delay_the_email_of_a_reminder_not_the_in_app_row(
    sprint, scrum_master, developer, at, django_capture_on_commit_callbacks
):
    services.set_quiet_hours(
        user=scrum_master, quiet_from=datetime.time(8), quiet_to=datetime.time(12), timezone_name=ALMATY
    )
    now = sb("2026-03-03T09:00")
    at(now)
    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders.send_due_reminders() == 8

    def nudge(user, channel):
        return Notification.objects.get(recipient=user, kind=Kind.STANDUP_NUDGE, channel=channel)

    assert nudge(scrum_master, Channel.IN_APP).next_attempt_at == now
    assert nudge(scrum_master, Channel.EMAIL).next_attempt_at == sb("2026-03-03T12:00")
    assert nudge(developer, Channel.EMAIL).next_attempt_at == now
    queued = {call.args[0][0] for call in apply_async.call_args_list}
    assert nudge(scrum_master, Channel.EMAIL).pk not in queued
    assert {nudge(scrum_master, Channel.IN_APP).pk, nudge(developer, Channel.EMAIL).pk} <= queued
    assert len(queued) == 7
    at(sb("2026-03-03T12:01"))
    assert nudge(scrum_master, Channel.EMAIL).pk in services.due_for_delivery()


def test_preferences_switch_a_kind_or_a_channel_off(sprint, project, scrum_master, developer, at):
    item = overdue_item(project, scrum_master, developer, "2026-03-03")
    services.set_preferences(
        user=developer,
        preferences=[
            {"kind": Kind.STANDUP_NUDGE, "channel": Channel.EMAIL, "enabled": False},
            {"kind": Kind.ITEM_OVERDUE, "channel": Channel.IN_APP, "enabled": False},
            {"kind": Kind.ITEM_OVERDUE, "channel": Channel.EMAIL, "enabled": False},
        ],
    )
    tick(at, sb("2026-03-03T09:00"))
    assert "dev" in {user for user, *_ in rows(Kind.STANDUP_NUDGE)}
    assert "dev" not in {user for user, *_ in rows(Kind.STANDUP_NUDGE, Channel.EMAIL)}
    assert count(Kind.STANDUP_NUDGE) == 7
    tick(at, sb("2026-03-04T10:00"))
    assert due(sb("2026-03-04T10:00"), Kind.ITEM_OVERDUE) != set()  # due, but switched off
    assert count(Kind.ITEM_OVERDUE) == 0
    # Switched back on, the next tick writes it (the reminder's key was never taken).
    services.set_preferences(
        user=developer, preferences=[{"kind": Kind.ITEM_OVERDUE, "channel": Channel.IN_APP, "enabled": True}]
    )
    tick(at, sb("2026-03-04T10:05"))
    assert rows(Kind.ITEM_OVERDUE) == {("dev", f"item:{item.pk}", day("2026-03-03"))}
    assert count(Kind.ITEM_OVERDUE) == 1
