"""Celery tasks: thin, take ids, call services. Called directly they are plain functions."""

import datetime
import logging

from celery import shared_task
from django.db import OperationalError

from notifications import reminders, services

logger = logging.getLogger(__name__)


# A failed send is recorded on the row (attempts, back-off) and retried by ``sweep``;
# Celery's own retry only covers the database being unreachable.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver(notification_id: int) -> None:
    services.deliver_notification(notification_id)


@shared_task(acks_late=True)
def sweep(grace_seconds: int | None = None) -> int:
    """Re-queue rows left pending past their time: broker down at commit, worker killed, back-off over.

    ``grace_seconds`` (default 60) spares rows so fresh that their own on_commit delivery is on its way.
    """
    grace = None if grace_seconds is None else datetime.timedelta(seconds=grace_seconds)
    ids = services.due_for_delivery(grace=grace)
    queued = services.publish_many(ids)
    if ids:
        logger.info("sweep re-queued %d of %d notifications", queued, len(ids))
    return queued


@shared_task(acks_late=True)
def tick() -> int | None:
    """Once a minute: write the reminders that are due; delivery follows after commit."""
    return reminders.tick()
