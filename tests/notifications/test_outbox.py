"""The outbox around the rules: domain events that write to it, the text it renders in the
reader's language, its Prometheus counters and ``/metrics``, and publishing with the broker down."""

import datetime
import logging
from unittest import mock

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from kombu.exceptions import OperationalError
from prometheus_client import REGISTRY

from notifications import messages, receivers, reminders, services, tasks
from notifications.models import Channel, Kind, Notification, NotificationSettings, State
from scrumboard import outbox
from scrumboard.celery import app
from sprints import services as sprint_services
from sprints.models import Sprint, SprintState
from standups import services as standup_services
from tests.notifications.conftest import local

pytestmark = pytest.mark.django_db

EVERYONE = {"admin", "sm", "po", "dev", "stake"}
DAY = datetime.date(2026, 3, 3)


def sb(stamp: str) -> datetime.datetime:
    return local(stamp, "Asia/Almaty")


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP is down")


def mention(user, number: int = 1, **extra) -> list[Notification]:
    return services.notify(
        recipient=user,
        kind=Kind.MENTION,
        subject=f"comment:{number}",
        local_date=DAY,
        body="@dev have a look",
        payload={"project": "SB", "item": "SB-7", "author": "Sam"},
        **extra,
    )


# --- domain events --------------------------------------------------------------------------


def test_completing_a_sprint_tells_every_member_once_that_review_and_retrospective_are_due(
    sprint, developer, scrum_master, at
):
    # 00:30 on Saturday in Almaty is still Friday in UTC: the row carries the project's date.
    at(sb("2026-03-14T00:30"))
    sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
    rows = Notification.objects.filter(kind=Kind.RETROSPECTIVE_DUE)
    in_app = rows.filter(channel=Channel.IN_APP)
    assert sorted(in_app.values_list("recipient__username", flat=True)) == sorted(EVERYONE)
    assert rows.count() == 10  # each member once, on each channel
    row = in_app.get(recipient=developer)
    assert (row.subject, row.local_date) == (f"sprint:{sprint.pk}", datetime.date(2026, 3, 14))
    assert row.url == f"/projects/SB/sprints/{sprint.pk}/review/"
    assert row.title == f"{sprint.name} of SB is over"
    assert row.body == "The sprint review and the retrospective are due."
    # The signal sent again (a retried request) writes nothing new.
    receivers.sprint_completed(sender=Sprint, sprint=sprint)
    assert rows.count() == 10


