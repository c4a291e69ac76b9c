"""The import pages: upload (errors in the form, nothing saved), the preview, run, the job page with
its progress bar (self-refreshing without JavaScript), the result, past imports in a constant number
of queries, dates in the project's time zone. Every route x persona is in the matrix page rows."""

import datetime
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations import tasks
from integrations.importing import jobs
from integrations.models import ImportJob, ImportState
from tests.html_safety import unsafe_parts

pytestmark = pytest.mark.django_db

CSV = (
    b"Summary,Issue key,Issue Type,Status,Assignee,Labels,Custom field (Team)\r\n"
    b"Log in with a phone number,J-1,Story,In Progress,Nobody Here,auth,Alpha\r\n"
    b",J-2,Bug,To Do,,,\r\n"
    b"<script>alert(1)</script>,J-3,Task,Closed,,,\r\n"
)
PAGE_TAGS = frozenset({"script", "form", "link", "meta", "svg", "noscript"})


def url(name: str, key: str = "SB", **kwargs) -> str:
    return reverse(f"integrations:{name}", kwargs={"key": key, **kwargs})


def post_file(client, data: bytes = CSV, *, source: str = "", name: str = "jira.csv"):
    return client.post(url("imports"), {"file": SimpleUploadedFile(name, data), "source": source})


@pytest.fixture
def sm_client(client, scrum_master):
    client.force_login(scrum_master)
    return client


def test_the_import_page_has_the_form_and_the_tab(sm_client):
    response = sm_client.get(url("imports"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert "Detect automatically" in html
    assert 'aria-current="page">Import</a>' in html


def test_uploading_shows_the_preview_and_imports_nothing(sm_client, team):
    response = post_file(sm_client)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("import_detail", pk=job.pk)
    html = sm_client.get(response["Location"]).content.decode()
    assert "Preview: what the import will do" in html
    assert "Run import" in html
    assert "Nobody Here" in html  # unmatched person
    assert "Custom field (Team)" in html  # ignored column
    assert "J-2" in html  # the row without a summary, with its reason
    assert not team.project.items.exists()
    assert unsafe_parts(html, allow_tags=PAGE_TAGS) == []


def test_a_bad_file_shows_its_error_in_the_form_and_saves_nothing(sm_client):
    response = post_file(sm_client, b"\x00\x01\x02", name="x.bin")
    assert response.status_code == 400
    assert "not recognised" in response.content.decode()
    assert response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()


def test_a_missing_file_and_a_too_large_one_show_in_the_form(sm_client, settings):
    response = sm_client.post(url("imports"), {"source": ""})
    assert response.context["form"].errors["file"] == ["Choose the file to import."]
    settings.IMPORT_MAX_BYTES = 10
    response = post_file(sm_client)
    assert "larger than" in response.context["form"].errors["file"][0]
    assert not ImportJob.objects.exists()


def test_running_queues_and_the_job_page_shows_a_progress_bar_that_refreshes_without_javascript(
    sm_client, team, django_capture_on_commit_callbacks
):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    with mock.patch.object(tasks.run_import, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = sm_client.post(url("import_run", pk=job.pk))
    assert response.status_code == 302
    delay.assert_called_once_with(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING)
    cache.set(jobs.progress_key(job.pk), (1, 2, time.time()))
    response = sm_client.get(url("import_detail", pk=job.pk))
    html = response.content.decode()
    assert '<progress id="import-progress" style="width: 100%" max="100" value="50"' in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    assert "js/import.js" in html
    assert response["Cache-Control"] == "no-store"
    assert "Run import" not in html


def test_running_twice_says_why_it_cannot(sm_client, team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.SUCCEEDED)
    response = sm_client.post(url("import_run", pk=job.pk), follow=True)
    assert "already run" in response.content.decode()


def test_a_finished_job_shows_the_result_and_a_link_to_the_backlog(sm_client, team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    jobs.queue_job(job=job, by=team.admin)
    jobs.run_job(job.pk)
    html = sm_client.get(url("import_detail", pk=job.pk)).content.decode()
    assert "Items created" in html
    assert reverse("backlog:list", kwargs={"key": "SB"}) in html
    assert 'value="100"' in html
    assert "http-equiv" not in html


def test_a_failed_job_shows_the_error_and_can_run_again(sm_client, team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.FAILED, error="Row 2 broke.")
    html = sm_client.get(url("import_detail", pk=job.pk)).content.decode()
    assert "Row 2 broke." in html
    assert "Run import again" in html


def test_dates_show_in_the_projects_time_zone(sm_client, team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    at = datetime.datetime(2026, 11, 25, 23, 30, tzinfo=datetime.UTC)  # 04:30 next day in Almaty (UTC+5)
    ImportJob.objects.filter(pk=job.pk).update(created_at=at)
    html = sm_client.get(url("import_detail", pk=job.pk)).content.decode()
    assert "Nov. 26, 2026, 4:30 a.m." in html


def test_past_imports_list_in_a_constant_number_of_queries(sm_client, team, django_assert_num_queries):
    for size in (1, 5):
        while ImportJob.objects.count() < size:
            jobs.create_job(project=team.project, by=team.admin, filename=f"file-{size}.csv", data=CSV)
        with django_assert_num_queries(5):
            response = sm_client.get(url("imports"))
        assert len(response.context["past"]) == size


def test_a_body_announced_past_the_limit_is_refused_before_it_is_read(sm_client, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = sm_client.post(
        url("imports"), b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH="999999999"
    )
    assert response.status_code == 400
    assert "larger than" in response.context["form"].errors["file"][0]
    assert not ImportJob.objects.exists()


def test_a_restore_job_page_labels_everything_it_restored_and_left_out(client, team):
    """A Scrumboard export's contents are labelled in the reader's words, never shown as raw keys."""
    import json

    from integrations.exporting import export_project
    from tests.integrations.export_helpers import build_small_project, new_project_like

    source = build_small_project(team)
    copy_ = new_project_like(source, key="RT", skip=("dev",))
    data = json.dumps(export_project(source)).encode()
    job = jobs.create_job(project=copy_, by=team.admin, filename="SB.json", data=data)
    jobs.queue_job(job=job, by=team.admin)
    assert jobs.run_job(job.pk).state == ImportState.SUCCEEDED
    client.force_login(team.admin)

    html = client.get(reverse("integrations:import_detail", kwargs={"key": "RT", "pk": job.pk})).content.decode()

    for label in ("History events", "Daily scrum entries", "Retrospective cards", "Roadmap phases", "Releases"):
        assert label in html
    assert "Left out, because their person is not a member of this project:" in html
    assert "Health check ratings" in html
    for raw in ("history_events", "history events", "standup_entries", "{'", "[{"):
        assert raw not in html
