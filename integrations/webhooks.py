"""Outbound webhooks: subscriptions, the delivery outbox, signing and sending.

``enqueue`` writes one WebhookDelivery per subscribed webhook inside the caller's transaction
(domain apps reach it through signals, see receivers.py); after the commit each row is handed
to Celery. Delivery is idempotent under a row lock and backs off after a failure; rows the
broker never got (it was down) or whose back-off is over are picked up by ``sweep_webhooks``.
"""

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations import ssrf
from integrations.models import DeliveryState, Webhook, WebhookDelivery, WebhookEvent
from projects.models import Project
from roles import policy
from roles.models import Permission
from scrumboard import outbox
from scrumboard.errors import ConflictError

logger = logging.getLogger(__name__)

MANAGE = Permission.MANAGE_INTEGRATIONS
# A failed delivery is tried again after 1, 2, 4 ... minutes; after this many attempts it has failed.
MAX_ATTEMPTS = 8
BACKOFF_BASE = datetime.timedelta(minutes=1)
SWEEP_GRACE = datetime.timedelta(minutes=1)
USER_AGENT = "Scrumboard-Webhooks/1"
CHANGEABLE = ("url", "events", "active")

check_target = ssrf.check_target  # the contract's name for the SSRF guard


# --- subscriptions ---------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        ssrf.check_target(url)  # says what exactly is wrong when it can (scheme, credentials, numeric host)
        raise ValidationError({"url": [_("Enter a valid URL.")]}) from None
    if len(url) > Webhook._meta.get_field("url").max_length:  # type: ignore[operator]
        raise ValidationError({"url": [_("The URL is too long (500 characters at most).")]})
    ssrf.check_target(url)
    return url


def _clean_events(events: object) -> list[str]:
    if isinstance(events, list | tuple):
        events = list(dict.fromkeys(events))  # duplicates dropped, order kept
    if not isinstance(events, list) or not events or any(event not in WebhookEvent.values for event in events):
        raise ValidationError({"events": [_("Choose at least one event from the list.")]})
    return events


def create_webhook(*, project: Project, by, url: str, events: list[str], active: bool = True) -> Webhook:
    policy.require(by, project, MANAGE)
    errors: dict[str, list[str]] = {}
    clean_url, clean_events = "", []
    try:
        clean_url = _clean_url(url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        clean_events = _clean_events(events)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return Webhook.objects.create(
        project=project,
        url=clean_url,
        events=clean_events,
        active=bool(active),
        secret_salt=secrets.token_hex(32),
        created_by=by if by is not None and by.pk else None,
    )


@transaction.atomic
def update_webhook(*, webhook: Webhook, by, **changes) -> Webhook:
    """Changes url, events or active; switching a webhook on again clears its failure count."""
    policy.require(by, webhook.project, MANAGE)
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise ValidationError({field: [_("This field cannot be changed here.")] for field in unknown})
    webhook = Webhook.objects.select_for_update(of=("self",)).select_related("project").get(pk=webhook.pk)
    errors: dict[str, list[str]] = {}
    for field, clean in (("url", _clean_url), ("events", _clean_events)):
        if field in changes:
            try:
                setattr(webhook, field, clean(changes[field]))
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if "active" in changes:
        active = bool(changes["active"])
        if active and not webhook.active:
            webhook.failures = 0
            webhook.disabled_reason = ""
        webhook.active = active
    webhook.save()
    return webhook


def delete_webhook(*, webhook: Webhook, by) -> None:
    policy.require(by, webhook.project, MANAGE)
    webhook.delete()


def rotate_secret(*, webhook: Webhook, by) -> Webhook:
    """A new signing secret; the old one stops verifying at once."""
    policy.require(by, webhook.project, MANAGE)
    webhook.secret_salt = secrets.token_hex(32)
    webhook.save(update_fields=["secret_salt", "updated_at"])
    return webhook


def signing_secret(webhook: Webhook) -> str:
    """The secret receivers verify signatures with: derived, never stored (see Webhook)."""
    key = settings.WEBHOOK_SIGNING_KEY or settings.SECRET_KEY
    return hmac.new(key.encode(), webhook.secret_salt.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Scrumboard-Signature value: ``t=<unix ts>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- the outbox ------------------------------------------------------------------------------


def subscribed(project: Project, event: str) -> list[Webhook]:
    """The project's active webhooks that receive ``event`` (read in Python: SQLite has no JSON contains)."""
    return [hook for hook in Webhook.objects.filter(project=project, active=True) if event in hook.events]


def enqueue(
    *, project: Project, event: str, payload: dict, webhooks: list[Webhook] | None = None
) -> list[WebhookDelivery]:
    """One pending delivery per active subscription to ``event``, in the caller's transaction.

    The rows keep the whole body (``{"id", "event", "created_at", "project", "data"}``), so a retry
    or a redelivery sends the same event. Publishing to the broker follows the commit.
    """
    if event not in WebhookEvent.values:
        raise ValueError(f"unknown webhook event {event!r}")
    hooks = subscribed(project, event) if webhooks is None else webhooks
    if not hooks:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    body = {
        "id": str(event_id),
        "event": event,
        "created_at": now.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "project": project.key,
        # Round-tripped through JSON here, so a date or Decimal fails (or is converted) at the cause.
        "data": json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
    }
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(webhook=hook, event_id=event_id, event=event, payload=body, next_attempt_at=now)
            for hook in hooks
        ]
    )
    transaction.on_commit(partial(publish_many, [row.pk for row in rows]))
    return rows


