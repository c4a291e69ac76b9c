"""A task only the Celery smoke test defines; its worker loads it with ``--include``."""

import redis

from scrumboard.celery import app

MARK_TASK = "tests.scrumboard.worker_tasks.mark"


@app.task(name=MARK_TASK)
def mark(redis_url: str, key: str, value: str) -> None:
    """Leaves ``value`` under ``key`` so the test can see that a worker ran the task."""
    redis.Redis.from_url(redis_url).set(key, value, ex=300)
