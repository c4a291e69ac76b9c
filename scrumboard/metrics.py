"""``/metrics`` for Prometheus: behind a bearer token, never public.

Without ``METRICS_TOKEN`` the endpoint does not exist (404). With ``PROMETHEUS_MULTIPROC_DIR``
set (several gunicorn and Celery processes), the figures of every process are added up. Either
way the scrape-time gauges (``scrumboard.collectors``) are computed by the process answering.
"""

import hmac
import importlib
import os
from collections.abc import Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric

from scrumboard.collectors import ScrapeCollector

# Modules that declare the app's counters and histograms (imported so that every name is known).
METRIC_MODULES = ("scrumboard.request_metrics", "scrumboard.task_metrics", "notifications.metrics")
PREFIX = "scrumboard_"

# No ``*_created`` series: the text format shows them as extra gauges and multiprocess mode never has
# them, so one process and several export the same names.
disable_created_metrics()


class _Forward:
    """The process's own registry inside the scrape's one (no describe: nothing to clash with)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def scrape_registry() -> CollectorRegistry:
    """The registry ``/metrics`` serves: this process's metrics (or every process's, under
    ``PROMETHEUS_MULTIPROC_DIR``) and the scrape-time gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(ScrapeCollector())
    return registry


def _exposed_name(metric: Metric) -> str:
    # As the text format names a family: counters with their ``_total``.
    return f"{metric.name}_total" if metric.type == "counter" else metric.name


def exported_metric_names() -> set[str]:
    """The app's metric names as ``/metrics`` writes them (``scrumboard_http_requests_total``,
    ``scrumboard_http_request_duration_seconds``; histograms add ``_bucket``/``_sum``/``_count``).

    Declared ones too, before any sample exists; without the database (the gauges are described,
    not computed). ``process_*``/``python_*`` are left out: under multiprocess mode (production)
    ``/metrics`` does not export them.
    """
    for module in METRIC_MODULES:
        importlib.import_module(module)
    families = [*REGISTRY.collect(), *ScrapeCollector().describe()]
    return {_exposed_name(family) for family in families if family.name.startswith(PREFIX)}


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not _authorized(request, token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
