import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient

from scrumboard.idempotency import IDEMPOTENCY_HEADER, idempotent, purge_idempotency_records
from scrumboard.models import IdempotencyRecord
from tests.factories import UserFactory

# While a group of this name exists the fake write fails: a retry after it is gone succeeds.
CLOSED = "closed"


class GroupViewSet(viewsets.ViewSet):
    """A stand-in for a retryable write (sprint start, import): each run creates one Group."""

    permission_classes = [AllowAny]
    parser_classes = [JSONParser, MultiPartParser]  # imports upload files

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def create(self, request):
        closed = Group.objects.filter(name=CLOSED).exists()
        if closed and request.data.get("refuse") == "return":
            return Response({"type": "conflict", "detail": "Closed for now.", "errors": {}}, status=409)
        with transaction.atomic():  # the view's own block nests in the decorator's
            group = Group.objects.create(name=f"{request.data.get('name', 'group')} {uuid.uuid4().hex}")
        if closed:
            raise exceptions.ValidationError({"name": ["Closed for now."]})  # after a write it must undo
        if request.data.get("slow"):
            time.sleep(0.2)  # widens the race in the concurrency test
        body = {"id": group.pk, "name": group.name}
        if "file" in request.data:
            body["file_bytes"] = len(request.data["file"].read())
        return Response(body, status=201)


urlpatterns = [
    path("groups/", GroupViewSet.as_view({"post": "create"})),
    path("other-groups/", GroupViewSet.as_view({"post": "create"})),
]

pytestmark = pytest.mark.urls(__name__)


def _post(client, body, *, key=None, url="/groups/"):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, body, format="json", headers=headers)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client(api, user):
    return api.as_(user)


def test_without_a_key_every_call_writes(client):
    first = _post(client, {"name": "a"})
    second = _post(client, {"name": "a"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() != second.json()
    assert Group.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_retry_with_the_same_key_replays_the_first_response(client):
    first = _post(client, {"name": "a", "labels": ["x", "y"]}, key="retry-1")
    second = _post(client, {"labels": ["x", "y"], "name": "a"}, key="retry-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Group.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.status_code, record.body) == ("retry-1", 201, first.json())


def test_the_same_key_with_another_body_is_422_and_writes_nothing(client):
    _post(client, {"name": "a"}, key="retry-1")
    response = _post(client, {"name": "b"}, key="retry-1")
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "idempotency_key_reused"
    assert body["detail"]
    assert body["errors"] == {}
    assert Group.objects.count() == 1


def test_the_same_key_on_another_url_is_422(client):
    _post(client, {"name": "a"}, key="retry-1")
    response = _post(client, {"name": "a"}, key="retry-1", url="/other-groups/")
    assert response.status_code == 422
    assert Group.objects.count() == 1


def test_an_upload_is_told_apart_by_its_content_and_still_readable_by_the_view(client):
    def upload(content):
        body = {"name": "import", "file": SimpleUploadedFile("jira.csv", content, content_type="text/csv")}
        return client.post("/groups/", body, format="multipart", headers={"Idempotency-Key": "import-1"})

    content = b"Summary\nA story\n"
    first = upload(content)
    assert first.status_code == 201
    assert first.json()["file_bytes"] == len(content)
    replayed = upload(content)
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    assert upload(b"Summary\nAnother story\n").status_code == 422
    assert Group.objects.count() == 1


def test_keys_are_per_user(api, user):
    other = UserFactory()
    first = _post(api.as_(user), {"name": "a"}, key="shared")
    second = _post(api.as_(other), {"name": "a"}, key="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert not second.has_header("Idempotent-Replayed")
    assert first.json() != second.json()
    assert Group.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 2


def test_anonymous_callers_are_not_deduplicated(db):
    client = APIClient()
    assert _post(client, {"name": "a"}, key="anon").status_code == 201
    assert _post(client, {"name": "a"}, key="anon").status_code == 201
    assert Group.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_raised_error_is_rolled_back_with_its_key_so_a_retry_runs(client):
    closed = Group.objects.create(name=CLOSED)
    failed = _post(client, {"name": "a"}, key="retry-1")
    assert failed.status_code == 400
    assert failed.json()["errors"] == {"name": ["Closed for now."]}
    assert list(Group.objects.all()) == [closed]
    assert not IdempotencyRecord.objects.exists()

    closed.delete()
    retried = _post(client, {"name": "a"}, key="retry-1")
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert Group.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


def test_a_returned_error_is_not_kept_so_a_retry_runs(client):
    closed = Group.objects.create(name=CLOSED)
    body = {"name": "a", "refuse": "return"}
    assert _post(client, body, key="retry-1").status_code == 409
    assert not IdempotencyRecord.objects.exists()

    closed.delete()
    retried = _post(client, body, key="retry-1")
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert Group.objects.count() == 1


def test_a_record_older_than_a_day_no_longer_counts(client):
    first = _post(client, {"name": "a"}, key="retry-1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = _post(client, {"name": "b"}, key="retry-1")
    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert again.json() != first.json()
    assert Group.objects.count() == 2
    record = IdempotencyRecord.objects.get()
    assert record.body == again.json()
    assert record.created_at > timezone.now() - timedelta(hours=1)


@pytest.mark.parametrize("key", ["", "k" * 256, "clé", "tab\there", "line\x7f"])
def test_an_invalid_key_is_400_and_writes_nothing(client, key):
    response = _post(client, {"name": "a"}, key=key)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert body["detail"] == body["errors"]["Idempotency-Key"][0]
    assert not Group.objects.exists()


def test_the_longest_printable_key_is_accepted(client):
    key = "~ " + "k" * 253
    assert _post(client, {"name": "a"}, key=key).status_code == 201
    assert _post(client, {"name": "a"}, key=key)["Idempotent-Replayed"] == "true"


def test_purge_deletes_only_records_past_the_cutoff(user):
    now = timezone.now()
    for key, age in [("old", timedelta(hours=30)), ("edge", timedelta(hours=23)), ("new", timedelta(0))]:
        record = IdempotencyRecord.objects.create(user=user, key=key, fingerprint="0" * 64, status_code=201)
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=now - age)
    assert purge_idempotency_records() == 1
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"edge", "new"}
    assert purge_idempotency_records(older_than=timedelta(hours=1)) == 1
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"new"}


def test_deleting_a_user_deletes_their_records(client, user):
    _post(client, {"name": "a"}, key="retry-1")
    user.delete()
    assert not IdempotencyRecord.objects.exists()


def test_the_schema_documents_the_header():
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    parameters = schema["paths"]["/groups/"]["post"]["parameters"]
    assert [(p["in"], p["name"], p.get("required", False)) for p in parameters] == [
        ("header", "Idempotency-Key", False)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_one_key_write_once_and_answer_alike():
    user = UserFactory()
    barrier = threading.Barrier(2, timeout=10)
    responses = {}
    errors = []

    def post(name):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            responses[name] = _post(client, {"name": "race", "slow": True}, key="race")
        except Exception as error:  # surfaced in the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    one, two = responses["one"], responses["two"]
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json() == two.json()
    assert sorted(r.has_header("Idempotent-Replayed") for r in (one, two)) == [False, True]
    assert Group.objects.count() == 1
    assert IdempotencyRecord.objects.get().body == one.json()
