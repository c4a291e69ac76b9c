"""The tick's writer: every reminder due now goes to the outbox, once."""

import datetime
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from notifications import metrics, schedule
from notifications.models import Notification
from notifications.services import Message, notify_many

# A tick still running holds this (in the shared cache: Redis in production) so the next minute's
# tick, or a second beat's, does not redo the same work beside it; the unique key keeps either
# from writing twice, the lock keeps them from working twice. It expires if a worker dies mid-tick.
TICK_LOCK = "notifications:tick-running"
TICK_LOCK_SECONDS = 300


def _already_written(reminders: list[schedule.Reminder]) -> set[tuple]:
    """Keys of reminders written by an earlier tick, in one query.

    Filtered by kinds and dates only (few values) and compared in Python: long IN lists of
    subjects and recipients make SQLite's planner probe every combination.
    """
    if not reminders:
        return set()
    rows = (
        Notification.objects.filter(
            kind__in={r.kind for r in reminders}, local_date__in={r.local_date for r in reminders}
        )
        .order_by()
        .values_list("recipient_id", "kind", "subject", "local_date")
    )
    return set(rows.iterator(chunk_size=5000))


def send_due_reminders(now: datetime.datetime | None = None) -> int:
    """Every reminder due at ``now``; returns how many rows were written (0 when already sent).

    Each project's reminders are written in one transaction, in bulk; a second tick for the
    same minute (or a second beat) finds them written, and the unique key stops a race.
    """
    started = time.monotonic()
    now = now or timezone.now()
    due = schedule.due_reminders(now)
    done = _already_written(due)
    written = 0
    for reminders in schedule.group_by_project(r for r in due if r.key not in done).values():
        batch = [Message(r.recipient, r.kind, r.subject, r.local_date, r.project, r.url, r.payload) for r in reminders]
        with transaction.atomic():
            written += len(notify_many(batch))
    metrics.TICK_SECONDS.observe(time.monotonic() - started)
    return written


def tick() -> int | None:
    """The beat's tick: ``send_due_reminders`` unless a tick is still running (then None)."""
    if not cache.add(TICK_LOCK, "1", timeout=TICK_LOCK_SECONDS):
        return None
    try:
        return send_due_reminders()
    finally:
        cache.delete(TICK_LOCK)
