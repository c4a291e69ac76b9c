"""The webhook API: subscriptions, the signing secret (create and rotate only), the delivery log,
redelivery; validation (the SSRF guard's refusals on "url"), ETags, roles, foreign ids, query counts,
the schema. The matrix rows (tests/integrations/matrix_rows.py) cover every route x persona."""

import hashlib
import hmac
import json
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from integrations import tasks, webhooks
from integrations.models import DeliveryState, Webhook, WebhookDelivery
from integrations.services import create_token
from tests.factories import make_member, make_project
from tests.integrations.matrix_rows import PUBLIC_URL, log_entry
from tests.integrations.webhook_receiver import Receiver, Reply

OTHER_URL = "https://93.184.215.15/other"
WEBHOOK_FIELDS = {
    "id",
    "url",
    "events",
    "active",
    "state",
    "failures",
    "disabled_reason",
    "created_by",
    "created_at",
    "updated_at",
}
DELIVERY_FIELDS = {
    "id",
    "event_id",
    "event",
    "state",
    "attempts",
    "response_code",
    "response_ms",
    "error",
    "redelivery_of",
    "created_at",
    "next_attempt_at",
    "sent_at",
}


def url(name: str, key: str = "SB", **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"key": key, **kwargs})


def assert_error(response, status: int, fields: set[str] | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "detail", "errors"}
    if fields is not None:
        assert set(body["errors"]) == fields
    return body


@pytest.fixture
def sm(api, scrum_master):
    return api.as_(scrum_master)


@pytest.fixture
def hook(project, admin) -> Webhook:
    return webhooks.create_webhook(project=project, by=admin, url=PUBLIC_URL, events=["item.created"])


def delivered(hook: Webhook, *, state: str = DeliveryState.FAILED, code: int | None = 500) -> WebhookDelivery:
    """A logged delivery, as the worker leaves it after one attempt."""
    row = log_entry(hook)
    WebhookDelivery.objects.filter(pk=row.pk).update(
        state=state, attempts=1, response_code=code, response_ms=42, error="HTTP 500: boom" if code else ""
    )
    row.refresh_from_db()
    return row


# --- subscriptions ---------------------------------------------------------------------------


