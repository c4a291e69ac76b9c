"""Celery tasks: thin, take ids, call services. Called directly they are plain functions."""

import logging

from celery import shared_task
from django.db import OperationalError

from notifications import reminders, services
from scrumboard import outbox

logger = logging.getLogger(__name__)


# A failed send is recorded on the row (attempts, back-off) and retried by ``sweep``;
# Celery's own retry only covers the database being unreachable.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver(notification_id: int) -> None:
    services.deliver_notification(notification_id)


@shared_task(acks_late=True)
def sweep(grace_seconds: int | None = None) -> int:
    """Re-queue rows left pending past their time (``scrumboard.outbox.sweep``; default grace 60 s)."""
    return outbox.sweep(deliver, services.due_for_delivery, grace_seconds, "notifications")


@shared_task(acks_late=True)
def tick() -> int | None:
    """Once a minute: write the reminders that are due; delivery follows after commit."""
    return reminders.tick()