@transaction.atomic
def redeliver(*, delivery: WebhookDelivery, by) -> WebhookDelivery:
    """Sends the same event (same id and body) again, as a new row in the log."""
    webhook = delivery.webhook
    policy.require(by, webhook.project, MANAGE)
    if not Webhook.objects.filter(pk=webhook.pk, active=True).exists():
        raise ConflictError(_("This webhook is switched off; switch it on to deliver again."))
    row = WebhookDelivery.objects.create(
        webhook=webhook,
        event_id=delivery.event_id,
        event=delivery.event,
        payload=delivery.payload,
        redelivery_of=delivery,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(publish_many, [row.pk]))
    return row


def publish_many(delivery_ids: Iterable[int]) -> int:
    """Hands rows to the broker through the one outbox publisher; how many went (the rest wait for the sweeper)."""
    from integrations.tasks import deliver_webhook  # tasks imports this module

    return outbox.publish_many(deliver_webhook, delivery_ids)


def due_for_delivery(now: datetime.datetime | None = None, *, grace: datetime.timedelta | None = None) -> list[int]:
    """Pending rows whose time has come, ``grace`` ago (fresh rows get their own on_commit publish first)."""
    now = now or timezone.now()
    grace = SWEEP_GRACE if grace is None else grace
    return list(
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:1000]
    )


# --- delivery --------------------------------------------------------------------------------


def backoff(attempts: int) -> datetime.timedelta:
    return BACKOFF_BASE * (2 ** max(attempts - 1, 0))


def deliver(delivery_id: int) -> WebhookDelivery | None:
    """Sends one row once: a row sent (or failed, or not yet due) is left alone; a failure backs off.

    The row stays locked while sending, so two workers handed the same id send once; a crash
    between the send and the commit may send again (at least once: receivers dedupe on the id).
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("webhook", "webhook__project")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return delivery
        now = timezone.now()
        if delivery.next_attempt_at > now:
            return delivery
        webhook = delivery.webhook
        if not webhook.active:
            delivery.state = DeliveryState.FAILED
            delivery.error = _("Not sent: the webhook is switched off.")
            delivery.save(update_fields=["state", "error"])
            return delivery
        error, code, elapsed_ms = _attempt(delivery, webhook)
        delivery.attempts += 1
        delivery.response_code = code
        delivery.response_ms = elapsed_ms
        delivery.error = error[:500]
        if not error:
            delivery.state = DeliveryState.SENT
            delivery.sent_at = timezone.now()
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save(
            update_fields=["attempts", "response_code", "response_ms", "error", "state", "sent_at", "next_attempt_at"]
        )
        _count_outcome(webhook, failed=bool(error))
    logger.info(
        "webhook delivery %s (%s to webhook %s): %s, code %s, %s ms, attempt %s",
        delivery.pk,
        delivery.event,
        webhook.pk,
        delivery.state,
        code,
        elapsed_ms,
        delivery.attempts,
    )
    return delivery


def _attempt(delivery: WebhookDelivery, webhook: Webhook) -> tuple[str, int | None, int | None]:
    """One POST; returns (error, response code, milliseconds). An empty error means sent."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Scrumboard-Event": delivery.event,
        "X-Scrumboard-Delivery": str(delivery.pk),
        "X-Scrumboard-Signature": sign(signing_secret(webhook), timestamp, body),
    }
    try:
        target = ssrf.resolve_target(webhook.url)  # again at delivery: the name may point elsewhere now
    except ValidationError as exc:
        return _("Refused: %(reason)s") % {"reason": " ".join(exc.messages)}, None, None
    started = time.monotonic()
    try:
        response = ssrf.post(target, body, headers)
    except TimeoutError:
        return _("Timed out."), None, _ms(started)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}", None, _ms(started)
    elapsed = _ms(started)
    if 200 <= response.status < 300:
        return "", response.status, elapsed
    if 300 <= response.status < 400:
        message = _("Redirect not followed (to %(location)s).") % {"location": response.location[:200] or "?"}
    else:
        message = _("HTTP %(code)s: %(body)s") % {
            "code": response.status,
            "body": response.body.decode("utf-8", "replace").strip(),
        }
    return message, response.status, elapsed


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _count_outcome(webhook: Webhook, *, failed: bool) -> None:
    """Consecutive failed attempts count up; a success resets them; too many switch the webhook off."""
    if not failed:
        if webhook.failures:
            Webhook.objects.filter(pk=webhook.pk).update(failures=0)
            webhook.failures = 0
        return
    Webhook.objects.filter(pk=webhook.pk).update(failures=F("failures") + 1)
    webhook.refresh_from_db(fields=["failures", "active"])
    limit = settings.WEBHOOK_DISABLE_AFTER
    if webhook.active and limit and webhook.failures >= limit:
        reason = _("Switched off after %(count)s failed deliveries in a row.") % {"count": webhook.failures}
        Webhook.objects.filter(pk=webhook.pk).update(active=False, disabled_reason=reason[:200])
        webhook.active, webhook.disabled_reason = False, reason[:200]
        logger.warning("webhook %s switched off after %s consecutive failures", webhook.pk, webhook.failures)
