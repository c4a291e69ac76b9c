"""The webhook pages: the list with each webhook's state, the form (bad input saves nothing), the
signing secret shown once after create and rotate, delete, the delivery log in the project's time
zone, redelivery; roles, foreign ids, query counts. Every route x persona is in the matrix rows."""

import datetime
import re
from unittest import mock

import pytest
from django.urls import reverse

from integrations import tasks, webhook_views, webhooks
from integrations.models import DeliveryState, Webhook, WebhookDelivery
from projects.models import Project
from tests.factories import make_member, make_project
from tests.html_safety import unsafe_parts
from tests.integrations.matrix_rows import PUBLIC_URL, log_entry

pytestmark = pytest.mark.django_db

PAGE_TAGS = frozenset({"script", "form", "link", "meta", "svg"})
EVIL = "<script>alert(1)</script>"
OTHER_URL = "https://93.184.215.15/other"


def url(name: str, key: str = "SB", **kwargs) -> str:
    return reverse(f"integrations:{name}", kwargs={"key": key, **kwargs})


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def secret_shown(html: str) -> str | None:
    match = re.search(r'id="signing-secret"[^>]*value="([0-9a-f]+)"', html)
    return match.group(1) if match else None


@pytest.fixture
def sm_client(client, scrum_master):
    client.force_login(scrum_master)
    return client


@pytest.fixture
def hook(project, admin) -> Webhook:
    return webhooks.create_webhook(project=project, by=admin, url=PUBLIC_URL, events=["item.created"])


def delivered(hook: Webhook, *, state: str = DeliveryState.FAILED, code: int | None = 500, error: str = "HTTP 500"):
    row = log_entry(hook)
    WebhookDelivery.objects.filter(pk=row.pk).update(
        state=state, attempts=1, response_code=code, response_ms=1234, error=error
    )
    row.refresh_from_db()
    return row


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_each_webhooks_state_events_and_last_delivery(sm_client, project, admin, hook):
    delivered(hook, state=DeliveryState.SENT, code=204, error="")
    failing = webhooks.create_webhook(
        project=project, by=admin, url=OTHER_URL, events=["sprint.started", "release.released"]
    )
    Webhook.objects.filter(pk=failing.pk).update(failures=3)
    disabled = webhooks.create_webhook(project=project, by=admin, url=PUBLIC_URL + "/off", events=["item.moved"])
    Webhook.objects.filter(pk=disabled.pk).update(active=False, failures=10, disabled_reason="Switched off: 10 fails.")
    webhooks.create_webhook(project=project, by=admin, url=PUBLIC_URL + "/paused", events=["item.moved"], active=False)
    html = html_of(sm_client.get(url("webhooks")))
    assert PUBLIC_URL in html and OTHER_URL in html
    assert "Sprint started, Release released" in html
    assert "3 failed deliveries in a row" in html
    assert "Disabled" in html and "Switched off: 10 fails." in html
    assert "Paused" in html
    assert "Sent" in html and "204" in html
    assert html.count(url("webhook_deliveries", pk=hook.pk)) == 1


def test_the_list_explains_webhooks_when_there_are_none(sm_client):
    html = html_of(sm_client.get(url("webhooks")))
    assert "No webhooks yet" in html
    assert url("webhook_create") in html


def test_the_integrations_tab_shows_only_to_those_who_manage_integrations(client, project, scrum_master, developer):
    backlog = reverse("backlog:list", kwargs={"key": "SB"})
    client.force_login(scrum_master)
    assert url("webhooks") in html_of(client.get(backlog))
    devops = make_member(project, "devops").user
    client.force_login(devops)
    assert url("webhooks") in html_of(client.get(backlog))
    assert client.get(url("webhooks")).status_code == 200
    client.force_login(developer)
    assert url("webhooks") not in html_of(client.get(backlog))
    assert client.get(url("webhooks")).status_code == 403


def test_another_projects_webhook_is_not_found_through_yours(sm_client, hook):
    other = make_project(key="XX")
    theirs = webhooks.create_webhook(
        project=other, by=other.memberships.get().user, url=PUBLIC_URL, events=["item.created"]
    )
    row = delivered(theirs)
    for name in ("webhook_edit", "webhook_deliveries"):
        assert sm_client.get(url(name, pk=theirs.pk)).status_code == 404
    for name in ("webhook_edit", "webhook_delete", "webhook_rotate_secret"):
        assert sm_client.post(url(name, pk=theirs.pk), {"url": OTHER_URL, "events": ["item.moved"]}).status_code == 404
    assert sm_client.post(url("webhook_redeliver", pk=theirs.pk, delivery_id=row.pk)).status_code == 404
    assert sm_client.post(url("webhook_redeliver", pk=hook.pk, delivery_id=row.pk)).status_code == 404
    assert sm_client.get(url("webhook_edit", pk=10**25)).status_code == 404
    theirs_now = Webhook.objects.get(pk=theirs.pk)
    assert (theirs_now.url, theirs_now.secret_salt) == (PUBLIC_URL, theirs.secret_salt)
    assert WebhookDelivery.objects.count() == 1


