"""Celery tasks: thin, take ids, call services. Called directly they are plain functions."""

import logging

from celery import shared_task
from django.db import OperationalError

from integrations import webhooks
from scrumboard import outbox

logger = logging.getLogger(__name__)


# A failed send is recorded on the row (attempts, back-off) and retried by ``sweep_webhooks``;
# Celery's own retry only covers the database being unreachable.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_webhook(delivery_id: int) -> None:
    webhooks.deliver(delivery_id)


@shared_task(acks_late=True)
def sweep_webhooks(grace_seconds: int | None = None) -> int:
    """Re-queue deliveries left pending past their time (``scrumboard.outbox.sweep``; default grace 60 s)."""
    return outbox.sweep(deliver_webhook, webhooks.due_for_delivery, grace_seconds, "webhook deliveries")


@shared_task(acks_late=True)
def run_import(job_id: int) -> None:
    """Applies a queued import (one transaction); the job row says how it ended."""
    from integrations.importing import jobs

    jobs.run_job(job_id)


@shared_task
def sweep_imports() -> dict[str, int]:
    """Every minute: no import is left queued or running for ever (see ``importing.jobs.sweep``)."""
    from integrations.importing import jobs

    return jobs.sweep()