def test_creating_a_webhook_returns_it_with_its_signing_secret_once(sm, project, scrum_master):
    response = sm.post(
        url("webhook-list"), {"url": PUBLIC_URL, "events": ["sprint.started", "item.created"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    hook = Webhook.objects.get(project=project)
    assert body["secret"] == webhooks.signing_secret(hook)
    assert body["events"] == ["item.created", "sprint.started"]  # the list's order
    assert body["state"] == "active" and body["active"] is True and body["failures"] == 0
    assert body["created_by"] == scrum_master.username
    assert response["ETag"]
    # Afterwards the secret is in no response: list, detail, log.
    for later in (url("webhook-list"), url("webhook-detail", pk=hook.pk), url("webhook-deliveries", pk=hook.pk)):
        answer = sm.get(later)
        assert answer.status_code == 200
        assert body["secret"] not in answer.content.decode()
        assert "secret" not in answer.content.decode()


def test_the_list_and_the_detail_show_state_and_failures(sm, hook):
    Webhook.objects.filter(pk=hook.pk).update(active=False, failures=10, disabled_reason="Switched off after 10.")
    listed = sm.get(url("webhook-list")).json()
    assert set(listed) == {"next", "previous", "results"}
    (row,) = listed["results"]
    assert set(row) == WEBHOOK_FIELDS
    assert (row["state"], row["failures"], row["disabled_reason"]) == ("disabled", 10, "Switched off after 10.")
    detail = sm.get(url("webhook-detail", pk=hook.pk))
    assert detail.json() == row
    assert detail["ETag"]
    Webhook.objects.filter(pk=hook.pk).update(disabled_reason="")
    assert sm.get(url("webhook-detail", pk=hook.pk)).json()["state"] == "paused"


def test_a_devops_engineer_manages_webhooks_and_other_roles_get_403(api, project, developer, stakeholder, hook):
    devops = make_member(project, "devops").user
    assert api.as_(devops).get(url("webhook-list")).status_code == 200
    for user in (developer, stakeholder):
        client = api.as_(user)
        assert_error(client.get(url("webhook-detail", pk=hook.pk)), 403)
        assert_error(client.get(url("webhook-deliveries", pk=hook.pk)), 403)
        assert_error(client.post(url("webhook-list"), {"url": PUBLIC_URL, "events": ["item.created"]}), 403)
    assert Webhook.objects.count() == 1


def test_a_non_member_gets_404_and_a_read_only_token_cannot_write(api, project, outsider, scrum_master, hook):
    assert_error(api.as_(outsider).get(url("webhook-list")), 404)
    assert_error(api.as_(outsider).get(url("webhook-detail", pk=hook.pk)), 404)
    _token, raw = create_token(user=scrum_master, name="ro", scope="read")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(url("webhook-detail", pk=hook.pk)).status_code == 200
    assert_error(client.post(url("webhook-rotate-secret", pk=hook.pk)), 403)
    assert_error(client.patch(url("webhook-detail", pk=hook.pk), {"active": False}, format="json"), 403)
    hook.refresh_from_db()
    assert hook.active


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["item.created"]}, "url"),
        ({"url": "", "events": ["item.created"]}, "url"),
        ({"url": "not a url", "events": ["item.created"]}, "url"),
        ({"url": "https://" + "a" * 500 + ".example.com/", "events": ["item.created"]}, "url"),
        ({"url": PUBLIC_URL}, "events"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": ["item.exploded"]}, "events"),
        ({"url": PUBLIC_URL, "events": "item.created"}, "events"),
        ({"url": PUBLIC_URL, "events": [["item.created"]]}, "events"),
        ({"url": PUBLIC_URL, "events": ["item.created"], "active": "maybe"}, "active"),
        ({"url": ["https://93.184.215.14/"], "events": ["item.created"]}, "url"),
    ],
)
def test_bad_input_is_400_on_its_field_and_creates_nothing(sm, body, field):
    body = assert_error(sm.post(url("webhook-list"), body, format="json"), 400, {field})
    assert body["type"] == "validation_error" and body["errors"][field][0]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("http://127.0.0.1/hook", "private"),
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "private"),
        ("http://[::1]/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "private"),
        ("http://100.64.0.1/hook", "private"),
        ("http://2130706433/hook", "dotted"),
        ("http://0x7f000001/hook", "dotted"),
        ("ftp://93.184.215.14/hook", "http"),
        ("https://user:pw@93.184.215.14/hook", "password"),
    ],
)
def test_a_url_the_ssrf_guard_refuses_is_400_on_url(sm, hook, target, says):
    created = sm.post(url("webhook-list"), {"url": target, "events": ["item.created"]}, format="json")
    assert says in assert_error(created, 400, {"url"})["errors"]["url"][0]
    changed = sm.patch(url("webhook-detail", pk=hook.pk), {"url": target}, format="json")
    assert says in assert_error(changed, 400, {"url"})["errors"]["url"][0]
    assert list(Webhook.objects.values_list("url", flat=True)) == [PUBLIC_URL]


def test_a_body_that_is_not_an_object_is_400(sm):
    response = sm.generic("POST", url("webhook-list"), json.dumps(["x"]), content_type="application/json")
    assert_error(response, 400, {"non_field_errors"})
    response = sm.generic("POST", url("webhook-list"), "{not json", content_type="application/json")
    assert_error(response, 400)


