"""Handing outbox rows to the broker: the one publish path for notifications and webhook deliveries.

Rows are written in the caller's transaction and published after the commit (``on_commit``);
the row, not the message, is the record, so a publish that fails loses nothing: the row stays
pending and the app's sweeper queues it once the broker is back. With the broker down, a
transaction that wrote many rows must not wait out a connection timeout for each, so after one
refusal the broker is not tried again for ``BROKER_PAUSE``, by any task: there is one broker.
"""

import datetime
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from celery import Task

logger = logging.getLogger(__name__)

BROKER_PAUSE = datetime.timedelta(seconds=30)
_broker_down_until: datetime.datetime | None = None
_held = 0


@contextmanager
def held() -> Iterator[None]:
    """Publishes nothing meanwhile (this thread and every other): the rows wait for the sweeper.

    For loading the demo, whose replayed history writes rows it then marks sent: publishing
    them would only queue hundreds of messages with nothing to do, in front of real work.
    """
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1


def broker_paused(now: datetime.datetime | None = None) -> bool:
    """True while publishing waits out a refusal."""
    now = now or datetime.datetime.now(datetime.UTC)
    return _broker_down_until is not None and now < _broker_down_until


def resume() -> None:
    """Forgets a refusal: the next publish tries the broker (tests; the pause ends by itself)."""
    global _broker_down_until
    _broker_down_until = None


def publish(task: Task, pk: int) -> bool:
    """Queues ``task(pk)``; never raises. False when not queued (the broker refused, or is paused)."""
    global _broker_down_until
    now = datetime.datetime.now(datetime.UTC)
    if _held or broker_paused(now):
        return False
    try:
        task.apply_async((pk,), retry=False)
    except Exception:  # the broker's error types vary by transport; all mean "not queued"
        logger.warning("broker unreachable: %s(%s) waits for the sweeper", task.name, pk, exc_info=True)
        _broker_down_until = now + BROKER_PAUSE
        return False
    _broker_down_until = None
    return True


def publish_many(task: Task, pks: Iterable[int]) -> int:
    """Queues ``task(pk)`` for each until the broker refuses one (the rest wait for the sweeper); how many went."""
    sent = 0
    for pk in pks:
        if not publish(task, pk):
            break
        sent += 1
    return sent


def sweep(task: Task, due: Callable[..., list[int]], grace_seconds: int | None, what: str) -> int:
    """Re-queues ``task`` for the rows ``due(grace=)`` lists: left pending past their time (broker down
    at commit, worker killed, back-off over). ``grace_seconds`` (``due``'s default when None) spares
    rows so fresh that their own on_commit publish is on its way. Returns how many were queued."""
    grace = None if grace_seconds is None else datetime.timedelta(seconds=grace_seconds)
    ids = due(grace=grace)
    queued = publish_many(task, ids)
    if ids:
        logger.info("sweep re-queued %d of %d %s", queued, len(ids), what)
    return queued
