"""What every endpoint shares: the error shape, pagination, ETags, project scoping."""

import hashlib

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, status
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


def _django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(x) for x in detail]}
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
        detail = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else str(exc.detail)
    body = {"type": _TYPES.get(response.status_code, "error"), "detail": detail, "errors": errors}
    response.data = body
    return response


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

    project_action = "view"

    @property
    def project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = policy.project_for(self.request.user, self.kwargs["key"], "view")
        return self._project

    def require(self, action: str):
        return policy.require(self.request.user, self.project, action)


def created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)
