"""``Idempotency-Key`` for API writes that clients may retry: a retry gets the first response instead of a second write.

The record of a key is inserted in the same transaction as the write. A concurrent request with the
same key therefore waits on the insert (PostgreSQL) until the first commits, then replays its response.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from scrumboard.errors import ConflictError
from scrumboard.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
RECORD_LIFETIME = timedelta(hours=24)

IDEMPOTENCY_HEADER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: 1-255 printable ASCII characters, unique per request you mean. Repeating the same "
        "request with the same key within 24 hours returns the first (successful) response again, with "
        "`Idempotent-Replayed: true`, and changes nothing; the same key with a different request is refused (422)."
    ),
)

_P = ParamSpec("_P")
_View = TypeVar("_View")


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used for a different request.")
    default_code = "idempotency_key_reused"


def idempotent(
    method: Callable[Concatenate[_View, Request, _P], Response],
) -> Callable[Concatenate[_View, Request, _P], Response]:
    """A DRF view method that an ``Idempotency-Key`` header makes safe to retry (only 2xx responses are kept)."""

    @functools.wraps(method)
    def wrapper(view: _View, request: Request, *args: _P.args, **kwargs: _P.kwargs) -> Response:
        if HEADER not in request.headers or not request.user.is_authenticated:
            return method(view, request, *args, **kwargs)
        key = request.headers[HEADER]
        _check_key(key)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            claimed = _claim(user_id=request.user.pk, key=key, fingerprint=fingerprint)
            if isinstance(claimed, Response):
                return claimed
            response = method(view, request, *args, **kwargs)
            _keep(claimed, response)
        return response

    return wrapper


def purge_idempotency_records(older_than: timedelta = RECORD_LIFETIME) -> int:
    """Delete records older than ``older_than`` (past their lifetime they no longer count); how many went."""
    return IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()[0]


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= KEY_MAX_LENGTH or not all(" " <= char <= "~" for char in key):
        message = _("Give 1 to %(max)d printable ASCII characters.") % {"max": KEY_MAX_LENGTH}
        raise exceptions.ValidationError({HEADER: [message]})


def _fingerprint(request: Request) -> str:
    body = json.dumps(_canonical(request.data), sort_keys=True, separators=(",", ":"), cls=JSONEncoder)
    return hashlib.sha256(f"{request.method}\n{request.get_full_path()}\n{body}".encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """The request data as plain JSON, independent of key order, multipart boundaries and file objects."""
    if isinstance(value, QueryDict):
        return {name: [_canonical(item) for item in items] for name, items in value.lists()}
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)  # the view reads it next
        return {"file": value.name, "sha256": digest.hexdigest()}
    if isinstance(value, dict):
        return {str(name): _canonical(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _claim(*, user_id: int, key: str, fingerprint: str) -> IdempotencyRecord | Response:
    """This request's new record, or the stored response of the earlier request with this key."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(user_id=user_id, key=key, fingerprint=fingerprint)
        except IntegrityError:
            # Taken. On PostgreSQL the insert first waited for a concurrent holder of the key to finish.
            pass
        earlier = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if earlier is None:
            continue  # expired and deleted by another request meanwhile
        if earlier.created_at < timezone.now() - RECORD_LIFETIME:
            IdempotencyRecord.objects.filter(pk=earlier.pk).delete()
            continue
        if earlier.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if earlier.status_code is None:
            break
        return Response(earlier.body, status=earlier.status_code, headers={REPLAYED_HEADER: "true"})
    raise ConflictError(_("A request with this Idempotency-Key is in progress."))


def _keep(record: IdempotencyRecord, response: Response) -> None:
    if not isinstance(response, Response):
        raise TypeError(f"@idempotent needs a DRF Response to replay, got {type(response).__name__}")
    if status.is_success(response.status_code):
        record.status_code = response.status_code
        # As the JSON renderer would write it, so a replay is the same response.
        record.body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        record.save(update_fields=["status_code", "body"])
    else:
        # An error changed nothing, so a retry must run afresh rather than get this error again.
        record.delete()
