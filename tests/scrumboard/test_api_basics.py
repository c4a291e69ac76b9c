import json
import re
from html.parser import HTMLParser

import pytest
from django.db import OperationalError
from django.test import Client
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from projects.models import Project
from scrumboard import health
from scrumboard.celery import app as celery_app
from tests.matrix import url_routes

# --- One error shape -----------------------------------------------------------------------


def _assert_error_shape(response, status: int, error_type: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "detail", "errors"}
    assert body["type"] == error_type
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], dict)
    assert all(isinstance(messages, list) for messages in body["errors"].values())
    assert all(isinstance(m, str) and not m.startswith(("{", "[")) for ms in body["errors"].values() for m in ms)
    return body


def test_bad_input_is_400_with_field_errors(team, api):
    body = _assert_error_shape(
        api.as_(team.admin).post("/api/v1/projects/", {}, format="json"), 400, "validation_error"
    )
    assert set(body["errors"]) == {"key", "name"}
    assert body["detail"] == "Some fields are not valid."


def test_nested_errors_are_flattened_to_messages(team, api):
    response = api.as_(team.admin).post(
        "/api/v1/projects/SB/roles/", {"name": "QA", "permissions": ["view", "fly"]}, format="json"
    )
    body = _assert_error_shape(response, 400, "validation_error")
    assert body["errors"] == {"permissions": ['"fly" is not a valid choice.']}


def test_model_wide_errors_are_non_field_errors(team, api):
    response = api.as_(team.outsider).post("/api/v1/invitations/accept/", {"token": "nope"}, format="json")
    body = _assert_error_shape(response, 400, "validation_error")
    assert body["errors"] == {"non_field_errors": ["This invitation link is not valid."]}


def test_malformed_json_is_400(team, api):
    response = api.as_(team.admin).generic("POST", "/api/v1/projects/", "{nope", content_type="application/json")
    _assert_error_shape(response, 400, "validation_error")


def test_missing_credentials_are_401(db):
    response = APIClient().get("/api/v1/projects/")
    _assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_missing_right_is_403(team, api):
    _assert_error_shape(api.as_(team.developer).patch("/api/v1/projects/SB/", {"name": "X"}), 403, "permission_denied")


def test_invisible_project_is_404(team, api):
    _assert_error_shape(api.as_(team.outsider).get("/api/v1/projects/SB/members/"), 404, "not_found")


def test_unknown_api_url_is_404_in_the_error_shape(team, api):
    _assert_error_shape(api.as_(team.admin).get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unknown_page_url_stays_an_html_404(team):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_unsupported_method_is_405(team, api):
    _assert_error_shape(api.as_(team.admin).put("/api/v1/projects/SB/members/", {}), 405, "method_not_allowed")


def test_conflict_is_409(team, api):
    client = api.as_(team.admin)
    client.post("/api/v1/projects/SB/archive/")
    _assert_error_shape(client.post("/api/v1/projects/SB/archive/"), 409, "conflict")


def test_stale_if_match_is_412(team, api):
    response = api.as_(team.admin).patch("/api/v1/projects/SB/", {"name": "X"}, format="json", HTTP_IF_MATCH='"stale"')
    _assert_error_shape(response, 412, "precondition_failed")
    assert Project.objects.get(key="SB").name == "Scrumboard"


def test_form_encoded_body_is_415(team, api):
    response = api.as_(team.admin).generic(
        "POST", "/api/v1/projects/", "key=NEW&name=New", content_type="application/x-www-form-urlencoded"
    )
    _assert_error_shape(response, 415, "unsupported_media_type")


def test_throttled_request_is_429(team):
    client = APIClient()
    for _ in range(50):
        response = client.post("/api/v1/auth/token/", {"username": "dev", "password": "wrong"}, format="json")
        if response.status_code == 429:
            break
    body = _assert_error_shape(response, 429, "throttled")
    assert "seconds" in body["detail"]


# --- Schema and docs -----------------------------------------------------------------------


def _openapi_path(route: str) -> str:
    """The URL pattern as the schema writes it; drf-spectacular names ``pk`` ``id`` (SCHEMA_COERCE_PATH_PK)."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).replace("{pk}", "{id}")


def test_schema_is_a_valid_openapi_3_document_listing_every_api_route(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)  # raises on anything that is not OpenAPI 3.0
    assert schema["openapi"].startswith("3.")
    api_paths = {_openapi_path(route.route) for route in url_routes() if route.name.startswith("api:")}
    assert "/api/v1/projects/{key}/members/{id}/" in api_paths
    assert api_paths <= set(schema["paths"])
    assert "bearerToken" in schema["components"]["securitySchemes"]


class _AssetLinks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])


def test_api_docs_load_no_script_or_stylesheet_from_another_site(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    links = _AssetLinks()
    links.feed(page)
    assert links.urls, "the docs page should load its assets"
    external = [url for url in links.urls if url.startswith(("http://", "https://", "//"))]
    assert not external
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page)
    for url in links.urls:
        asset = Client().get(url)
        assert asset.status_code == 200, url


# --- Probes --------------------------------------------------------------------------------

PROBE_HEADERS = {"HTTP_HOST": "10.1.2.3:8000"}  # a pod address: never in ALLOWED_HOSTS


@pytest.fixture
def dead_broker():
    """Points the Celery app at a Redis port nobody listens on, then restores it."""
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_url = original


def test_healthz_answers_any_host_even_with_https_redirect(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/healthz", **PROBE_HEADERS)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_database_and_broker_answer(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/readyz", **PROBE_HEADERS)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_is_503_when_the_broker_is_down(db, settings, dead_broker):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/readyz", **PROBE_HEADERS)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "broker": "fail"}}


def test_readyz_is_503_when_the_database_is_down(db, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = Client().get("/readyz", **PROBE_HEADERS)
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "fail"


def test_ordinary_requests_still_check_the_host(db):
    assert Client().get("/accounts/login/", **PROBE_HEADERS).status_code == 400


@pytest.mark.redis
def test_readyz_reports_the_redis_broker_ok(db, settings):
    assert celery_app.conf.broker_url == settings.REDIS_URL
    assert celery_app.conf.broker_url.startswith("redis://")
    response = Client().get("/readyz", **PROBE_HEADERS)
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.parametrize(
    "url", ["/api/v1/notifications/preferences/", "/api/v1/projects/SB/items/SB-1/watch/", "/api/v1/projects/SB/"]
)
def test_options_answers_every_view_without_building_its_objects(team, api, url):
    # Found by the API fuzzer: DRF's default metadata built objects and serializers the views make per request (500).
    response = api.as_(team.admin).options(url)
    assert response.status_code == 200
    assert "actions" not in response.json()


def test_schema_documents_the_shared_errors_in_the_one_shape(db):
    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    responses = schema["paths"]["/api/v1/projects/{key}/items/{item_key}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "412"} <= set(responses)
    error = {"$ref": "#/components/schemas/Error"}
    assert all(responses[code]["content"]["application/json"]["schema"] == error for code in ("400", "404", "412"))
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"type", "detail", "errors"}
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert {"201", "400", "401", "429"} <= set(token)
    assert "403" not in token
