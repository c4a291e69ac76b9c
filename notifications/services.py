"""Writes: the outbox (``notify``), read marks, preferences and quiet hours."""

import datetime
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from notifications import messages, metrics
from notifications.models import (
    Channel,
    Kind,
    Notification,
    NotificationPreference,
    NotificationSettings,
    State,
)
from scrumboard import outbox

logger = logging.getLogger(__name__)

# A failed delivery is tried again after 1, 2, 4, 8 ... minutes, at most this many times.
MAX_ATTEMPTS = 5
BACKOFF_BASE = datetime.timedelta(minutes=1)


def enabled_channels(user, kind: str, channels: Iterable[str] | None = None) -> list[str]:
    """The channels ``user`` receives ``kind`` on: every channel is on unless switched off."""
    wanted = list(channels) if channels is not None else list(Channel.values)
    off = set(
        NotificationPreference.objects.filter(user=user, kind=kind, enabled=False).values_list("channel", flat=True)
    )
    return [channel for channel in wanted if channel not in off]


def _first_attempt(own: NotificationSettings | None, channel: str, now: datetime.datetime) -> datetime.datetime:
    """In-app goes now; e-mail waits for the end of the recipient's quiet hours."""
    if channel != Channel.EMAIL or own is None:
        return now
    return own.quiet_until(now) or now


def recipient_language(user) -> str:
    chosen = NotificationSettings.objects.filter(user=user).values_list("language", flat=True).first()
    return chosen or settings.LANGUAGE_CODE


@dataclass(frozen=True)
class Message:
    """One notification to write: the outbox key (recipient, kind, subject, local date) and its content."""

    recipient: Any
    kind: str
    subject: str
    local_date: datetime.date
    project: Any = None
    url: str = ""
    payload: dict = field(default_factory=dict)
    body: str = ""  # the user's own text, kept as it is (a comment's excerpt)
    title: str | None = None  # None: rendered from kind and payload in the recipient's language


def notify(
    *,
    recipient,
    kind: str,
    subject: str,
    local_date: datetime.date,
    title: str | None = None,
    body: str = "",
    url: str = "",
    project=None,
    channels: Iterable[str] | None = None,
    payload: dict | None = None,
) -> list[Notification]:
    """Write one outbox row per enabled channel; the unique key makes a repeat call write nothing.

    Without ``title`` the text is rendered from kind and payload in the recipient's language.
    Delivery is queued after commit; rows whose time has not come (quiet hours) wait for ``sweep``.
    Returns the rows this call wrote.
    """
    message = Message(recipient, kind, subject, local_date, project, url, payload or {}, body, title)
    return notify_many([message], channels=channels)


def notify_many(batch: Iterable[Message], *, channels: Iterable[str] | None = None) -> list[Notification]:
    """Writes many messages in a few statements: settings and preferences read once, rows inserted in bulk.

    A row that exists already (a second tick, a concurrent one) makes the bulk insert fail inside
    its savepoint; the batch is then written row by row and the unique key decides each. Returns
    the rows this call wrote; their delivery is queued after commit.
    """
    batch = list(batch)
    if not batch:
        return []
    users = {message.recipient.pk for message in batch}
    own = {row.user_id: row for row in NotificationSettings.objects.filter(user_id__in=users)}
    off = set(
        NotificationPreference.objects.filter(user_id__in=users, enabled=False).values_list(
            "user_id", "kind", "channel"
        )
    )
    wanted = list(channels) if channels is not None else list(Channel.values)
    now = timezone.now()
    rows = []
    for message in batch:
        user_settings = own.get(message.recipient.pk)
        title, body = message.title, message.body
        if title is None:
            language = (user_settings.language if user_settings else "") or settings.LANGUAGE_CODE
            with translation.override(language):
                title, body = messages.render(message.kind, message.payload, body=message.body)
        for channel in wanted:
            if (message.recipient.pk, message.kind, channel) in off:
                continue
            rows.append(
                Notification(
                    recipient=message.recipient,
                    kind=message.kind,
                    subject=message.subject,
                    local_date=message.local_date,
                    channel=channel,
                    project=message.project,
                    title=title[:200],
                    body=body,
                    url=message.url,
                    payload=message.payload,
                    next_attempt_at=_first_attempt(user_settings, channel, now),
                )
            )
    try:
        with transaction.atomic():
            written = Notification.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:
        written = [row for row in rows if _insert_unless_there(row)]
    due = [row.pk for row in written if row.next_attempt_at <= now]
    if due:
        transaction.on_commit(partial(publish_many, due))
    for (kind, channel), count in Counter((row.kind, row.channel) for row in written).items():
        transaction.on_commit(partial(metrics.count_written, kind, channel, count))
    return written


