"""The outbox: notify writes once, preferences and quiet hours, delivery once, back-off, sweep."""

import datetime
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from notifications import services, tasks
from notifications.models import Channel, Kind, Notification, NotificationSettings, State
from tests.notifications.conftest import local

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 3)


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP is down")


def remind(user, **extra):
    return services.notify(
        recipient=user,
        kind=Kind.DAILY_SCRUM_SOON,
        subject="standup:SB:2026-03-03",
        local_date=DAY,
        title="Daily scrum of SB starts in 10 min",
        url="/projects/SB/standups/2026-03-03/",
        **extra,
    )


def email_row(user) -> Notification:
    return Notification.objects.get(recipient=user, channel=Channel.EMAIL)


def test_notify_writes_one_row_per_channel_and_queues_delivery_after_commit(
    developer, at, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        rows = remind(developer)
        apply_async.assert_not_called()  # not before the commit
    assert sorted(row.channel for row in rows) == ["email", "in_app"]
    # Published without kombu's own retry loop, so a down broker cannot stall the request.
    assert sorted(call.args[0] for call in apply_async.call_args_list) == sorted((row.pk,) for row in rows)
    assert all(call.kwargs == {"retry": False} for call in apply_async.call_args_list)
    assert all(row.state == State.PENDING for row in rows)


def test_notify_twice_writes_and_queues_nothing_new(developer, at, django_capture_on_commit_callbacks):
    remind(developer)
    with django_capture_on_commit_callbacks() as callbacks:
        assert remind(developer) == []
    assert callbacks == []
    assert Notification.objects.count() == 2


def test_a_disabled_channel_gets_no_row(developer, at):
    services.set_preferences(
        user=developer, preferences=[{"kind": Kind.DAILY_SCRUM_SOON, "channel": Channel.EMAIL, "enabled": False}]
    )
    assert [row.channel for row in remind(developer)] == ["in_app"]
    # Another kind still goes by e-mail.
    rows = services.notify(recipient=developer, kind=Kind.MENTION, subject="comment:1", local_date=DAY, title="Hi")
    assert sorted(row.channel for row in rows) == ["email", "in_app"]


def test_re_enabling_a_channel_turns_it_back_on(developer, at):
    off = {"kind": Kind.DAILY_SCRUM_SOON, "channel": Channel.IN_APP, "enabled": False}
    services.set_preferences(user=developer, preferences=[off])
    services.set_preferences(user=developer, preferences=[{**off, "enabled": True}])
    assert sorted(row.channel for row in remind(developer)) == ["email", "in_app"]


def test_quiet_hours_delay_email_but_not_in_app(developer, at, django_capture_on_commit_callbacks):
    services.set_quiet_hours(
        user=developer, quiet_from=datetime.time(22), quiet_to=datetime.time(7), timezone_name="Europe/Berlin"
    )
    now = local("2026-03-02T23:30", "Europe/Berlin")
    at(now)
    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        remind(developer)
    in_app = Notification.objects.get(recipient=developer, channel=Channel.IN_APP)
    assert in_app.next_attempt_at == now
    assert email_row(developer).next_attempt_at == local("2026-03-03T07:00", "Europe/Berlin")
    # Only the in-app row is queued now; the sweep sends the e-mail later.
    assert [call.args[0] for call in apply_async.call_args_list] == [(in_app.pk,)]
    tasks.deliver(email_row(developer).pk)
    assert mail.outbox == []
    at(local("2026-03-03T07:01:30", "Europe/Berlin"))
    assert email_row(developer).pk in services.due_for_delivery()
    tasks.deliver(email_row(developer).pk)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("quiet_from", "quiet_to", "clock", "until"),
    [
        ("22:00", "07:00", "23:00", "2026-03-04T07:00"),
        ("22:00", "07:00", "06:59", "2026-03-03T07:00"),
        ("22:00", "07:00", "07:00", None),
        ("12:00", "14:00", "13:00", "2026-03-03T14:00"),
        ("12:00", "14:00", "11:59", None),
    ],
)
def test_quiet_until(quiet_from, quiet_to, clock, until):
    quiet = NotificationSettings(
        quiet_from=datetime.time.fromisoformat(quiet_from),
        quiet_to=datetime.time.fromisoformat(quiet_to),
        timezone="Asia/Almaty",
    )
    expected = local(until, "Asia/Almaty") if until else None
    assert quiet.quiet_until(local(f"2026-03-03T{clock}", "Asia/Almaty")) == expected


