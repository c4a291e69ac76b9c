"""The OpenAPI examples: every JSON body and JSON success response has one, each fits its schema,
and the committed recording (scrumboard/api_examples.json) has the shapes the API answers today."""

import copy
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator

from scrumboard import outbox
from scrumboard.api_examples import load_examples
from scrumboard.api_examples_recorder import record_examples

JSON = "application/json"
# (request|response, METHOD path, media type) -> why it has no example.
WITHOUT_EXAMPLES = {
    ("request", "POST /api/v1/projects/{key}/imports/", "multipart/form-data"): "a file upload; its form fields "
    "(file, source) are described in the schema",
    ("response", "GET /api/v1/projects/{key}/items/export/", "text/csv"): "a CSV download",
    ("response", "GET /api/v1/projects/{key}/sprints/{id}/report/", "text/csv"): "the report as a CSV download "
    "(?format=csv); its JSON form has an example",
    ("response", "GET /api/v1/projects/{key}/standups/export/", "text/csv"): "a CSV download (?format=csv); "
    "its JSON form has an example",
    ("response", "GET /api/v1/projects/{key}/retrospectives/{id}/export/", "text/markdown"): "the Markdown "
    "download (?format=md); its JSON form has an example",
}
# Not in the recording: the view gives its own example, or it is not JSON.
NOT_RECORDED = {
    "GET /api/v1/projects/{key}/calendar.ics": "iCalendar, with the view's own example",
    "GET /api/v1/projects/{key}/items/export/": "CSV only",
    "GET /api/v1/projects/{key}/export/": "the view's own example",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", operation


def _media(operation: dict):
    """(request|response, status or None, media type, media object) of the body and the 2xx responses."""
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        yield "request", None, media_type, media
    for status, response in operation["responses"].items():
        if str(status).startswith("2"):
            for media_type, media in response.get("content", {}).items():
                yield "response", status, media_type, media


def _example_values(media: dict) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values() if "value" in example]


def test_every_body_and_success_response_has_an_example_but_the_listed_downloads_and_uploads(schema):
    without = {
        (where, key, media_type)
        for key, operation in _operations(schema)
        for where, _status, media_type, media in _media(operation)
        if not _example_values(media)
    }
    assert without == set(WITHOUT_EXAMPLES)


def _json_schema(value: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type."""
    if isinstance(value, list):
        return [_json_schema(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _json_schema(item) for key, item in value.items() if key != "nullable"}
    if not value.get("nullable"):
        return converted
    if "enum" in converted:
        converted["enum"] = [*converted["enum"], None]
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


def _closed(schema: dict) -> dict:
    """The schema with no properties but the declared ones: a request example's typo is not ignored."""
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
        return {**schema, "additionalProperties": False}
    return schema


def test_every_json_example_fits_its_schema(schema):
    components = _json_schema(copy.deepcopy(schema["components"]))
    # drf-spectacular names request bodies' components ...Request (COMPONENT_SPLIT_REQUEST).
    closed = {name: _closed(part) if name.endswith("Request") else part for name, part in components["schemas"].items()}
    components = {**components, "schemas": closed}
    problems = []
    checked = 0
    for key, operation in _operations(schema):
        for where, status, media_type, media in _media(operation):
            if media_type != JSON:
                continue
            validator = Draft202012Validator({"components": components, "allOf": [_json_schema(media["schema"])]})
            for value in _example_values(media):
                checked += 1
                problems += [f"{key} {where} {status or ''}: {error.message}" for error in validator.iter_errors(value)]
    assert checked > 170  # every JSON body and success response (guards against a loop that checks nothing)
    assert problems == []


def _shape(value: Any) -> Any:
    """The keys of every object, however deep; lists by the keys their objects have."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: dict = {}
        for item in value:
            if isinstance(item, dict):
                merged.update(_shape(item))
        return [merged] if merged else []
    return None


@pytest.mark.django_db
def test_committed_examples_have_the_shapes_the_api_answers_today():
    """Run ``manage.py record_api_examples`` when this fails: the API changed and its examples did not."""
    with outbox.held():  # the import run and other on_commit work never happen in a test transaction
        recorded = record_examples()
    committed = load_examples()
    assert set(committed) == set(recorded)
    for key, entry in recorded.items():
        assert committed[key]["response"]["status"] == entry["response"]["status"], key
        assert _shape(committed[key]["response"]["body"]) == _shape(entry["response"]["body"]), key
        assert _shape(committed[key]["request"]) == _shape(entry["request"]), key


def test_every_operation_is_recorded_or_listed_with_a_reason(schema):
    operations = {key for key, _operation in _operations(schema)}
    assert set(load_examples()) | set(NOT_RECORDED) == operations
    assert not set(load_examples()) & set(NOT_RECORDED)
