"""No import hangs: the sweeper fails a running job whose worker went silent (its transaction rolled
back with the connection) and publishes again a job queued too long. The lost-message case with a
real Redis and worker is in test_import_worker.py."""

import datetime
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.importing import jobs
from integrations.models import ImportJob, ImportState

pytestmark = pytest.mark.django_db

CSV = b"Summary,Issue key,Issue Type,Status\r\nOnline booking,J-1,Story,To Do\r\nReminders,J-2,Story,Done\r\n"


@pytest.fixture
def job(team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    return job


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def test_a_running_job_whose_worker_went_silent_fails_and_can_run_again(job, team):
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING, started_at=ago(minutes=30))
    cache.set(jobs.progress_key(job.pk), (1, 2, time.time() - 600), jobs.PROGRESS_TTL)  # last heard 10 min ago

    assert jobs.sweep() == {"requeued": 0, "failed": 1}

    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "worker stopped" in job.error
    assert team.project.items.count() == 0
    jobs.queue_job(job=job, by=team.admin)
    assert jobs.run_job(job.pk).state == ImportState.SUCCEEDED
    assert team.project.items.count() == 2


def test_a_running_job_never_heard_from_fails_too(job):
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING, started_at=ago(minutes=30))
    assert jobs.sweep()["failed"] == 1


@pytest.mark.parametrize(
    ("started", "beat_seconds_ago"),
    [(ago(minutes=30), 5), (ago(seconds=30), None)],
    ids=["long-but-reporting", "just-started"],
)
def test_a_running_job_that_reports_or_just_started_is_left_alone(job, started, beat_seconds_ago):
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING, started_at=started)
    if beat_seconds_ago is not None:
        cache.set(jobs.progress_key(job.pk), (1, 2, time.time() - beat_seconds_ago), jobs.PROGRESS_TTL)
    assert jobs.sweep() == {"requeued": 0, "failed": 0}
    job.refresh_from_db()
    assert job.state == ImportState.RUNNING


def test_only_a_job_queued_past_the_limit_is_published_again(job, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        jobs.queue_job(job=job, by=team.admin)  # the message is never sent: lost
    assert jobs.sweep()["requeued"] == 0  # queued a moment ago: its message may still be on the way
    ImportJob.objects.filter(pk=job.pk).update(queued_at=ago(minutes=3))
    assert jobs.sweep()["requeued"] == 1
    job.refresh_from_db()
    assert job.state == ImportState.QUEUED  # published again, for a worker to claim once


def test_the_beat_runs_the_sweep_every_minute(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["integrations.tasks.sweep_imports"] == 60.0