# --- create, edit, the secret -------------------------------------------------------------------


def test_the_form_offers_every_event_with_its_label(sm_client):
    html = html_of(sm_client.get(url("webhook_create")))
    for value, label in (("item.created", "Item created"), ("daily_scrum.summary", "Daily scrum summary")):
        assert f'value="{value}"' in html and label in html
    assert 'name="active"' in html and "checked" in html


def test_creating_shows_the_signing_secret_once_with_how_to_verify(sm_client, project):
    response = sm_client.post(
        url("webhook_create"), {"url": PUBLIC_URL, "events": ["sprint.completed", "item.created"], "active": "on"}
    )
    hook = Webhook.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == url("webhook_edit", pk=hook.pk)
    assert (hook.url, hook.events, hook.active) == (PUBLIC_URL, ["item.created", "sprint.completed"], True)
    page = sm_client.get(response["Location"])
    html = html_of(page)
    assert secret_shown(html) == webhooks.signing_secret(hook)
    assert "X-Scrumboard-Signature: t=&lt;unix time&gt;,v1=&lt;signature&gt;" in html
    assert "hmac.compare_digest" in html
    assert "no-cache" in page["Cache-Control"] and "no-store" in page["Cache-Control"]
    assert secret_shown(html_of(sm_client.get(response["Location"]))) is None  # once


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "", "events": ["item.created"]}, "url", "This field is required."),
        ({"url": PUBLIC_URL}, "events", "Choose at least one event."),
        ({"url": PUBLIC_URL, "events": ["item.exploded"]}, "events", "Select a valid choice."),
        ({"url": "https://" + "a" * 500 + ".example.com", "events": ["item.created"]}, "url", "at most 500"),
        ({"url": "http://127.0.0.1:8000/hook", "events": ["item.created"]}, "url", "private"),
        ({"url": "http://169.254.169.254/latest/", "events": ["item.created"]}, "url", "private"),
        ({"url": "http://2130706433/", "events": ["item.created"]}, "url", "dotted form"),
        ({"url": "https://me:pw@93.184.215.14/", "events": ["item.created"]}, "url", "password"),
        ({"url": "javascript:alert(1)", "events": ["item.created"]}, "url", "http"),
    ],
)
def test_bad_input_shows_on_the_form_and_saves_nothing(sm_client, data, field, message):
    response = sm_client.post(url("webhook_create"), data)
    html = html_of(response)
    errors = " ".join(str(error) for error in response.context["form"].errors.get(field, []))
    assert message in errors, response.context["form"].errors
    assert "has-error" in html
    assert not Webhook.objects.exists()


def test_editing_saves_and_switching_on_again_clears_failures(sm_client, hook):
    Webhook.objects.filter(pk=hook.pk).update(active=False, failures=10, disabled_reason="Too many failures.")
    html = html_of(sm_client.get(url("webhook_edit", pk=hook.pk)))
    assert "Too many failures." in html and secret_shown(html) is None
    response = sm_client.post(
        url("webhook_edit", pk=hook.pk), {"url": OTHER_URL, "events": ["release.released"], "active": "on"}
    )
    assert response.status_code == 302 and response["Location"] == url("webhooks")
    hook.refresh_from_db()
    assert (hook.url, hook.events, hook.active, hook.failures, hook.disabled_reason) == (
        OTHER_URL,
        ["release.released"],
        True,
        0,
        "",
    )


def test_a_refused_edit_keeps_the_input_and_changes_nothing(sm_client, hook):
    response = sm_client.post(url("webhook_edit", pk=hook.pk), {"url": "http://10.0.0.5/hook", "events": []})
    html = html_of(response)
    assert set(response.context["form"].errors) == {"url", "events"}  # both at once
    response = sm_client.post(
        url("webhook_edit", pk=hook.pk), {"url": "http://10.0.0.5/hook", "events": ["item.moved"]}
    )
    html = html_of(response)
    assert "private" in " ".join(response.context["form"].errors["url"])
    assert "http://10.0.0.5/hook" in html
    hook.refresh_from_db()
    assert (hook.url, hook.events) == (PUBLIC_URL, ["item.created"])


def test_rotating_shows_the_new_secret_once(sm_client, hook):
    old = webhooks.signing_secret(hook)
    response = sm_client.post(url("webhook_rotate_secret", pk=hook.pk))
    assert response.status_code == 302 and response["Location"] == url("webhook_edit", pk=hook.pk)
    hook.refresh_from_db()
    new = webhooks.signing_secret(hook)
    assert new != old
    assert secret_shown(html_of(sm_client.get(response["Location"]))) == new
    assert secret_shown(html_of(sm_client.get(response["Location"]))) is None