def _insert_unless_there(row: Notification) -> bool:
    """Inserts ``row`` unless its key is taken; True when it was inserted."""
    key = {f: getattr(row, f) for f in ("recipient_id", "kind", "subject", "local_date", "channel")}
    if Notification.objects.filter(**key).exists():
        return False
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:  # written a moment ago by a concurrent tick
        return False
    return True


def publish_many(notification_ids: Iterable[int]) -> int:
    """Hands rows to the broker through the one outbox publisher; how many went (the rest wait for the sweeper)."""
    from notifications.tasks import deliver  # tasks imports this module

    return outbox.publish_many(deliver, notification_ids)


def backoff(attempts: int) -> datetime.timedelta:
    return BACKOFF_BASE * (2 ** max(attempts - 1, 0))


def deliver_notification(notification_id: int) -> Notification | None:
    """Send one row once: a row already sent (or not yet due) is left alone; failures back off."""
    # The row stays locked while sending, so two workers handed the same id send once; a crash
    # between send and commit may send again (at least once), never lose it.
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.state != State.PENDING:
            return notification
        now = timezone.now()
        if notification.next_attempt_at > now:
            return notification
        try:
            if notification.channel == Channel.EMAIL:
                _send_email(notification)
        except Exception as exc:
            notification.attempts += 1
            notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if notification.attempts >= getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", MAX_ATTEMPTS):
                notification.state = State.FAILED
            else:
                notification.next_attempt_at = now + backoff(notification.attempts)
            notification.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
            outcome = "failed" if notification.state == State.FAILED else "retry"
        else:
            notification.state = State.SENT
            notification.sent_at = now
            notification.attempts += 1
            notification.save(update_fields=["state", "sent_at", "attempts"])
            outcome = "sent"
    # Counted once the outcome is committed, so a rolled-back attempt is not counted.
    metrics.count_delivery(notification.kind, notification.channel, outcome)
    return notification


def _send_email(notification: Notification) -> None:
    from django.core.mail import send_mail

    address = notification.recipient.email
    if not address:
        return  # nobody to write to: nothing to retry either
    url = notification.url
    if url.startswith("/"):
        url = settings.SITE_URL + url
    text = "\n\n".join(part for part in (notification.body, url) if part)
    send_mail(notification.title, text, None, [address])


def due_for_delivery(now: datetime.datetime | None = None, *, grace: datetime.timedelta | None = None) -> list[int]:
    """Pending rows whose time has come (a minute ago by default, so fresh rows get their on_commit first)."""
    now = now or timezone.now()
    grace = datetime.timedelta(minutes=1) if grace is None else grace
    return list(
        Notification.objects.filter(state=State.PENDING, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:1000]
    )


def mark_read(*, user, ids: Iterable[int]) -> int:
    """Marks the user's own unread in-app notifications among ``ids``; others' ids change nothing."""
    return Notification.objects.inbox(user).unread().filter(pk__in=list(ids)).update(read_at=timezone.now())


def mark_all_read(*, user) -> int:
    return Notification.objects.inbox(user).unread().update(read_at=timezone.now())


def set_preferences(*, user, preferences: Iterable[dict]) -> None:
    """``[{"kind", "channel", "enabled"}, ...]``: one row per kind and channel, updated in place."""
    with transaction.atomic():
        for preference in preferences:
            NotificationPreference.objects.update_or_create(
                user=user,
                kind=Kind(preference["kind"]),
                channel=Channel(preference["channel"]),
                defaults={"enabled": bool(preference["enabled"])},
            )


def set_quiet_hours(
    *, user, quiet_from: datetime.time | None, quiet_to: datetime.time | None, timezone_name: str
) -> NotificationSettings:
    row, _ = NotificationSettings.objects.get_or_create(user=user)
    row.quiet_from, row.quiet_to, row.timezone = quiet_from, quiet_to, timezone_name
    row.full_clean()
    row.save()
    return row