def test_deliver_is_idempotent(developer, at):
    remind(developer)
    row = email_row(developer)
    tasks.deliver(row.pk)
    tasks.deliver(row.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [developer.email]
    assert mail.outbox[0].subject == "Daily scrum of SB starts in 10 min"
    assert "https://scrumboard.example.com/projects/SB/standups/2026-03-03/" in mail.outbox[0].body
    row.refresh_from_db()
    assert (row.state, row.attempts, row.sent_at is not None) == (State.SENT, 1, True)


def test_in_app_delivery_marks_sent_without_mail(developer, at):
    remind(developer)
    row = Notification.objects.get(recipient=developer, channel=Channel.IN_APP)
    tasks.deliver(row.pk)
    row.refresh_from_db()
    assert row.state == State.SENT
    assert mail.outbox == []


def test_deliver_of_a_missing_row_does_nothing(db):
    tasks.deliver(987654)


def test_failed_email_backs_off_then_succeeds(developer, at, settings):
    start = local("2026-03-03T09:50", "Asia/Almaty")
    at(start)
    remind(developer)
    row = email_row(developer)
    settings.EMAIL_BACKEND = "tests.notifications.test_delivery.FailingBackend"
    tasks.deliver(row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert row.next_attempt_at == start + datetime.timedelta(minutes=1)
    assert "SMTP is down" in row.last_error
    tasks.deliver(row.pk)  # not due yet: untouched
    row.refresh_from_db()
    assert row.attempts == 1
    at(start + datetime.timedelta(minutes=1))
    tasks.deliver(row.pk)
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == start + datetime.timedelta(minutes=3)  # 1 then 2 minutes
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    at(start + datetime.timedelta(minutes=3))
    tasks.deliver(row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.SENT, 3)
    assert len(mail.outbox) == 1


def test_email_fails_for_good_after_the_last_attempt(developer, at, settings):
    settings.EMAIL_BACKEND = "tests.notifications.test_delivery.FailingBackend"
    now = local("2026-03-03T09:50", "Asia/Almaty")
    at(now)
    remind(developer)
    row = email_row(developer)
    for _attempt in range(services.MAX_ATTEMPTS):
        now += datetime.timedelta(hours=1)
        at(now)
        tasks.deliver(row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.FAILED, services.MAX_ATTEMPTS)
    assert row.pk not in services.due_for_delivery()


def test_sweep_requeues_rows_left_pending_past_their_time(developer, scrum_master, at):
    start = local("2026-03-03T09:50", "Asia/Almaty")
    at(start)
    remind(developer)  # broker down at commit: never queued
    sent = remind(scrum_master)
    for row in sent:
        tasks.deliver(row.pk)
    with mock.patch.object(tasks.deliver, "apply_async") as apply_async:
        assert tasks.sweep() == 0  # fresh rows get their own on_commit delivery first
        at(start + datetime.timedelta(minutes=2))
        assert tasks.sweep() == 2
    stale = set(Notification.objects.filter(recipient=developer).values_list("pk", flat=True))
    assert {call.args[0][0] for call in apply_async.call_args_list} == stale
    for pk in stale:
        tasks.deliver(pk)
    assert set(Notification.objects.values_list("state", flat=True)) == {State.SENT}
    with mock.patch.object(tasks.deliver, "apply_async") as apply_async:
        assert tasks.sweep() == 0
    apply_async.assert_not_called()
