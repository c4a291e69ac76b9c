"""Outbound webhooks end to end against a local receiver: the outbox in the causing transaction,
signed bodies, back-off, redirects, timeouts, auto-disable, redelivery, the broker being down,
and every domain event's payload. Celery tasks are called as plain functions."""

import datetime
import hashlib
import hmac
import json
import zoneinfo
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerError

from backlog import services as backlog_services
from backlog.models import BacklogItem, Status
from integrations import receivers, ssrf, tasks, webhooks
from integrations.models import DeliveryState, Webhook, WebhookDelivery
from retrospectives import services as retro_services
from retrospectives.models import PHASES, Phase, Retrospective
from roadmap import services as roadmap_services
from scrumboard import outbox
from scrumboard.errors import ConflictError
from sprints import services as sprint_services
from standups import services as standup_services
from tests.integrations.webhook_receiver import Receiver, Reply

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
EVERY_EVENT = [
    "item.created",
    "item.updated",
    "item.moved",
    "item.deleted",
    "sprint.started",
    "sprint.completed",
    "daily_scrum.summary",
    "retrospective.closed",
    "release.released",
]


def local(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=ALMATY)


@pytest.fixture(autouse=True)
def _private_targets_and_broker_up(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on 127.0.0.1
    outbox.resume()
    yield
    outbox.resume()


@pytest.fixture
def clock(time_machine):
    def move(instant: datetime.datetime) -> None:
        time_machine.move_to(instant, tick=False)

    move(local("2026-03-02T09:00"))
    return move


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """Runs ``write`` as a request would (committing), with the broker mocked; returns the published ids."""

    def run(write):
        with (
            mock.patch.object(tasks.deliver_webhook, "apply_async") as apply_async,
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = write()
        return result, [call.args[0][0] for call in apply_async.call_args_list]

    return run


@pytest.fixture
def hook(project, admin, receiver):
    return webhooks.create_webhook(project=project, by=admin, url=receiver.url(), events=EVERY_EVENT)


def create_item(project, by, title="Login form", **fields):
    return backlog_services.create_item(project=project, by=by, title=title, **fields)


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (the README's Python example)."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


# --- subscriptions -----------------------------------------------------------------------------


def test_only_managers_of_integrations_manage_webhooks(project, developer, outsider, receiver):
    with pytest.raises(PermissionDenied):
        webhooks.create_webhook(project=project, by=developer, url=receiver.url(), events=["item.created"])
    with pytest.raises(Http404):
        webhooks.create_webhook(project=project, by=outsider, url=receiver.url(), events=["item.created"])
    assert not Webhook.objects.exists()


def test_creating_validates_url_and_events_together(project, admin):
    with pytest.raises(ValidationError) as refused:
        webhooks.create_webhook(project=project, by=admin, url="ftp://x.example.com/", events=["item.exploded"])
    assert set(refused.value.message_dict) == {"url", "events"}
    with pytest.raises(ValidationError) as refused:
        webhooks.create_webhook(project=project, by=admin, url="http://127.0.0.1/", events=[])
    assert set(refused.value.message_dict) == {"events"}


def test_the_signing_secret_is_derived_and_rotates(hook, admin, settings):
    secret = webhooks.signing_secret(hook)
    assert len(secret) == 64 and secret not in json.dumps(list(Webhook.objects.values()), default=str)
    settings.WEBHOOK_SIGNING_KEY = "another key"
    assert webhooks.signing_secret(hook) != secret  # the server's key is part of it
    settings.WEBHOOK_SIGNING_KEY = ""
    assert webhooks.signing_secret(hook) == secret
    webhooks.rotate_secret(webhook=hook, by=admin)
    assert webhooks.signing_secret(hook) != secret


def test_update_rejects_unknown_fields(hook, admin):
    with pytest.raises(ValidationError) as refused:
        webhooks.update_webhook(webhook=hook, by=admin, secret_salt="x")
    assert list(refused.value.message_dict) == ["secret_salt"]


# --- the outbox --------------------------------------------------------------------------------


def test_an_item_created_through_the_services_posts_one_signed_documented_body(
    project, admin, developer, hook, receiver, published, clock
):
    item, ids = published(lambda: create_item(project, developer, estimate="3", assignee=developer))
    delivery = WebhookDelivery.objects.get()
    assert ids == [delivery.pk]  # queued after the commit
    tasks.deliver_webhook(delivery.pk)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.method == "POST" and request.path == "/hook"
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Scrumboard-Webhooks/1"
    assert headers["X-Scrumboard-Event"] == "item.created"
    assert headers["X-Scrumboard-Delivery"] == str(delivery.pk)
    assert verify(webhooks.signing_secret(hook), headers["X-Scrumboard-Signature"], request.body)
    assert not verify("wrong", headers["X-Scrumboard-Signature"], request.body)
    timestamp = int(headers["X-Scrumboard-Signature"].split(",")[0].removeprefix("t="))
    assert timestamp == int(local("2026-03-02T09:00").timestamp())

    body = json.loads(request.body)
    assert body == {
        "id": str(delivery.event_id),
        "event": "item.created",
        "created_at": "2026-03-02T04:00:00Z",
        "project": "SB",
        "data": {
            "key": item.key,
            "title": "Login form",
            "type": "story",
            "status": "To Do",
            "points": 3.0,
            "sprint": None,
            "assignee": developer.username,
        },
    }
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_code) == (DeliveryState.SENT, 1, 200)
    assert delivery.response_ms is not None and delivery.sent_at is not None and delivery.error == ""


def test_a_sent_delivery_is_not_sent_again(project, developer, hook, receiver, published):
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    tasks.deliver_webhook(delivery.pk)  # the broker handed it out twice
    assert len(receiver.requests) == 1
    assert tasks.sweep_webhooks(grace_seconds=0) == 0


def test_one_event_goes_to_every_subscribed_webhook_with_the_same_id(project, admin, developer, hook, receiver):
    other = webhooks.create_webhook(project=project, by=admin, url=receiver.url("/other"), events=["item.created"])
    with mock.patch.object(tasks.deliver_webhook, "apply_async"):
        create_item(project, developer)
    rows = list(WebhookDelivery.objects.order_by("webhook_id"))
    assert [row.webhook_id for row in rows] == [hook.pk, other.pk]
    assert rows[0].event_id == rows[1].event_id


def test_inactive_webhooks_and_unsubscribed_events_get_nothing(project, admin, developer, receiver, published):
    webhooks.create_webhook(project=project, by=admin, url=receiver.url(), events=["sprint.started"])
    webhooks.create_webhook(project=project, by=admin, url=receiver.url(), events=["item.created"], active=False)
    _item, ids = published(lambda: create_item(project, developer))
    assert ids == [] and not WebhookDelivery.objects.exists()


def test_a_rolled_back_write_leaves_no_delivery(project, developer, hook, published):
    def failing_write():
        with transaction.atomic():
            create_item(project, developer)
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        published(failing_write)
    assert not WebhookDelivery.objects.exists()


def test_the_broker_being_down_never_breaks_the_write_and_the_sweeper_catches_up(
    project, developer, hook, receiver, django_capture_on_commit_callbacks, clock, caplog
):
    refused = BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch.object(tasks.deliver_webhook, "apply_async", side_effect=refused) as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        create_item(project, developer, title="One")
        create_item(project, developer, title="Two")
    assert apply_async.call_count == 1  # the second publish waited out the pause instead of the broker
    assert "broker unreachable" in caplog.text
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 2

    with mock.patch.object(tasks.deliver_webhook, "apply_async") as apply_async:
        assert tasks.sweep_webhooks() == 0  # fresh rows are spared for a minute
        clock(local("2026-03-02T09:01"))
        assert tasks.sweep_webhooks() == 2
    for call in apply_async.call_args_list:
        tasks.deliver_webhook(*call.args[0])
    assert sorted(json.loads(r.body)["data"]["title"] for r in receiver.requests) == ["One", "Two"]


def test_an_event_nobody_subscribed_to_costs_one_query_and_many_webhooks_no_more(
    project, admin, developer, receiver, django_assert_num_queries
):
    item = create_item(project, developer)
    with django_assert_num_queries(1):
        receivers.item_updated(sender=None, item=item, changes={"title": {"old": "a", "new": "b"}})
    for path in ("/a", "/b", "/c"):
        webhooks.create_webhook(project=project, by=admin, url=receiver.url(path), events=["item.updated"])
    item = BacklogItem.objects.select_related("project", "status", "assignee").get(pk=item.pk)
    with django_assert_num_queries(2), mock.patch.object(tasks.deliver_webhook, "apply_async"):
        receivers.item_updated(sender=None, item=item, changes={"title": {"old": "a", "new": "b"}})
    assert WebhookDelivery.objects.count() == 3


# --- failures, back-off, auto-disable ----------------------------------------------------------


def test_a_failure_is_retried_with_back_off_and_logged(project, developer, hook, receiver, published, clock):
    receiver.script(Reply(500, body=b"database is down " * 100), Reply(200))
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_code) == (DeliveryState.PENDING, 1, 500)
    assert delivery.error.startswith("HTTP 500: database is down")
    assert len(delivery.error) <= 320  # a few hundred bytes of the body, not all of it
    assert delivery.next_attempt_at == local("2026-03-02T09:01")
    hook.refresh_from_db()
    assert hook.failures == 1

    tasks.deliver_webhook(delivery.pk)  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    with mock.patch.object(tasks.deliver_webhook, "apply_async") as apply_async:
        clock(local("2026-03-02T09:01:30"))
        assert tasks.sweep_webhooks() == 0  # due, but within the sweeper's minute of grace
        clock(local("2026-03-02T09:02"))
        assert tasks.sweep_webhooks() == 1
    apply_async.assert_called_once_with((delivery.pk,), retry=False)
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_code, delivery.error) == (
        DeliveryState.SENT,
        2,
        200,
        "",
    )
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [str(delivery.event_id)] * 2
    hook.refresh_from_db()
    assert hook.failures == 0  # a success resets the count


