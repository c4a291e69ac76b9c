"""Webhook delivery through a real Celery worker on a real Redis, to a receiver on 127.0.0.1.

The worker reads the test database, so rows must be committed (transactional tests,
PostgreSQL); each test has a redis-server of its own (tests.worker), which one test stops and
starts again. The worker signs with the same WEBHOOK_SIGNING_KEY as the test, so the test
verifies signatures as a receiver would, with the secret the API shows.
"""

import hashlib
import hmac
import json
import re
import time

import pytest
from django.utils import timezone

from integrations import tasks, webhooks
from integrations.models import DeliveryState, WebhookDelivery
from scrumboard import outbox
from tests.integrations.webhook_receiver import Receiver, Reply
from tests.notifications.worker_support import Worker, reset_publisher, wait_for

# The real-worker fixtures: redis_server, mail_log, start_worker.
pytest_plugins = ["tests.worker"]
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SIGNING_KEY = "webhook-worker-test-signing-key"
WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": "1", "WEBHOOK_SIGNING_KEY": SIGNING_KEY}
DELIVERY_TIMEOUT = 30
ITEMS = "/api/v1/projects/SB/items/"


@pytest.fixture(autouse=True)
def _signing(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver listens on 127.0.0.1
    settings.WEBHOOK_SIGNING_KEY = SIGNING_KEY


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def hook(team, receiver):
    return webhooks.create_webhook(project=team.project, by=team.admin, url=receiver.url(), events=["item.created"])


def verifies(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (the README's Python example)."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def create_item(api, team, title: str) -> dict:
    response = api.as_(team.developer).post(ITEMS, {"title": title}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def delivered(*workers: Worker) -> WebhookDelivery:
    """Waits until every delivery row is sent; returns the only one."""
    rows = WebhookDelivery.objects.all()
    if not wait_for(
        lambda: rows.exists() and not rows.exclude(state=DeliveryState.SENT).exists(),
        timeout=DELIVERY_TIMEOUT,
        workers=workers,
    ):
        states = list(rows.values("pk", "state", "attempts", "response_code", "error"))
        pytest.fail(f"not delivered within {DELIVERY_TIMEOUT} s: {states}\n" + "\n".join(w.log() for w in workers))
    (row,) = rows
    return row


def finished(worker: Worker, task, count: int) -> None:
    """Waits until the worker has finished ``count`` runs of ``task`` (its log says so)."""
    pattern = re.compile(rf"Task {re.escape(task.name)}\[[^]]+\] succeeded")
    if not wait_for(lambda: len(pattern.findall(worker.log())) >= count, timeout=DELIVERY_TIMEOUT, workers=(worker,)):
        pytest.fail(f"{task.name} did not finish {count} times:\n{worker.log()}")


def assert_signed_event(request, hook, row: WebhookDelivery, item: dict) -> None:
    body = json.loads(request.body)
    assert (body["event"], body["id"], body["data"]["key"]) == ("item.created", str(row.event_id), item["key"])
    assert request.headers["X-Scrumboard-Event"] == "item.created"
    assert request.headers["X-Scrumboard-Delivery"] == str(row.pk)
    assert verifies(webhooks.signing_secret(hook), request.headers["X-Scrumboard-Signature"], request.body)


def test_an_item_created_through_the_api_is_delivered_once_and_signed(api, team, hook, receiver, start_worker):
    worker = start_worker(**WORKER_ENV)

    item = create_item(api, team, "Login form")

    row = delivered(worker)
    assert (row.attempts, row.response_code, row.error) == (1, 200, "")
    # A sweep after it finds nothing due; once the worker has run it, every message queued
    # earlier has been handled (one process, one child, in order): no second request came.
    tasks.sweep_webhooks.apply_async(kwargs={"grace_seconds": 0})
    finished(worker, tasks.sweep_webhooks, 1)
    (request,) = receiver.requests
    assert_signed_event(request, hook, row, item)


def test_a_receiver_answering_500_then_200_gets_the_retry_and_the_log_shows_both(
    api, team, hook, receiver, start_worker
):
    receiver.script(Reply(status=500, body=b"try again later"), Reply(status=200))
    worker = start_worker(**WORKER_ENV)

    item = create_item(api, team, "Flaky receiver")

    rows = WebhookDelivery.objects.filter(attempts=1, state=DeliveryState.PENDING)
    assert wait_for(rows.exists, timeout=DELIVERY_TIMEOUT, workers=(worker,)), worker.log()
    first = rows.get()
    assert (first.response_code, first.error) == (500, "HTTP 500: try again later")
    assert first.next_attempt_at > timezone.now()  # backing off: the sweeper leaves it for now
    # The one-minute back-off, over; the beat's sweep (run by the worker) queues the retry.
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    tasks.sweep_webhooks.apply_async(kwargs={"grace_seconds": 0})

    row = delivered(worker)
    assert (row.pk, row.attempts, row.response_code, row.error) == (first.pk, 2, 200, "")
    assert len(receiver.requests) == 2
    for request in receiver.requests:  # the same event, delivery and body, signed each time
        assert_signed_event(request, hook, row, item)
    assert receiver.requests[0].body == receiver.requests[1].body
    # The delivery log: the API's row, and the worker's line for each attempt.
    log = api.as_(team.admin).get(f"/api/v1/projects/SB/webhooks/{hook.pk}/deliveries/").json()["results"]
    assert [(d["id"], d["state"], d["attempts"], d["response_code"]) for d in log] == [(row.pk, "sent", 2, 200)]
    worker_log = worker.log()
    prefix = f"webhook delivery {row.pk} (item.created to webhook {hook.pk})"
    assert re.search(rf"{re.escape(prefix)}: pending, code 500, \d+ ms, attempt 1", worker_log), worker_log
    assert re.search(rf"{re.escape(prefix)}: sent, code 200, \d+ ms, attempt 2", worker_log), worker_log


def test_an_item_created_while_redis_is_down_is_saved_and_the_sweep_delivers_it_once(
    api, team, hook, receiver, redis_server, start_worker
):
    worker = start_worker(**WORKER_ENV)
    worker.wait_ready()
    redis_server.stop()

    started = time.monotonic()
    item = create_item(api, team, "Written while Redis is down")
    took = time.monotonic() - started

    # One refused publish (the transport's max_retries is 0), then the pause: the request did not wait.
    assert took < 2, f"creating the item took {took:.1f} s with the broker down"
    assert outbox.broker_paused()
    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)

    redis_server.start()  # the same port, empty (no persistence)
    outbox.resume()  # as if the 30 s pause were over
    reset_publisher()
    # Two sweeps, as from two beats: both queue the row before it is delivered; the second delivery finds it sent.
    tasks.sweep_webhooks.apply_async(kwargs={"grace_seconds": 0})
    tasks.sweep_webhooks.apply_async(kwargs={"grace_seconds": 0})

    row = delivered(worker)
    finished(worker, tasks.deliver_webhook, 2)
    assert row.attempts == 1
    (request,) = receiver.requests
    assert_signed_event(request, hook, row, item)
    assert "Connection to broker lost" in worker.log()  # the same worker rode out the outage
