"""Schemathesis over every operation of the OpenAPI schema: no 500, no status the schema does not list,
and every response in the content type and the shape the schema documents for its status.

The schema is generated in-process (drf-spectacular) and the requests go through the WSGI
application inside the test's transaction. The caller is SB's administrator with a
read-write token; path parameters name real objects, made by the permission matrix's rows
(tests/matrix.py and tests/<app>/matrix_rows.py), so the generated bodies and query
strings reach the views instead of stopping at 404. A few deterministic examples per
operation, positive and negative, no shrinking: a smoke test of input handling, not a
search.
"""

import re

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.models import TokenScope
from integrations.services import create_token
from tests.matrix import API_ROWS, Row, app_rows, build_ctx, url_routes

EXAMPLES_PER_OPERATION = 6


def _schema_path(route: str) -> str:
    """Django's ``api/v1/projects/<str:key>/sprints/<int:pk>/`` as the schema writes it."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", route)


def _rows_by_operation() -> dict[tuple[str, str], Row]:
    paths = {route.name: _schema_path(route.route) for route in url_routes() if route.name}
    return {(row.method, paths[row.name]): row for row in [*API_ROWS, *app_rows()] if row.name in paths}


ROWS = _rows_by_operation()

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


class Application:
    """The WSGI entry point, built per test: middleware reads settings when built, after the test's overrides."""

    handler: WSGIHandler | None = None

    def __call__(self, environ, start_response):
        assert self.handler is not None, "the caller fixture builds the handler"
        return self.handler(environ, start_response)


application = Application()
schema.app = application
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    no_shrink=True,
    deterministic=True,
    database="none",
)
# The coverage phase (deterministic edge cases) is most of the run time: its negative half only
# (missing and mistyped fields, JSON null bodies), which the fuzzing phase's positive input complements.
# It also sends the methods an operation does not define: DRF answers them all alike (405), but
# OPTIONS runs each view's metadata code.
schema.config.phases.coverage.generation.update(modes=[GenerationMode.NEGATIVE])
schema.config.phases.coverage.unexpected_methods = {"options"}


class Caller:
    """SB's administrator with a read-write token; path parameters made once per test, not per example."""

    def __init__(self, team):
        self.ctx = build_ctx(team, "admin")
        self.headers = {
            "Authorization": f"Bearer {create_token(user=team.admin, name='fuzz', scope=TokenScope.WRITE)[1]}"
        }
        self._parameters: dict[tuple[str, str], dict[str, str]] = {}

    def path_parameters(self, method: str, path: str) -> dict[str, str]:
        if (method, path) not in self._parameters:
            kwargs = ROWS[(method, path)].kwargs(self.ctx)
            self._parameters[(method, path)] = {("id" if k == "pk" else k): str(v) for k, v in kwargs.items()}
        return self._parameters[(method, path)]


@pytest.fixture
def caller(team, in_test_transaction) -> Caller:
    return Caller(team)


@pytest.fixture
def in_test_transaction():
    """Django's own test client does the same: the WSGI handler must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    application.handler = WSGIHandler()
    yield
    application.handler = None
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_has_a_matrix_row_for_its_path_parameters():
    operations = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    assert operations <= set(ROWS), sorted(operations - set(ROWS))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_generated_input_without_server_errors_or_undocumented_statuses_or_shapes(case, caller):
    case.path_parameters = caller.path_parameters(case.operation.method.upper(), case.operation.path)
    response = case.call(headers=caller.headers)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
