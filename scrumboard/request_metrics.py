"""Request count, latency and database queries per request, by route name (served by ``/metrics``).

The route is the URL pattern's name (``api:item-list``), never the path, so the number of series stays
bounded; a request no pattern matched counts as ``unmatched``. Nothing here touches the database.
"""

import time
from contextlib import ExitStack

from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

UNMATCHED = "unmatched"
# Anything else (a client's invented method) is one "other" series, not one per spelling.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Scrapes are not traffic: counting them would only measure Prometheus.
SKIPPED_PATHS = frozenset({"/metrics"})

REQUESTS = Counter(
    "scrumboard_http_requests_total",
    "HTTP requests answered, by route name, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "scrumboard_http_request_duration_seconds",
    "Time to answer an HTTP request (the middleware and view below this one), by route name and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERIES = Histogram(
    "scrumboard_db_queries_per_request",
    "Database queries one HTTP request ran (every connection), by route name.",
    ["route"],
    buckets=(0, 1, 2, 5, 10, 20, 30, 50, 100, 200, 500),
)


class _QueryCounter:
    """An execute wrapper that only counts (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None and match.view_name else UNMATCHED


class RequestMetricsMiddleware:
    """Counts and times every request that reaches it but ``/metrics`` (probes, static files: answered above)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in SKIPPED_PATHS:
            return self.get_response(request)
        queries = _QueryCounter()
        started = time.perf_counter()
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(queries))
            # An exception in a view arrives here already turned into a 500 response.
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
        LATENCY.labels(route=route, method=method).observe(elapsed)
        QUERIES.labels(route=route).observe(queries.count)
        return response