def test_deleting_removes_the_webhook_and_its_log(sm_client, hook):
    delivered(hook)
    assert sm_client.get(url("webhook_delete", pk=hook.pk)).status_code == 405
    response = sm_client.post(url("webhook_delete", pk=hook.pk), follow=True)
    assert "deleted" in " ".join(messages_of(response))
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


# --- the delivery log ---------------------------------------------------------------------------


def test_the_log_shows_each_delivery_in_the_projects_time_zone(sm_client, project, hook, time_machine):
    Project.objects.filter(pk=project.pk).update(timezone="Asia/Tokyo")
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 5, tzinfo=datetime.UTC), tick=False)
    failed = delivered(hook, error=f"HTTP 500: {EVIL}")
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC), tick=False)
    sent = delivered(hook, state=DeliveryState.SENT, code=200, error="")
    html = html_of(sm_client.get(url("webhook_deliveries", pk=hook.pk)))
    assert "Time (Asia/Tokyo)" in html
    assert html.index("2026-03-02 18:30:00") < html.index("2026-03-02 18:00:05")  # newest first, in Tokyo time
    assert "1234 ms" in html and "item.created" in html
    assert ">500<" in html and ">200<" in html
    assert "HTTP 500: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert unsafe_parts(html, allow_tags=PAGE_TAGS) == []
    for row in (failed, sent):
        assert url("webhook_redeliver", pk=hook.pk, delivery_id=row.pk) in html


def test_the_log_pages_back_through_older_deliveries(sm_client, hook, monkeypatch):
    monkeypatch.setattr(webhook_views, "LOG_PAGE", 2)
    rows = [delivered(hook) for _ in range(5)]
    first = sm_client.get(url("webhook_deliveries", pk=hook.pk))
    assert [row.pk for row in first.context["deliveries"]] == [rows[4].pk, rows[3].pk]
    assert first.context["older"] == rows[3].pk
    second = sm_client.get(url("webhook_deliveries", pk=hook.pk), {"before": rows[3].pk})
    assert [row.pk for row in second.context["deliveries"]] == [rows[2].pk, rows[1].pk]
    third = sm_client.get(url("webhook_deliveries", pk=hook.pk), {"before": rows[1].pk})
    assert [row.pk for row in third.context["deliveries"]] == [rows[0].pk] and third.context["older"] is None
    for junk in ("abc", "-1", "9" * 40, ""):
        assert sm_client.get(url("webhook_deliveries", pk=hook.pk), {"before": junk}).status_code == 200


def test_redeliver_queues_the_delivery_again_at_the_top_of_the_log(sm_client, hook):
    original = delivered(hook)
    with mock.patch.object(tasks.deliver_webhook, "apply_async"):
        response = sm_client.post(url("webhook_redeliver", pk=hook.pk, delivery_id=original.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("webhook_deliveries", pk=hook.pk)
    assert "queued again" in " ".join(messages_of(response))
    again = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert (again.redelivery_of_id, again.event_id, again.state) == (original.pk, original.event_id, "pending")
    assert response.context["deliveries"][0].pk == again.pk


def test_redelivering_through_a_switched_off_webhook_says_why_and_queues_nothing(sm_client, hook):
    original = delivered(hook)
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    response = sm_client.post(url("webhook_redeliver", pk=hook.pk, delivery_id=original.pk), follow=True)
    assert "switched off" in " ".join(messages_of(response))
    assert WebhookDelivery.objects.count() == 1


def test_the_log_explains_an_empty_log(sm_client, hook):
    assert "No deliveries yet" in html_of(sm_client.get(url("webhook_deliveries", pk=hook.pk)))


# --- query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_the_list_page_runs_a_constant_number_of_queries(sm_client, project, admin, count, django_assert_num_queries):
    for number in range(count):
        hook = webhooks.create_webhook(project=project, by=admin, url=f"{PUBLIC_URL}/{number}", events=["item.created"])
        delivered(hook)
    sm_client.get(url("webhooks"))  # warm the session and the translations
    with django_assert_num_queries(5):  # session, user, project, membership, webhooks with their last delivery
        html = html_of(sm_client.get(url("webhooks")))
    assert html.count("HTTP") == 0 and html.count(">Failed<") == count


@pytest.mark.parametrize("count", [1, 12])
def test_the_delivery_log_page_runs_a_constant_number_of_queries(sm_client, hook, count, django_assert_num_queries):
    for _ in range(count):
        delivered(hook)
    sm_client.get(url("webhook_deliveries", pk=hook.pk))
    with django_assert_num_queries(6):  # session, user, project, membership, webhook, deliveries
        html = html_of(sm_client.get(url("webhook_deliveries", pk=hook.pk)))
    assert html.count(">Redeliver<") == count