def test_patch_changes_only_what_it_names(sm, hook):
    response = sm.patch(url("webhook-detail", pk=hook.pk), {"events": ["release.released"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["events"] == ["release.released"]
    hook.refresh_from_db()
    assert (hook.url, hook.events, hook.active) == (PUBLIC_URL, ["release.released"], True)
    response = sm.patch(url("webhook-detail", pk=hook.pk), {"url": OTHER_URL}, format="json")
    assert response.json()["url"] == OTHER_URL


def test_switching_a_disabled_webhook_on_again_clears_its_failures(sm, hook):
    Webhook.objects.filter(pk=hook.pk).update(active=False, failures=10, disabled_reason="Too many failures.")
    body = sm.patch(url("webhook-detail", pk=hook.pk), {"active": True}, format="json").json()
    assert (body["state"], body["failures"], body["disabled_reason"]) == ("active", 0, "")


def test_a_stale_if_match_is_412_and_changes_nothing(sm, hook):
    etag = sm.get(url("webhook-detail", pk=hook.pk))["ETag"]
    first = sm.patch(url("webhook-detail", pk=hook.pk), {"active": False}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert first["ETag"] != etag
    second = sm.patch(url("webhook-detail", pk=hook.pk), {"url": OTHER_URL}, format="json", HTTP_IF_MATCH=etag)
    assert_error(second, 412)
    assert_error(sm.delete(url("webhook-detail", pk=hook.pk), HTTP_IF_MATCH=etag), 412)
    hook.refresh_from_db()
    assert hook.url == PUBLIC_URL


def test_deleting_a_webhook_takes_its_log(sm, hook):
    delivered(hook)
    assert sm.delete(url("webhook-detail", pk=hook.pk)).status_code == 204
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()
    assert_error(sm.get(url("webhook-detail", pk=hook.pk)), 404)


def test_deleting_a_webhook_with_a_redelivery_takes_both(sm, hook):
    """SET_NULL on the redelivery made it a second original of its event for a moment: refused, a 500."""
    original = delivered(hook)
    with mock.patch.object(tasks.deliver_webhook, "apply_async"):
        assert sm.post(url("webhook-redeliver", pk=hook.pk, delivery_id=original.pk)).status_code == 201
    assert sm.delete(url("webhook-detail", pk=hook.pk)).status_code == 204
    assert not WebhookDelivery.objects.exists()


def test_rotating_the_secret_returns_the_new_one_and_the_old_one_stops(sm, hook):
    old = webhooks.signing_secret(hook)
    response = sm.post(url("webhook-rotate-secret", pk=hook.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    hook.refresh_from_db()
    assert body["secret"] == webhooks.signing_secret(hook) != old


# --- the delivery log and redelivery -----------------------------------------------------------


def test_the_delivery_log_lists_newest_first_with_the_attempts_outcome(sm, hook):
    older = delivered(hook)
    newer = delivered(hook, state=DeliveryState.SENT, code=200)
    body = sm.get(url("webhook-deliveries", pk=hook.pk)).json()
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    first, second = body["results"]
    assert set(first) == DELIVERY_FIELDS
    assert (first["event"], first["state"], first["response_code"], first["response_ms"]) == (
        "item.created",
        "sent",
        200,
        42,
    )
    assert (second["state"], second["attempts"], second["error"]) == ("failed", 1, "HTTP 500: boom")
    assert first["event_id"] == str(newer.event_id)


def test_the_delivery_log_filters_by_state_and_event_and_pages_by_cursor(sm, hook):
    failed = delivered(hook)
    delivered(hook, state=DeliveryState.SENT, code=200)
    only_failed = sm.get(url("webhook-deliveries", pk=hook.pk), {"state": "failed"}).json()["results"]
    assert [row["id"] for row in only_failed] == [failed.pk]
    assert sm.get(url("webhook-deliveries", pk=hook.pk), {"event": "sprint.started"}).json()["results"] == []
    assert_error(sm.get(url("webhook-deliveries", pk=hook.pk), {"state": "exploded"}), 400, {"state"})
    assert_error(sm.get(url("webhook-deliveries", pk=hook.pk), {"event": "x"}), 400, {"event"})
    page = sm.get(url("webhook-deliveries", pk=hook.pk), {"limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    rest = sm.get(page["next"]).json()
    assert [row["id"] for row in rest["results"]] == [failed.pk] and rest["next"] is None


def test_redelivering_queues_the_same_event_as_a_new_row(sm, hook):
    original = delivered(hook)
    with mock.patch.object(tasks.deliver_webhook, "apply_async"):
        response = sm.post(url("webhook-redeliver", pk=hook.pk, delivery_id=original.pk))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DELIVERY_FIELDS
    assert (body["state"], body["attempts"], body["redelivery_of"]) == ("pending", 0, original.pk)
    again = WebhookDelivery.objects.get(pk=body["id"])
    assert (again.event_id, again.payload) == (original.event_id, original.payload)
    assert sm.get(url("webhook-deliveries", pk=hook.pk)).json()["results"][0]["id"] == again.pk


def test_redelivering_through_a_switched_off_webhook_is_409(sm, hook):
    original = delivered(hook)
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    assert_error(sm.post(url("webhook-redeliver", pk=hook.pk, delivery_id=original.pk)), 409)
    assert WebhookDelivery.objects.count() == 1


def test_another_webhooks_delivery_is_not_found_under_yours(sm, project, admin, hook):
    mine = delivered(hook)
    sibling = webhooks.create_webhook(project=project, by=admin, url=OTHER_URL, events=["item.created"])
    other = make_project(key="XX")
    foreign = webhooks.create_webhook(
        project=other, by=other.memberships.get().user, url=PUBLIC_URL, events=["item.created"]
    )
    theirs = delivered(foreign)
    assert_error(sm.post(url("webhook-redeliver", pk=hook.pk, delivery_id=theirs.pk)), 404)
    assert_error(sm.post(url("webhook-redeliver", pk=sibling.pk, delivery_id=mine.pk)), 404)
    assert_error(sm.get(url("webhook-deliveries", pk=foreign.pk)), 404)
    assert_error(sm.get(url("webhook-deliveries", key="XX", pk=foreign.pk)), 404)
    huge = 10**25  # past every integer column: still a plain 404
    assert_error(sm.get(url("webhook-detail", pk=huge)), 404)
    assert_error(sm.post(url("webhook-redeliver", pk=hook.pk, delivery_id=huge)), 404)
    assert WebhookDelivery.objects.count() == 2


def test_the_secret_from_create_verifies_a_real_delivery_and_the_log_shows_it(sm, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with Receiver() as receiver:
        receiver.script(Reply(status=202))
        created = sm.post(url("webhook-list"), {"url": receiver.url(), "events": ["item.created"]}, format="json")
        hook = Webhook.objects.get(pk=created.json()["id"])
        webhooks.deliver(log_entry(hook).pk)
    (request,) = receiver.requests
    timestamp, signature = (part.split("=", 1)[1] for part in request.headers["X-Scrumboard-Signature"].split(","))
    expected = hmac.new(
        created.json()["secret"].encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, signature)
    (row,) = sm.get(url("webhook-deliveries", pk=hook.pk)).json()["results"]
    assert (row["state"], row["attempts"], row["response_code"], row["error"]) == ("sent", 1, 202, "")
    assert row["response_ms"] is not None and row["sent_at"]


# --- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_the_webhook_list_runs_a_constant_number_of_queries(sm, project, admin, count, django_assert_num_queries):
    for number in range(count):
        webhooks.create_webhook(project=project, by=admin, url=f"{PUBLIC_URL}/{number}", events=["item.created"])
    with django_assert_num_queries(3):  # project, membership, webhooks with their creators
        response = sm.get(url("webhook-list"))
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [1, 12])
def test_the_delivery_log_runs_a_constant_number_of_queries(sm, hook, count, django_assert_num_queries):
    for _ in range(count):
        delivered(hook)
    with django_assert_num_queries(4):  # project, membership, webhook, deliveries
        response = sm.get(url("webhook-deliveries", pk=hook.pk))
    assert len(response.json()["results"]) == count


# --- the schema --------------------------------------------------------------------------------


def test_the_schema_documents_the_webhook_routes_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/v1/projects/{key}/webhooks/:",
        "/api/v1/projects/{key}/webhooks/{id}/:",
        "/api/v1/projects/{key}/webhooks/{id}/rotate-secret/:",
        "/api/v1/projects/{key}/webhooks/{id}/deliveries/:",
        "/api/v1/projects/{key}/webhooks/{id}/deliveries/{delivery_id}/redeliver/:",
    ):
        assert path in schema
    assert "WebhookWithSecret" in schema
