"""Kubernetes probes, answered before host validation and HTTPS redirects."""

import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


def database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "not ready"
        logger.warning("readyz: database unreachable", exc_info=True)
        return False
    return True


def broker_ready() -> bool:
    from scrumboard.celery import app

    try:
        with app.connection_for_write() as conn:
            # One attempt, no retry: a retry would sleep 2 s first, longer than a probe waits.
            conn.ensure_connection(max_retries=0, timeout=2)
    except Exception:  # kombu raises transport-specific errors
        logger.warning("readyz: broker unreachable", exc_info=True)
        return False
    return True


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            checks = {"database": database_ready(), "broker": broker_ready()}
            ok = all(checks.values())
            body = {
                "status": "ok" if ok else "unavailable",
                "checks": {name: "ok" if passed else "fail" for name, passed in checks.items()},
            }
            return JsonResponse(body, status=200 if ok else 503)
        if request.path == "/metrics":
            # Prometheus scrapes pods by IP over plain HTTP: answered here, before host validation
            # and the HTTPS redirect, like the probes. The bearer token still guards it.
            from scrumboard.metrics import metrics

            return metrics(request)
        return self.get_response(request)