def test_completion_notifications_commit_or_roll_back_with_the_completion(
    sprint, scrum_master, at, django_capture_on_commit_callbacks
):
    at(sb("2026-03-13T17:00"))
    written_before = REGISTRY.get_sample_value(
        "scrumboard_notifications_written_total", {"kind": Kind.RETROSPECTIVE_DUE, "channel": Channel.IN_APP}
    )
    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
        # Written inside the completion's transaction, not after its commit.
        assert Notification.objects.filter(kind=Kind.RETROSPECTIVE_DUE).count() == 10
        raise RuntimeError("the request failed after the completion")
    assert not Notification.objects.exists()
    assert callbacks == []  # nothing queued, nothing counted
    apply_async.assert_not_called()
    assert Sprint.objects.get(pk=sprint.pk).state == SprintState.ACTIVE
    written_after = REGISTRY.get_sample_value(
        "scrumboard_notifications_written_total", {"kind": Kind.RETROSPECTIVE_DUE, "channel": Channel.IN_APP}
    )
    assert written_after == written_before

    with (
        mock.patch.object(tasks.deliver, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
    rows = Notification.objects.filter(kind=Kind.RETROSPECTIVE_DUE)
    assert rows.count() == 10
    assert sorted(call.args[0][0] for call in apply_async.call_args_list) == sorted(row.pk for row in rows)


def test_ending_a_daily_scrum_sends_its_summary_to_every_member(
    sprint, project, scrum_master, developer, product_owner, at
):
    at(sb("2026-03-03T09:30"))
    meeting = standup_services.meeting_for(project=project, by=developer)
    standup_services.save_entry(meeting=meeting, by=developer, done="Login", blockers="Waiting for the API keys")
    standup_services.save_entry(meeting=meeting, by=product_owner, done="Refined the backlog")
    at(sb("2026-03-03T10:00"))
    meeting = standup_services.start_meeting(meeting=meeting, by=scrum_master)
    at(sb("2026-03-03T10:12"))
    standup_services.end_meeting(meeting=meeting, by=scrum_master)

    rows = Notification.objects.filter(kind=Kind.STANDUP_SUMMARY)
    in_app = rows.filter(channel=Channel.IN_APP)
    assert sorted(in_app.values_list("recipient__username", flat=True)) == sorted(EVERYONE)
    assert rows.count() == 10
    row = in_app.get(recipient=scrum_master)
    assert (row.subject, row.local_date) == ("standup:SB:2026-03-03", DAY)
    assert row.url == reverse("standups:summary", kwargs={"key": "SB", "date": "2026-03-03"})
    # Four members may write an entry (not the stakeholder); two did; one impediment was raised.
    assert (row.payload["reported"], row.payload["team"], row.payload["raised"]) == (2, 4, 1)
    assert sorted(row.payload["missing"]) == ["admin", "sm"]
    assert row.title.startswith("Daily scrum of SB, ")
    assert row.title.endswith(": summary")
    assert row.body.startswith("2 of 4 reported. No entry: ")
    assert "admin" in row.body and "sm" in row.body
    assert row.body.endswith("1 impediment raised.")


def test_a_summary_rolled_back_with_its_meeting_is_not_sent(sprint, project, scrum_master, at):
    at(sb("2026-03-03T10:15"))
    meeting = standup_services.meeting_for(project=project, by=scrum_master)
    with pytest.raises(RuntimeError), transaction.atomic():
        standup_services.end_meeting(meeting=meeting, by=scrum_master)
        raise RuntimeError("roll back")
    assert not Notification.objects.filter(kind=Kind.STANDUP_SUMMARY).exists()


# --- rendering ------------------------------------------------------------------------------

PAYLOADS = {
    Kind.DAILY_SCRUM_SOON: {"project": "SB", "date": "2026-03-03", "minutes": 7, "time": "10:00", "timezone": "UTC"},
    Kind.STANDUP_NUDGE: {"project": "SB", "date": "2026-03-03"},
    Kind.STANDUP_SUMMARY: {"project": "SB", "date": "2026-03-03", "reported": 3, "team": 5, "missing": ["dan"]},
    Kind.BLOCKER_ESCALATED: {"project": "SB", "impediment": 5, "hours": 26, "description": "Waiting for keys"},
    Kind.SPRINT_ENDS_TOMORROW: {"project": "SB", "sprint": "Sprint 4", "unstarted": 6},
    Kind.RETROSPECTIVE_DUE: {"project": "SB", "sprint": "Sprint 4"},
    Kind.PLANNING_DUE: {"project": "SB", "sprint": "Sprint 4", "end": "2026-03-13"},
    Kind.ITEM_OVERDUE: {"project": "SB", "item": "SB-42", "title": "Login form", "due": "2026-03-03"},
    Kind.ACTION_ITEM_DUE: {"project": "SB", "text": "Quarantine flaky tests", "due": "2026-03-04"},
    Kind.MENTION: {"project": "SB", "comment": 9, "item": "SB-42", "author": "Ada Lovelace"},
}
# What must survive translation: keys, names, numbers and user text.
SURVIVES = {
    Kind.DAILY_SCRUM_SOON: ["SB", "7", "10:00"],
    Kind.STANDUP_NUDGE: ["SB"],
    Kind.STANDUP_SUMMARY: ["SB", "3", "5", "dan"],
    Kind.BLOCKER_ESCALATED: ["SB", "26", "Waiting for keys"],
    Kind.SPRINT_ENDS_TOMORROW: ["Sprint 4", "SB", "6"],
    Kind.RETROSPECTIVE_DUE: ["Sprint 4", "SB"],
    Kind.PLANNING_DUE: ["SB", "Sprint 4", "13"],
    Kind.ITEM_OVERDUE: ["SB-42", "Login form", "3"],
    Kind.ACTION_ITEM_DUE: ["Quarantine flaky tests", "4"],
    Kind.MENTION: ["Ada Lovelace", "SB-42", "@dev look"],
}
ENGLISH = {
    Kind.DAILY_SCRUM_SOON: ("Daily scrum of SB starts in 7 min", "10:00 (UTC)"),
    Kind.STANDUP_NUDGE: (
        "No daily scrum entry from you yet in SB",
        "Write what you did, what comes next and any blockers for March 3.",
    ),
    Kind.STANDUP_SUMMARY: ("Daily scrum of SB, March 3: summary", "3 of 5 reported. No entry: dan."),
    Kind.BLOCKER_ESCALATED: ("A blocker in SB has been open for 26 hours", "Waiting for keys"),
    Kind.SPRINT_ENDS_TOMORROW: ("Sprint 4 of SB ends tomorrow", "6 items have not been started."),
    Kind.RETROSPECTIVE_DUE: ("Sprint 4 of SB is over", "The sprint review and the retrospective are due."),
    Kind.PLANNING_DUE: ("Plan the next sprint of SB", "Sprint 4 ends on March 13 and no sprint is planned after it."),
    Kind.ITEM_OVERDUE: ("SB-42 is past its due date, March 3", "Login form"),
    Kind.ACTION_ITEM_DUE: ("Retrospective action due March 4", "Quarantine flaky tests"),
    Kind.MENTION: ("Ada Lovelace mentioned you on SB-42", "@dev look"),
}


def test_every_kind_has_a_rendering_case():
    assert set(PAYLOADS) == set(SURVIVES) == set(ENGLISH) == set(Kind)


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_in_every_language(kind, language):
    with translation.override(language):
        title, body = messages.render(kind, PAYLOADS[kind], body="@dev look")
    assert title.strip() and title != kind.value
    assert len(title) <= 200  # it fits the row's title
    text = f"{title} {body}"
    for part in SURVIVES[kind]:
        assert part in text, (kind, language, part, text)
    assert "%(" not in text  # every placeholder filled


@pytest.mark.parametrize("kind", list(Kind))
def test_english_text(kind):
    with translation.override("en"):
        assert messages.render(kind, PAYLOADS[kind], body="@dev look") == ENGLISH[kind]


def test_singular_and_overdue_variants():
    with translation.override("en"):
        assert messages.render(Kind.BLOCKER_ESCALATED, {"project": "SB", "hours": 1})[0] == (
            "A blocker in SB has been open for 1 hour"
        )
        assert messages.render(Kind.SPRINT_ENDS_TOMORROW, {"sprint": "S", "project": "SB", "unstarted": 1})[1] == (
            "1 item has not been started."
        )
        title, body = messages.render(Kind.RETROSPECTIVE_DUE, {"project": "SB", "sprint": "Sprint 4", "overdue": True})
        assert title == "Sprint 4 of SB is past its end date"
        assert body.startswith("Complete the sprint")
        summary = messages.render(Kind.STANDUP_SUMMARY, {"project": "SB", "date": "x", "reported": 2, "team": 2})
        assert summary == ("Daily scrum of SB, x: summary", "2 of 2 reported.")


@pytest.mark.parametrize("kind", list(Kind))
def test_a_row_with_an_empty_payload_still_renders(kind):
    # Rows written before payloads existed (or by hand) must not break the inbox.
    title, _body = messages.render(kind, {})
    assert title and title != kind.value


def test_notify_renders_in_the_recipients_language(developer, product_owner, at):
    NotificationSettings.objects.create(user=developer, language="kk")
    languages = []
    render = messages.render

    def spy(kind, payload, **kwargs):
        languages.append(translation.get_language())
        return render(kind, payload, **kwargs)

    payload = PAYLOADS[Kind.PLANNING_DUE]
    with translation.override("ru"), mock.patch.object(messages, "render", side_effect=spy):
        services.notify(
            recipient=developer, kind=Kind.PLANNING_DUE, subject="sprint:1", local_date=DAY, payload=payload
        )
        # Without a chosen language: the site's, whatever language the caller's request is in.
        services.notify(
            recipient=product_owner, kind=Kind.PLANNING_DUE, subject="sprint:1", local_date=DAY, payload=payload
        )
        assert translation.get_language() == "ru"  # the caller's language is restored
    assert languages == ["kk", "en"]
    for user, language in ((developer, "kk"), (product_owner, "en")):
        with translation.override(language):
            expected = messages.render(Kind.PLANNING_DUE, payload)
        for row in Notification.objects.filter(recipient=user):
            assert (row.title, row.body) == expected


def test_a_given_title_is_kept(developer, at):
    rows = services.notify(recipient=developer, kind=Kind.MENTION, subject="comment:1", local_date=DAY, title="Hi")
    assert {row.title for row in rows} == {"Hi"}


# --- metrics --------------------------------------------------------------------------------


def sample(name: str, kind: str, channel: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind, "channel": channel}) or 0.0


SENT = "scrumboard_notifications_sent_total"
RETRIED = "scrumboard_notification_retries_total"
FAILED = "scrumboard_notifications_failed_total"
WRITTEN = "scrumboard_notifications_written_total"


def test_written_rows_are_counted_once_committed(developer, at, django_capture_on_commit_callbacks):
    before = {channel: sample(WRITTEN, Kind.MENTION, channel) for channel in Channel.values}
    with (
        mock.patch.object(tasks.deliver, "apply_async"),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        mention(developer)
    assert {channel: sample(WRITTEN, Kind.MENTION, channel) for channel in Channel.values} == before
    with mock.patch.object(tasks.deliver, "apply_async"):
        for callback in callbacks:
            callback()
    assert {channel: sample(WRITTEN, Kind.MENTION, channel) - before[channel] for channel in Channel.values} == {
        "in_app": 1.0,
        "email": 1.0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        mention(developer)  # already written: not counted again
    assert sample(WRITTEN, Kind.MENTION, Channel.IN_APP) - before["in_app"] == 1.0


def test_sent_retry_and_failed_are_counted(developer, at, settings):
    now = sb("2026-03-03T10:00")
    at(now)
    in_app, email = sorted(mention(developer), key=lambda row: row.channel != Channel.IN_APP)
    sent = sample(SENT, Kind.MENTION, Channel.IN_APP)
    tasks.deliver(in_app.pk)
    tasks.deliver(in_app.pk)  # already sent: not counted again
    assert sample(SENT, Kind.MENTION, Channel.IN_APP) - sent == 1.0

    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.FailingBackend"
    retried, failed = sample(RETRIED, Kind.MENTION, Channel.EMAIL), sample(FAILED, Kind.MENTION, Channel.EMAIL)
    tasks.deliver(email.pk)
    assert sample(RETRIED, Kind.MENTION, Channel.EMAIL) - retried == 1.0
    for _attempt in range(services.MAX_ATTEMPTS - 1):
        now += datetime.timedelta(hours=1)
        at(now)
        tasks.deliver(email.pk)
    assert Notification.objects.get(pk=email.pk).state == State.FAILED
    assert sample(RETRIED, Kind.MENTION, Channel.EMAIL) - retried == services.MAX_ATTEMPTS - 1
    assert sample(FAILED, Kind.MENTION, Channel.EMAIL) - failed == 1.0


def test_each_tick_is_timed(sprint, at):
    before = REGISTRY.get_sample_value("scrumboard_reminder_tick_seconds_count") or 0.0
    at(sb("2026-03-03T09:00"))
    reminders.send_due_reminders()
    reminders.send_due_reminders()
    assert REGISTRY.get_sample_value("scrumboard_reminder_tick_seconds_count") - before == 2.0


# --- /metrics -------------------------------------------------------------------------------


@pytest.fixture
def metrics_client(client, settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.METRICS_TOKEN = "s3cret-token"
    return client


def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic s3cret-token", "Bearer s3cret-token-and-more"])
def test_metrics_need_the_right_bearer_token(metrics_client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = metrics_client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"scrumboard_" not in response.content


def test_metrics_with_the_right_token(metrics_client, developer, at):
    (in_app,) = [row for row in mention(developer) if row.channel == Channel.IN_APP]
    tasks.deliver(in_app.pk)
    response = metrics_client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "scrumboard_notifications_sent_total" in body
    assert 'scrumboard_notifications_sent_total{channel="in_app",kind="mention"}' in body
    assert "scrumboard_reminder_tick_seconds_bucket" in body
    assert "no-cache" in response.get("Cache-Control", "")


# --- publishing with the broker down ---------------------------------------------------------


def test_publish_never_raises_with_the_broker_down_and_pauses(at, caplog):
    now = sb("2026-03-03T10:00")
    at(now)
    refused = OperationalError("[Errno 111] Connection refused")
    with mock.patch.object(tasks.deliver, "apply_async", side_effect=refused) as apply_async:
        with caplog.at_level(logging.WARNING, logger="scrumboard.outbox"):
            assert outbox.publish(tasks.deliver, 1) is False
        assert "broker unreachable" in caplog.text
        at(now + datetime.timedelta(seconds=29))
        assert outbox.publish(tasks.deliver, 2) is False  # paused: the broker is not even tried
        assert apply_async.call_count == 1
        at(now + datetime.timedelta(seconds=31))
        assert outbox.publish(tasks.deliver, 3) is False  # tried again after the pause
        assert apply_async.call_count == 2
    with mock.patch.object(tasks.deliver, "apply_async") as apply_async:
        at(now + datetime.timedelta(seconds=62))
        assert outbox.publish(tasks.deliver, 4) is True
        apply_async.assert_called_once_with((4,), retry=False)
        assert not outbox.broker_paused()
        assert outbox.publish(tasks.deliver, 5) is True


def test_rows_written_with_the_broker_down_wait_for_the_sweeper(
    team, developer, scrum_master, at, django_capture_on_commit_callbacks
):
    now = sb("2026-03-03T10:00")
    at(now)
    refused = OperationalError("[Errno 111] Connection refused")
    with (
        mock.patch.object(tasks.deliver, "apply_async", side_effect=refused) as apply_async,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        for number, user in enumerate((developer, scrum_master, team.product_owner)):
            mention(user, number)
    # Six rows, one publish attempt: the rest of the transaction's rows did not wait for the broker.
    assert apply_async.call_count == 1
    assert set(Notification.objects.values_list("state", flat=True)) == {State.PENDING}
    at(now + datetime.timedelta(minutes=2))
    with mock.patch.object(tasks.deliver, "apply_async") as apply_async:
        assert tasks.sweep() == 6
    assert {call.args[0][0] for call in apply_async.call_args_list} == set(
        Notification.objects.values_list("pk", flat=True)
    )


def test_an_unreachable_broker_url_does_not_break_the_request(
    developer, at, caplog, django_capture_on_commit_callbacks
):
    """The real boundary: kombu connecting to a port nobody listens on."""
    conf = app.conf
    saved = conf.broker_url, conf.broker_transport_options, conf.broker_connection_timeout

    def reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    try:
        conf.broker_url = "amqp://guest@127.0.0.1:1//"
        conf.broker_transport_options = {"max_retries": 0}
        conf.broker_connection_timeout = 1
        reset_pools()
        with (
            caplog.at_level(logging.WARNING, logger="scrumboard.outbox"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            rows = mention(developer)
        (record,) = [r for r in caplog.records if r.name == "scrumboard.outbox"]  # one try, then paused
        assert record.exc_info and isinstance(record.exc_info[1], OperationalError)
        assert outbox.broker_paused()
        assert {row.state for row in rows} == {State.PENDING}
        assert services.publish_many([rows[0].pk]) == 0
    finally:
        conf.broker_url, conf.broker_transport_options, conf.broker_connection_timeout = saved
        reset_pools()


# Writing in bulk, and the tick's lock


def test_a_batch_meeting_an_existing_row_writes_the_others_one_by_one(developer, product_owner, at):
    day = datetime.date(2026, 3, 3)
    first = services.Message(developer, Kind.MENTION, "comment:1", day, payload={"item": "SB-1", "author": "A"})
    services.notify_many([first])
    second = services.Message(product_owner, Kind.MENTION, "comment:1", day, payload={"item": "SB-1", "author": "A"})
    # The bulk insert hits the developer's rows written above, rolls back to its savepoint, and the
    # batch goes in row by row: the product owner's rows are written, the developer's are not again.
    written = services.notify_many([first, second])
    assert {(row.recipient, row.channel) for row in written} == {
        (product_owner, Channel.IN_APP),
        (product_owner, Channel.EMAIL),
    }
    assert Notification.objects.filter(subject="comment:1").count() == 4


def test_a_tick_while_another_is_running_does_nothing(sprint, at):
    from django.core.cache import cache

    from notifications import reminders

    at(sb("2026-03-03T09:55"))
    cache.add(reminders.TICK_LOCK, "1", timeout=60)
    try:
        assert reminders.tick() is None
        assert not Notification.objects.exists()
    finally:
        cache.delete(reminders.TICK_LOCK)
    assert reminders.tick() > 0
    assert cache.get(reminders.TICK_LOCK) is None  # released after the run
