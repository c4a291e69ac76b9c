"""gunicorn settings for the web process: ``gunicorn scrumboard.wsgi -c gunicorn.conf.py``.

Environment: PORT (default 8000), WEB_CONCURRENCY (worker processes, default 2),
PROMETHEUS_MULTIPROC_DIR (a writable folder shared by the workers: ``/metrics`` adds up their figures).
"""

import os

from prometheus_client import multiprocess

bind = f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or "2")
accesslog = "-"  # stdout, where the container runtime collects it
# Heartbeat files in memory: a container's disk-backed /tmp can stall workers into timeouts.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's documented choice


def child_exit(server, worker) -> None:
    """A worker's live gauges leave with it (its counters stay: totals must not go down)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
