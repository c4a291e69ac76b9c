"""Which daily scrums are due for a reminder at an instant, and the tick that writes them."""

import datetime
from unittest import mock

import pytest
from django.db.models import Count

from notifications import selectors, tasks
from notifications.models import Channel, Kind, Notification
from tests.factories import make_project
from tests.notifications.conftest import local, utc

pytestmark = pytest.mark.django_db


def due_keys(now) -> list[tuple[str, str]]:
    return [(due.project.key, due.day.isoformat()) for due in selectors.daily_scrums_due(now)]


def test_daily_scrum_is_due_from_ten_minutes_before_until_it_starts_in_the_projects_time_zone(sprint):
    # SB meets at 10:00 in Almaty (UTC+5): 05:00 UTC.
    assert due_keys(local("2026-03-03T09:49:59", "Asia/Almaty")) == []
    assert due_keys(local("2026-03-03T09:50", "Asia/Almaty")) == [("SB", "2026-03-03")]
    assert due_keys(utc("2026-03-03T04:59:59")) == [("SB", "2026-03-03")]
    assert due_keys(local("2026-03-03T10:00", "Asia/Almaty")) == []


def test_every_member_of_the_project_is_a_recipient(sprint, team):
    (due,) = selectors.daily_scrums_due(local("2026-03-03T09:50", "Asia/Almaty"))
    assert {user.username for user in due.recipients} == {"admin", "sm", "po", "dev", "stake"}
    assert due.starts_at == local("2026-03-03T10:00", "Asia/Almaty")


def test_new_york_reminder_follows_the_daylight_saving_change(sprint, new_york):
    # Friday 2026-03-06, EST (UTC-5): 10:00 is 15:00 UTC.
    assert due_keys(utc("2026-03-06T14:50")) == [("NY", "2026-03-06")]
    assert due_keys(utc("2026-03-06T13:50")) == []
    # Monday 2026-03-09, after the change to EDT (UTC-4): 10:00 is 14:00 UTC.
    assert due_keys(utc("2026-03-09T13:50")) == [("NY", "2026-03-09")]
    assert due_keys(utc("2026-03-09T14:50")) == []
    # Almaty has no daylight saving: still 05:00 UTC that Monday, so SB is due at 04:55.
    assert due_keys(utc("2026-03-09T04:55")) == [("SB", "2026-03-09")]


def test_non_working_days_are_skipped(sprint, new_york):
    # Saturday 2026-03-07 and Sunday 2026-03-08 (the DST change day itself) in both places.
    for day in ("2026-03-07", "2026-03-08"):
        assert due_keys(local(f"{day}T09:55", "Asia/Almaty")) == []
        assert due_keys(local(f"{day}T09:55", "America/New_York")) == []


def test_project_working_days_decide(sprint, project):
    project.working_days = [1, 3, 5]
    project.save(update_fields=["working_days"])
    assert due_keys(local("2026-03-03T09:55", "Asia/Almaty")) == []  # a Tuesday
    assert due_keys(local("2026-03-04T09:55", "Asia/Almaty")) == [("SB", "2026-03-04")]


def test_a_project_without_an_active_sprint_gets_no_reminder(team, at):
    make_project(key="XX", timezone="Asia/Almaty")
    assert due_keys(local("2026-03-03T09:55", "Asia/Almaty")) == []


def test_an_archived_project_gets_no_reminder(sprint, project):
    project.archived = True
    project.save(update_fields=["archived"])
    assert due_keys(local("2026-03-03T09:55", "Asia/Almaty")) == []


def test_a_meeting_just_after_midnight_is_reminded_the_evening_before(sprint, project):
    project.daily_scrum_time = datetime.time(0, 5)
    project.save(update_fields=["daily_scrum_time"])
    # Monday 23:58 → Tuesday's 00:05 meeting.
    assert due_keys(local("2026-03-02T23:58", "Asia/Almaty")) == [("SB", "2026-03-03")]


def test_lead_time_comes_from_the_setting(sprint, settings):
    settings.DAILY_SCRUM_REMINDER_MINUTES = 30
    assert due_keys(local("2026-03-03T09:30", "Asia/Almaty")) == [("SB", "2026-03-03")]
    assert due_keys(local("2026-03-03T09:29", "Asia/Almaty")) == []


def soon(**filters):
    """The daily-scrum reminders only: the same ticks also nudge members with no entry yet."""
    return Notification.objects.filter(kind=Kind.DAILY_SCRUM_SOON, **filters)


def test_tick_writes_one_in_app_and_one_email_row_per_member(sprint, team, at, django_capture_on_commit_callbacks):
    at(local("2026-03-03T09:50:10", "Asia/Almaty"))
    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        written = tasks.tick()
    # 5 members x 2 channels reminded, and the 4 who may write an entry (not the stakeholder) nudged.
    assert soon().count() == 10
    assert Notification.objects.filter(kind=Kind.STANDUP_NUDGE).count() == 8
    assert written == 18
    # One delivery queued per row, after the commit.
    assert sorted(call.args[0][0] for call in apply_async.call_args_list) == sorted(
        Notification.objects.values_list("pk", flat=True)
    )
    in_app = soon(channel=Channel.IN_APP)
    assert set(in_app.values_list("recipient__username", flat=True)) == {"admin", "sm", "po", "dev", "stake"}
    reminder = in_app.get(recipient=team.developer)
    assert reminder.kind == Kind.DAILY_SCRUM_SOON
    assert reminder.subject == "standup:SB:2026-03-03"
    assert reminder.local_date == datetime.date(2026, 3, 3)
    assert reminder.url == "/projects/SB/standups/2026-03-03/"
    assert "10 min" in reminder.title


def test_two_ticks_in_the_same_window_write_once(sprint, at):
    at(local("2026-03-03T09:50:00", "Asia/Almaty"))
    assert tasks.tick() == 18
    assert tasks.tick() == 0
    at(local("2026-03-03T09:50:59", "Asia/Almaty"))
    assert tasks.tick() == 0
    at(local("2026-03-03T09:57", "Asia/Almaty"))  # a late tick in the window finds it sent
    assert tasks.tick() == 0
    per_member = soon().values("recipient", "channel").annotate(n=Count("id"))
    assert {row["n"] for row in per_member} == {1}
    assert len(per_member) == 10


def test_each_day_gets_its_own_reminder(sprint, at):
    at(local("2026-03-03T09:55", "Asia/Almaty"))
    tasks.tick()
    at(local("2026-03-04T09:55", "Asia/Almaty"))
    assert tasks.tick() == 18
    assert soon(channel=Channel.IN_APP).count() == 10
    assert set(soon(channel=Channel.IN_APP).values_list("local_date", flat=True)) == {
        datetime.date(2026, 3, 3),
        datetime.date(2026, 3, 4),
    }


def test_two_projects_in_different_time_zones_are_reminded_at_their_own_times(sprint, new_york, at):
    at(utc("2026-03-09T04:52"))
    tasks.tick()
    assert set(soon().values_list("project__key", flat=True)) == {"SB"}
    at(utc("2026-03-09T13:52"))
    tasks.tick()
    assert set(soon().values_list("project__key", flat=True)) == {"SB", "NY"}
    assert soon(project__key="NY", channel=Channel.IN_APP).count() == 2
