"""The import API: upload and preview, 400/413/409/404 with the error shape, run (queued after the
commit, then the task), progress from the cache while running, Idempotency-Key replays, the list's
query count, the schema. Permissions per persona are in tests/integrations/matrix_rows.py."""

import socket
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from backlog.models import BacklogItem
from integrations import tasks
from integrations.importing import jobs
from integrations.models import ImportJob, ImportState
from tests.factories import make_project
from tests.notifications.worker_support import publishing_to

CSV = (
    b"Summary,Issue key,Issue Type,Status,Priority,Labels\r\n"
    b"Log in with a phone number,J-1,Story,In Progress,High,auth\r\n"
    b"Fix the crash on start,J-2,Bug,To Do,Blocker,\r\n"
)
JOB_FIELDS = {
    "id",
    "source",
    "filename",
    "size",
    "sha256",
    "state",
    "progress",
    "preview",
    "result",
    "error",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
}
PREVIEW_KEYS = {"source", "counts", "creates", "updates", "problems", "unknown_columns", "people"}


def url(name: str, key: str = "SB", **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"key": key, **kwargs})


def upload(client, data: bytes = CSV, *, name: str = "jira.csv", key: str = "SB", headers=None, **fields):
    body = {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields}
    return client.post(url("import-list", key), body, format="multipart", headers=headers)


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "detail", "errors"}
    if field is not None:
        assert list(body["errors"]) == [field]
        assert body["detail"] == body["errors"][field][0]
    return body


@pytest.fixture
def client(api, team):
    return api.as_(team.admin)


def test_upload_parses_and_previews_without_importing(client, team):
    response = upload(client)
    assert response.status_code == 201, response.content
    job = response.json()
    assert set(job) == JOB_FIELDS
    assert job["state"] == "previewed"
    assert job["source"] == "jira_csv"  # detected
    assert job["filename"] == "jira.csv"
    assert job["size"] == len(CSV)
    assert job["created_by"] == "admin"
    assert job["progress"] == {"done": 0, "total": 2, "percent": 0}
    assert set(job["preview"]) >= PREVIEW_KEYS
    assert job["preview"]["creates"] == 2
    assert job["preview"]["by_type"] == {"story": 1, "bug": 1}
    assert not BacklogItem.objects.filter(project=team.project).exists()


def test_upload_takes_the_source_named(client):
    response = upload(client, source="jira_csv")
    assert response.status_code == 201
    assert response.json()["source"] == "jira_csv"


def test_a_file_of_another_format_than_the_source_named_is_refused_on_file(client):
    assert_error(upload(client, b'{"items": "nope"}', name="x.json", source="jira_csv"), 400, "file")


def test_an_unknown_source_is_refused_on_source(client):
    assert_error(upload(client, source="trello"), 400, "source")


def test_a_file_no_source_recognises_is_refused_with_its_message(client):
    body = assert_error(upload(client, b"\x00\x01 binary garbage", name="x.bin"), 400, "file")
    assert "not recognised" in body["detail"]
    assert not ImportJob.objects.exists()


def test_an_empty_file_and_no_file_are_refused_on_file(client):
    assert_error(upload(client, b"   \n"), 400, "file")
    assert_error(client.post(url("import-list"), {"source": "jira_csv"}, format="multipart"), 400, "file")


def test_a_file_past_the_limit_is_refused_with_413(client, settings):
    settings.IMPORT_MAX_BYTES = 100
    body = assert_error(upload(client, CSV + b"x" * 200), 413)
    assert body["type"] == "too_large"
    assert "larger than" in body["detail"]
    assert not ImportJob.objects.exists()


def test_a_request_announcing_a_body_past_the_limit_is_refused_before_reading_it(client, settings):
    settings.IMPORT_MAX_BYTES = 100
    with mock.patch("scrumboard.idempotency._fingerprint") as fingerprint:
        response = client.post(
            url("import-list"),
            b"",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH="999999999",
            headers={"Idempotency-Key": "big-1"},
        )
    assert_error(response, 413)
    fingerprint.assert_not_called()  # nothing read the body, not even the Idempotency-Key check