def test_back_off_doubles_and_the_delivery_fails_after_eight_attempts(
    project, developer, hook, receiver, published, clock, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 100
    receiver.script(Reply(503))
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _attempt in range(8):
        before = delivery.next_attempt_at
        clock(before)
        tasks.deliver_webhook(delivery.pk)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - before).total_seconds() // 60)
    assert waits[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert (delivery.state, delivery.attempts, delivery.response_code) == (DeliveryState.FAILED, 8, 503)
    assert len(receiver.requests) == 8
    tasks.deliver_webhook(delivery.pk)
    assert len(receiver.requests) == 8


def test_a_redirect_is_not_followed(project, developer, hook, receiver, published):
    receiver.script(Reply(302, headers={"Location": receiver.url("/elsewhere")}), Reply(200))
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert (delivery.state, delivery.response_code) == (DeliveryState.PENDING, 302)
    assert "Redirect not followed" in delivery.error and "/elsewhere" in delivery.error


def test_a_slow_receiver_times_out_and_the_timeout_is_logged(
    project, developer, hook, receiver, published, monkeypatch
):
    monkeypatch.setattr(ssrf, "TOTAL_TIMEOUT", 0.3)
    receiver.script(Reply(200, delay=1.0))
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == (DeliveryState.PENDING, 1, "Timed out.")
    assert delivery.response_code is None
    assert 250 <= delivery.response_ms < 1000


def test_a_receiver_dripping_bytes_is_cut_off_at_the_total_deadline(
    project, developer, hook, receiver, published, monkeypatch
):
    """Each byte comes well within a read timeout; the whole answer would take seconds."""
    monkeypatch.setattr(ssrf, "TOTAL_TIMEOUT", 0.5)
    receiver.script(Reply(200, drip=0.05))
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error) == (DeliveryState.PENDING, "Timed out.")
    assert 450 <= delivery.response_ms < 1500


