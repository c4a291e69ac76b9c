"""What every endpoint shares: the error shape, pagination, ETags, project scoping."""

import hashlib
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from projects.models import Project
from roles import policy
from scrumboard.errors import ConflictError

_TYPES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The object has changed since you read it; fetch it again.")
    default_code = "precondition_failed"


def _field_name(name) -> str:
    # Django's model-wide errors ("__all__") are DRF's non_field_errors: one name for clients.
    return "non_field_errors" if name == NON_FIELD_ERRORS else str(name)


def _django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {_field_name(field): [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _messages(detail) -> list[str]:
    """Every message of a possibly nested error detail (list items, nested serializers) as text."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list | tuple):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {_field_name(k): _messages(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": _messages(detail)}
    return {}


def exception_handler(exc, context):
    """One JSON error shape: ``{"type", "detail", "errors"}``."""
    if isinstance(exc, ConflictError):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    errors: dict[str, list[str]] = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = next(iter(errors.values()), [""])
        detail = first[0] if len(errors) == 1 and first else str(_("Some fields are not valid."))
    else:
        detail = " ".join(_messages(exc.detail))
    body = {"type": _TYPES.get(response.status_code, "error"), "detail": detail, "errors": errors}
    response.data = body
    return response


def not_found(request, exception=None):
    """``handler404``: URLs no route matches get the error shape under /api/, the page elsewhere."""
    if request.path.startswith("/api/"):
        body = {"type": _TYPES[404], "detail": str(exceptions.NotFound.default_detail), "errors": {}}
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)


# Ids are 64-bit (BigAutoField). A larger number in a body names no object: 400 with the field's
# message, rather than a value the database driver cannot bind (a 500 for "pk__in" lookups).
MAX_ID = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    """An object's id in a request body."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# A time of day on a wall clock: the project's (or the user's) time zone gives it meaning, so it
# carries no offset (that would change with daylight saving). JSON Schema's "format: time" is
# RFC 3339's full-time, which requires one: the schema says what is sent, HH:MM, instead.
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": CLOCK_TIME_PATTERN,
        "example": "10:00",
        "description": "A time of day, HH:MM (seconds accepted on input), in the time zone it belongs to; no offset.",
    }
)
class ClockTimeField(serializers.TimeField):
    """A wall-clock time of day: ``HH:MM`` out, ``HH:MM`` or ``HH:MM:SS`` in, never an offset."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class CursorPagination(pagination.CursorPagination):
    """Stable, constant-time pages: ``?limit=`` up to 200, ``next``/``previous`` links."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    ordering = "id"


def etag_for(obj) -> str:
    stamp = getattr(obj, "updated_at", None)
    raw = f"{type(obj).__name__}:{obj.pk}:{stamp.isoformat() if stamp else ''}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


class ETagMixin:
    """``ETag`` on single objects; a write whose ``If-Match`` no longer matches gets 412."""

    _etag_object: object | None = None

    def lock_for_write(self, obj):
        """The object's row afresh, locked until the transaction ends, after checking ``If-Match``.

        Comparing under the lock means two writers holding one ETag cannot both pass.
        Call it inside ``transaction.atomic()``.
        """
        current = type(obj)._default_manager.select_for_update(of=("self",)).get(pk=obj.pk)
        self.check_if_match(current)
        self._etag_object = current
        return current

    def check_if_match(self, obj) -> None:
        header = self.request.headers.get("If-Match")
        if not header or header.strip() == "*":
            return
        wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
        if etag_for(obj) not in wanted:
            raise PreconditionFailed()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        obj = getattr(self, "_etag_object", None)
        if obj is not None and 200 <= response.status_code < 300 and request.method != "DELETE":
            response["ETag"] = etag_for(obj)
        return response


class ProjectScopedMixin:
    """Views under ``/projects/{key}/``: the project, visible to members only (else 404)."""

    kwargs: dict[str, Any]  # provided by the DRF view this is mixed into

    @property
    def project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = policy.project_for(self.request.user, self.kwargs["key"], "view")
        return self._project

    def require(self, action: str):
        return policy.require(self.request.user, self.project, action)

    def get_serializer_context(self):
        """Serializers that refer to objects by name (roles, members, items) look them up in this project."""
        return {**super().get_serializer_context(), "project": self.project}


def created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)
