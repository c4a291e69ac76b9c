"""OpenAPI postprocessing: the error responses every operation shares, in the one error shape,
and the request and response examples recorded from the demo project.

Views document their success responses and any error they answer in their own way
(``extend_schema(responses=...)``); this hook adds the errors that come from the shared
machinery (authentication, the project policy, parsing and validation, ETags, conflicts
raised by services) wherever an operation can reach them and the view has not described
them already. See ``scrumboard.api.exception_handler`` for the shape.
"""

from typing import Any

from scrumboard.api_examples import EXAMPLE_NAME, load_examples, operation_key

ERROR_COMPONENT = "Error"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API: a machine-readable type, a sentence, and field errors for bad input.",
    "properties": {
        "type": {
            "type": "string",
            "description": "validation_error, not_authenticated, permission_denied, not_found, conflict, "
            "precondition_failed, too_large, throttled, …",
        },
        "detail": {"type": "string", "description": "A sentence for people; the field's message for one bad field."},
        "errors": {
            "type": "object",
            "description": "Field name (non_field_errors for the whole object) -> its messages. Empty but for 400.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "detail", "errors"],
}

DESCRIPTIONS = {
    400: "Bad input (body, query or path): the error shape, with each field's messages under errors.",
    401: "No credentials, or a token that is unknown, revoked or expired.",
    403: "Not allowed: a member whose role lacks the permission, a read-only token writing, "
    "or a session request without its CSRF token.",
    404: "Not found, or not visible to you (another project's objects look the same); "
    "also a pagination cursor that is not valid.",
    409: "The request conflicts with the current state (e.g. an archived project, a sprint already started).",
    412: "If-Match no longer matches the object's ETag: fetch it again; nothing was changed.",
    415: "A body in a media type the operation does not take (JSON unless documented otherwise).",
}

WRITES = frozenset({"post", "put", "patch", "delete"})
METHODS = frozenset({"get", "head", *WRITES})


def _needs_credentials(operation: dict) -> bool:
    # drf-spectacular writes ``[{}]`` for views that take no credentials, and leaves it out
    # for views that handle access themselves (the calendar feed's secret).
    security = operation.get("security") or []
    return any(requirement for requirement in security)


def _error_codes(method: str, operation: dict) -> list[int]:
    has_input = bool(operation.get("parameters")) or "requestBody" in operation or method in WRITES
    codes = [400] if has_input else []
    if _needs_credentials(operation):
        codes += [401, 403, 404]
    if method in WRITES:
        codes.append(409)
    if method in {"put", "patch", "delete"}:
        codes.append(412)
    if "requestBody" in operation:
        codes.append(415)
    return codes


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }


def document_error_responses(result, generator, request, public):
    """``POSTPROCESSING_HOOKS``: the shared error responses on every operation that can answer them."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(method, operation):
                responses.setdefault(str(code), _error_response(DESCRIPTIONS[code]))
            for code, documented in responses.items():
                # Errors a view describes in words only (extend_schema) still come in the one shape.
                if str(code).startswith("4") and "content" not in documented:
                    documented["content"] = _error_response("")["content"]
    return result


JSON = "application/json"


def _has_examples(media: dict) -> bool:
    return "examples" in media or "example" in media


def _demo(value: Any) -> dict:
    return {"examples": {EXAMPLE_NAME: {"summary": "Recorded on the demo data", "value": value}}}


def document_examples(result, generator, request, public):
    """``POSTPROCESSING_HOOKS``: request and response examples recorded from the demo project
    (``manage.py record_api_examples``), wherever the view has not given its own.

    A recorded answer also serves the operation's other 2xx responses of the same shape
    (a daily scrum created, 201, or already there, 200).
    """
    examples = load_examples()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            recorded = examples.get(operation_key(method, path))
            if method not in METHODS or recorded is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get(JSON)
            if body is not None and recorded["request"] is not None and not _has_examples(body):
                body.update(_demo(recorded["request"]))
            responses = operation.get("responses", {})
            answer = recorded["response"]
            shape = responses.get(answer["status"], {}).get("content", {}).get(JSON, {}).get("schema")
            if answer["body"] is None or shape is None:
                continue
            for code, response in responses.items():
                media = response.get("content", {}).get(JSON)
                same_shape = media is not None and media.get("schema") == shape
                if str(code).startswith("2") and same_shape and not _has_examples(media):
                    media.update(_demo(answer["body"]))
    return result