def test_the_same_idempotency_key_returns_the_same_job(client):
    first = upload(client, headers={"Idempotency-Key": "upload-1"})
    again = upload(client, headers={"Idempotency-Key": "upload-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1


def test_run_queues_the_job_after_the_commit_and_the_task_imports_it(client, team, django_capture_on_commit_callbacks):
    job_id = upload(client).json()["id"]
    with mock.patch.object(tasks.run_import, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import-run", pk=job_id))
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued"
    delay.assert_called_once_with(job_id)
    tasks.run_import(job_id)
    job = client.get(url("import-detail", pk=job_id)).json()
    assert job["state"] == "succeeded"
    assert job["progress"] == {"done": 2, "total": 2, "percent": 100}
    assert job["result"]["created"] == 2
    assert ImportJob.objects.get(pk=job_id).data == b""  # the bytes go once imported
    titles = set(BacklogItem.objects.filter(project=team.project).values_list("title", flat=True))
    assert titles == {"Log in with a phone number", "Fix the crash on start"}


def test_run_replays_with_the_same_idempotency_key(client, django_capture_on_commit_callbacks):
    job_id = upload(client).json()["id"]
    with mock.patch.object(tasks.run_import, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        first = client.post(url("import-run", pk=job_id), HTTP_IDEMPOTENCY_KEY="run-1")
        again = client.post(url("import-run", pk=job_id), HTTP_IDEMPOTENCY_KEY="run-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    delay.assert_called_once_with(job_id)


@pytest.mark.parametrize("state", ["queued", "running", "succeeded"])
def test_running_a_job_that_is_queued_running_or_done_is_a_conflict(client, state):
    job_id = upload(client).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(state=state)
    body = assert_error(client.post(url("import-run", pk=job_id)), 409)
    assert body["type"] == "conflict"


def test_a_failed_job_can_run_again(client, django_capture_on_commit_callbacks):
    job_id = upload(client).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(state=ImportState.FAILED, error="boom")
    with mock.patch.object(tasks.run_import, "delay"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import-run", pk=job_id))
    assert response.status_code == 202
    assert response.json()["error"] == ""


def test_progress_of_a_running_job_comes_from_the_cache(client):
    job_id = upload(client).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(state=ImportState.RUNNING)
    cache.set(jobs.progress_key(job_id), (1, 2, time.time()))
    assert client.get(url("import-detail", pk=job_id)).json()["progress"] == {"done": 1, "total": 2, "percent": 50}


def test_another_projects_job_and_unknown_ids_are_not_found(client, team):
    other = make_project(key="XX", admin=team.admin)
    foreign = jobs.create_job(project=other, by=team.admin, filename="x.csv", data=CSV)
    assert_error(client.get(url("import-detail", pk=foreign.pk)), 404)
    assert_error(client.post(url("import-run", pk=foreign.pk)), 404)
    assert_error(client.get(url("import-detail", pk=999999)), 404)
    assert ImportJob.objects.get(pk=foreign.pk).state == ImportState.PREVIEWED


def test_the_list_is_newest_first_in_a_constant_number_of_queries(client, team, django_assert_num_queries):
    counts = []
    for size in (1, 6):
        while ImportJob.objects.count() < size:
            jobs.create_job(project=team.project, by=team.admin, filename="x.csv", data=CSV)
        with django_assert_num_queries(3) as captured:
            response = client.get(url("import-list"))
        counts.append(len(captured))
        ids = [job["id"] for job in response.json()["results"]]
        assert ids == sorted(ids, reverse=True)
        assert len(ids) == size
    assert counts[0] == counts[1]


def test_the_schema_documents_the_import_routes_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/v1/projects/{key}/imports/:",
        "/api/v1/projects/{key}/imports/{id}/:",
        "/api/v1/projects/{key}/imports/{id}/run/:",
    ):
        assert path in schema
    assert "multipart/form-data" in schema
    assert "format: binary" in schema
    assert "'413':" in schema


def test_with_the_broker_down_the_job_goes_back_to_previewed_and_says_so(client, django_capture_on_commit_callbacks):
    job_id = upload(client).json()["id"]
    with publishing_to(f"redis://127.0.0.1:{closed_port()}/0"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import-run", pk=job_id))
    assert response.status_code == 202
    job = client.get(url("import-detail", pk=job_id)).json()
    assert job["state"] == "previewed"
    assert "could not be reached" in job["error"]


def closed_port() -> int:
    """A local port nothing listens on: the broker is down for real."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
