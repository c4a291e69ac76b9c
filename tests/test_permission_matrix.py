"""Every route x every persona answers the status its row expects.

Each case is its own test function call, so it runs in a fresh database: a write that
succeeds for one persona cannot change what the next one sees.
"""

import json
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.matrix import API_ROWS, PERSONAS, Row, app_rows, build_ctx, url_routes

try:
    from tests.matrix_pages import PAGE_ROWS
except ModuleNotFoundError as exc:  # only a missing page-rows module is tolerated here
    if exc.name != "tests.matrix_pages":
        raise
    PAGE_ROWS = None

PAGE_ROWS_MISSING = "page rows are missing: tests/matrix_pages.py must define PAGE_ROWS for every page route"

ALL_ROWS: list[tuple[str, Row]] = [
    *(("api", row) for row in [*API_ROWS, *app_rows()]),
    *(("page", row) for row in PAGE_ROWS or []),
]


def _case_id(kind: str, row: Row, persona: str, index: int) -> str:
    return f"{row.method} {row.name} [{persona}]" + (f" #{index}" if index else "")


def _cases():
    seen: Counter = Counter()
    for kind, row in ALL_ROWS:
        index = seen[(row.name, row.method)]
        seen[(row.name, row.method)] += 1
        for persona in PERSONAS:
            yield pytest.param(kind, row, persona, id=_case_id(kind, row, persona, index))


def test_page_rows_exist():
    assert PAGE_ROWS is not None, PAGE_ROWS_MISSING
    assert PAGE_ROWS, PAGE_ROWS_MISSING


def test_every_route_has_a_row():
    routes = url_routes()
    unnamed = sorted(route.route for route in routes if not route.name)
    assert not unnamed, f"routes without a name cannot be matrix rows: {unnamed}"
    covered = {row.name for _kind, row in ALL_ROWS}
    missing = sorted({route.name for route in routes} - covered)
    if PAGE_ROWS is None:
        missing = [name for name in missing if any(r.name == name and r.is_api for r in routes)]
    assert not missing, f"routes without a permission-matrix row: {missing}"


def test_every_row_names_an_existing_route():
    names = {route.name for route in url_routes()}
    stale = sorted({row.name for _kind, row in ALL_ROWS} - names)
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_method_of_every_api_route_has_a_row():
    rows = {(row.name, row.method) for _kind, row in ALL_ROWS}
    missing = sorted(
        (route.name, method)
        for route in url_routes()
        if route.is_api
        for method in route.methods
        if (route.name, method) not in rows
    )
    assert not missing, f"API methods without a permission-matrix row: {missing}"


def test_api_rows_use_only_methods_the_route_answers():
    methods = {route.name: route.methods for route in url_routes() if route.is_api}
    extra = sorted(
        (row.name, row.method)
        for kind, row in ALL_ROWS
        if kind == "api" and row.method not in methods.get(row.name, ())
    )
    assert not extra, f"rows for methods the view does not answer: {extra}"


def test_every_row_expects_a_status_for_every_persona():
    incomplete = sorted(f"{row.method} {row.name}" for _kind, row in ALL_ROWS if set(row.expect) != set(PERSONAS))
    assert not incomplete, f"rows must list exactly the personas {PERSONAS}: {incomplete}"


def test_no_row_answers_403_to_anonymous_or_outsiders_inside_a_project():
    wrong = sorted(
        f"{row.method} {row.name}"
        for _kind, row in ALL_ROWS
        if row.expect["anonymous"] == 403 or row.expect["outsider"] == 403
    )
    assert not wrong, f"anonymous must be sent to log in, outsiders must get 404, never 403: {wrong}"


def _api_request(row: Row, ctx, url: str):
    client = APIClient()
    if ctx.user is not None:
        client.force_authenticate(user=ctx.user)
    body = json.dumps(row.data(ctx)) if row.data else ""
    return client.generic(row.method, url, body, content_type="application/json")


def _page_request(row: Row, ctx, url: str):
    client = Client()
    if ctx.user is not None:
        client.force_login(ctx.user)
    data = row.data(ctx) if row.data else {}
    if row.method == "GET":
        return client.get(url, data, follow=False)
    if row.method == "POST":
        return client.post(url, data, follow=False)
    return client.generic(
        row.method, url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", follow=False
    )


@pytest.mark.parametrize(("kind", "row", "persona"), list(_cases()))
def test_persona_gets_expected_status(kind, row, persona, team):
    ctx = build_ctx(team, persona)
    url = reverse(row.name, kwargs=row.kwargs(ctx))
    response = (_api_request if kind == "api" else _page_request)(row, ctx, url)
    assert response.status_code == row.expect[persona], (
        f"{row.method} {url} as {persona}: {response.status_code}, expected {row.expect[persona]}\n"
        f"{getattr(response, 'content', b'')[:500]!r}"
    )
