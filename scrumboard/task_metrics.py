"""Celery task outcomes and durations, from Celery's signals (connected in ``scrumboard.celery``).

Each outcome comes from the one signal that reports it: success from ``task_postrun`` (its state),
failure from ``task_failure`` (also sent by the worker's main process for a hard time limit or a lost
child, where no ``task_postrun`` comes), retry from ``task_retry``. Under several worker processes the
figures go to ``PROMETHEUS_MULTIPROC_DIR``, which ``/metrics`` adds up.

Where the worker cannot share that folder with the web processes (its own pod in Kubernetes), it
serves its figures itself: with ``CELERY_METRICS_PORT`` set, the worker's main process answers
``GET /metrics`` on that port, behind the same bearer token (``METRICS_TOKEN``).
"""

import hmac
import logging
import os
import threading
import time
from collections import defaultdict
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals, states
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app, multiprocess

logger = logging.getLogger(__name__)

SUCCESS, FAILURE, RETRY = "success", "failure", "retry"

TASKS = Counter(
    "scrumboard_celery_tasks_total",
    "Celery task runs by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
DURATION = Histogram(
    "scrumboard_celery_task_duration_seconds",
    "How long a Celery task ran (from task_prerun to task_postrun), by task name.",
    ["task"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

# Start times per task id; a list, as an eager retry runs the same id again inside the first run.
_started: defaultdict[str, list[float]] = defaultdict(list)


def _name(task) -> str:
    return getattr(task, "name", None) or "unknown"


def on_task_prerun(sender=None, task_id=None, **_kwargs) -> None:
    _started[str(task_id)].append(time.perf_counter())


def on_task_postrun(sender=None, task_id=None, state=None, **_kwargs) -> None:
    key = str(task_id)
    starts = _started.get(key)
    if starts:
        DURATION.labels(task=_name(sender)).observe(time.perf_counter() - starts.pop())
        if not starts:
            del _started[key]
    if state == states.SUCCESS:
        TASKS.labels(task=_name(sender), outcome=SUCCESS).inc()


def on_task_failure(sender=None, **_kwargs) -> None:
    TASKS.labels(task=_name(sender), outcome=FAILURE).inc()


def on_task_retry(sender=None, **_kwargs) -> None:
    TASKS.labels(task=_name(sender), outcome=RETRY).inc()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def metrics_app(token: str):
    """The worker's figures as a WSGI app, behind ``Authorization: Bearer <token>``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    serve = make_wsgi_app(registry)

    def app(environ, start_response):
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found\n"]
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"Unauthorized\n"]
        return serve(environ, start_response)

    return app


def serve_metrics(port: int, token: str, *, address: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 - a pod's port
    """Answers ``/metrics`` from a daemon thread; returns the server (``server_port``, ``shutdown()``)."""
    server = make_server(address, port, metrics_app(token), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def on_worker_init(**_kwargs) -> None:
    """In the worker's main process, before the pool forks: the children only write the files."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from django.conf import settings

    if not settings.METRICS_TOKEN:
        logger.warning("CELERY_METRICS_PORT is set but METRICS_TOKEN is not: the worker serves no metrics")
        return
    serve_metrics(int(port), settings.METRICS_TOKEN)
    logger.info("worker metrics on port %s (/metrics)", port)


def connect() -> None:
    """Idempotent: the dispatch uids keep a second call from counting twice."""
    signals.worker_init.connect(on_worker_init, weak=False, dispatch_uid="scrumboard.task_metrics.worker_init")
    signals.task_prerun.connect(on_task_prerun, weak=False, dispatch_uid="scrumboard.task_metrics.prerun")
    signals.task_postrun.connect(on_task_postrun, weak=False, dispatch_uid="scrumboard.task_metrics.postrun")
    signals.task_failure.connect(on_task_failure, weak=False, dispatch_uid="scrumboard.task_metrics.failure")
    signals.task_retry.connect(on_task_retry, weak=False, dispatch_uid="scrumboard.task_metrics.retry")