def test_a_refused_connection_is_a_failed_attempt(project, admin, developer, published):
    with Receiver() as gone:
        url = gone.url()
    webhooks.create_webhook(project=project, by=admin, url=url, events=["item.created"])
    published(lambda: create_item(project, developer))
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and "ConnectionRefusedError" in delivery.error


def test_consecutive_failures_switch_the_webhook_off_and_switching_on_resets(
    project, admin, developer, hook, receiver, published, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.script(Reply(500))
    for title in ("One", "Two", "Three", "Four"):
        published(lambda title=title: create_item(project, developer, title=title))
    rows = list(WebhookDelivery.objects.order_by("pk"))
    for row in rows:
        tasks.deliver_webhook(row.pk)
    hook.refresh_from_db()
    assert hook.active is False and hook.failures == 3
    assert hook.disabled_reason == "Switched off after 3 failed deliveries in a row."
    assert len(receiver.requests) == 3  # the fourth was not sent to a switched-off webhook
    rows[3].refresh_from_db()
    assert rows[3].state == DeliveryState.FAILED and "switched off" in rows[3].error

    _item, ids = published(lambda: create_item(project, developer, title="Five"))
    assert ids == [] and WebhookDelivery.objects.count() == 4
    with pytest.raises(ConflictError):
        webhooks.redeliver(delivery=rows[0], by=admin)

    webhooks.update_webhook(webhook=hook, by=admin, active=True)
    hook.refresh_from_db()
    assert (hook.active, hook.failures, hook.disabled_reason) == (True, 0, "")


def test_redeliver_sends_the_same_event_again_as_a_new_row(project, admin, developer, hook, receiver, published):
    published(lambda: create_item(project, developer))
    first = WebhookDelivery.objects.get()
    tasks.deliver_webhook(first.pk)
    again, ids = published(lambda: webhooks.redeliver(delivery=first, by=admin))
    assert ids == [again.pk]
    assert (again.redelivery_of_id, again.event_id, again.state) == (first.pk, first.event_id, DeliveryState.PENDING)
    tasks.deliver_webhook(again.pk)
    first_body, second_body = (json.loads(r.body) for r in receiver.requests)
    assert first_body == second_body
    assert [r.headers["X-Scrumboard-Delivery"] for r in receiver.requests] == [str(first.pk), str(again.pk)]
    with pytest.raises(PermissionDenied):
        webhooks.redeliver(delivery=first, by=developer)


# --- every event's payload ---------------------------------------------------------------------


def _bodies(receiver) -> dict[str, list[dict]]:
    bodies: dict[str, list[dict]] = {}
    for request in receiver.requests:
        body = json.loads(request.body)
        bodies.setdefault(body["event"], []).append(body["data"])
    return bodies


def test_every_domain_event_reaches_the_receiver_as_small_json(
    project, scrum_master, developer, hook, receiver, clock, django_capture_on_commit_callbacks
):
    """A sprint's whole cycle: items, sprint start and end, a daily scrum, the retrospective, a release."""

    def deliver_all(write):
        with (
            mock.patch.object(tasks.deliver_webhook, "apply_async") as apply_async,
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = write()
        for call in apply_async.call_args_list:
            tasks.deliver_webhook(*call.args[0])
        return result

    sm = scrum_master
    clock(local("2026-02-27T12:00"))
    sprint = deliver_all(
        lambda: sprint_services.create_sprint(
            project=project, by=sm, start_date=datetime.date(2026, 3, 2), end_date=datetime.date(2026, 3, 13)
        )
    )
    item = deliver_all(lambda: create_item(project, sm, estimate="5", assignee=developer))
    other = deliver_all(lambda: create_item(project, sm, title="Other"))
    deliver_all(lambda: backlog_services.move_item(item=item, by=sm, sprint=sprint))
    deliver_all(lambda: backlog_services.move_item(item=other, by=sm, before=item))
    deliver_all(lambda: backlog_services.update_item(item=item, by=sm, title="Login", description="Long " * 500))
    deliver_all(lambda: backlog_services.delete_item(item=other, by=sm))
    clock(local("2026-03-02T09:00"))
    deliver_all(lambda: sprint_services.start_sprint(sprint=sprint, by=sm))
    meeting = standup_services.meeting_for(project=project, by=developer)
    standup_services.save_entry(meeting=meeting, by=developer, done="API", next="Tests")
    deliver_all(lambda: standup_services.end_meeting(meeting=meeting, by=sm))
    done = Status.objects.get(project=project, name="Done")
    clock(local("2026-03-12T12:00"))
    deliver_all(lambda: backlog_services.update_item(item=item, by=sm, status=done, override_reason="Checked"))
    clock(local("2026-03-13T16:00"))
    deliver_all(lambda: sprint_services.complete_sprint(sprint=sprint, by=sm))
    retro = Retrospective.objects.get(sprint=sprint)
    while retro.phase_index < PHASES.index(Phase.ACTIONS):
        retro = retro_services.advance_phase(retro=retro, by=sm)
    retro_services.add_action_item(retro=retro, by=sm, text="Pair on reviews", owner=developer)
    deliver_all(lambda: retro_services.close_retrospective(retro=retro, by=sm))
    release = roadmap_services.create_release(project=project, by=sm, version="1.0.0", name="First")
    deliver_all(lambda: roadmap_services.release_version(release=release, by=sm))

    bodies = _bodies(receiver)
    assert set(bodies) == set(EVERY_EVENT)
    assert bodies["item.created"][0] == {
        "key": "SB-1",
        "title": "Login form",
        "type": "story",
        "status": "To Do",
        "points": 5.0,
        "sprint": None,
        "assignee": developer.username,
    }
    assert len(bodies["item.created"]) == 3  # the two items and the retrospective's action item
    moved_into_sprint, reordered = bodies["item.moved"]
    assert moved_into_sprint["sprint"] == sprint.pk
    assert moved_into_sprint["changes"]["sprint"] == {"old": None, "new": {"id": sprint.pk, "name": sprint.name}}
    assert set(reordered["changes"]) == {"rank"}
    renamed, finished = bodies["item.updated"]
    assert renamed["changes"] == {"title": {"old": "Login form", "new": "Login"}, "description": {"changed": True}}
    assert finished["status"] == "Done"
    assert finished["changes"]["status"]["new"]["name"] == "Done"
    assert bodies["item.deleted"] == [
        {"key": "SB-2", "title": "Other", "type": "story", "status": "To Do", "points": None, "sprint": None,
         "assignee": None}
    ]  # fmt: skip
    started, completed = bodies["sprint.started"][0], bodies["sprint.completed"][0]
    assert started == {
        "id": sprint.pk,
        "name": sprint.name,
        "goal": "",
        "start_date": "2026-03-02",
        "end_date": "2026-03-13",
        "state": "active",
        "committed_points": 5.0,
        "completed_points": None,
    }
    assert (completed["state"], completed["committed_points"], completed["completed_points"]) == ("completed", 5, 5)
    scrum = bodies["daily_scrum.summary"][0]
    assert scrum["date"] == "2026-03-02" and scrum["sprint"] == sprint.pk
    assert developer.username in scrum["summary"]["reported"]
    closed = bodies["retrospective.closed"][0]
    assert (closed["id"], closed["title"]) == (retro.pk, retro.title)
    assert closed["action_items"] == [
        {"text": "Pair on reviews", "owner": developer.username, "due_date": None, "item": "SB-3"}
    ]
    released = bodies["release.released"][0]
    assert (released["version"], released["name"], released["released_on"]) == ("1.0.0", "First", "2026-03-13")
    assert isinstance(released["notes"], str)
    assert WebhookDelivery.objects.exclude(state=DeliveryState.SENT).count() == 0
