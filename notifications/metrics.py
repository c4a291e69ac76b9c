"""Prometheus counters for the outbox and the reminder tick (served by ``/metrics``).

Deliveries are counted in the Celery worker's processes; under several processes the
counters need ``PROMETHEUS_MULTIPROC_DIR`` (``bin/run.py`` sets it), and ``/metrics``
then adds up every process's files.
"""

from prometheus_client import Counter, Histogram

SENT = Counter(
    "scrumboard_notifications_sent_total", "Notifications delivered, by kind and channel.", ["kind", "channel"]
)
FAILED = Counter(
    "scrumboard_notifications_failed_total",
    "Notifications given up on after the last attempt, by kind and channel.",
    ["kind", "channel"],
)
RETRIED = Counter(
    "scrumboard_notification_retries_total",
    "Delivery attempts that failed and will be tried again, by kind and channel.",
    ["kind", "channel"],
)
WRITTEN = Counter(
    "scrumboard_notifications_written_total", "Outbox rows written, by kind and channel.", ["kind", "channel"]
)
TICK_SECONDS = Histogram(
    "scrumboard_reminder_tick_seconds",
    "How long one reminder tick took (finding what is due and writing the outbox).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_OUTCOMES = {"sent": SENT, "failed": FAILED, "retry": RETRIED}


def count_delivery(kind: str, channel: str, outcome: str) -> None:
    _OUTCOMES[outcome].labels(kind=kind, channel=channel).inc()


def count_written(kind: str, channel: str, count: int = 1) -> None:
    WRITTEN.labels(kind=kind, channel=channel).inc(count)
