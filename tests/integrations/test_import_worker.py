"""An import run by a real Celery worker on a real Redis: the upload is previewed in the web process,
"Run" publishes after the commit, the worker applies the file in its own transaction and the job
ends succeeded with the items in the database. Fixtures from tests/notifications/worker_support.py."""

import time

import pytest
from django.db import connection
from django.utils import timezone

from integrations.importing import jobs
from integrations.models import ImportJob, ImportState, SourceLink
from tests.notifications.worker_support import RedisServer, Worker, publishing_to, wait_for, worker_environment

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CSV = (
    b"Summary,Issue key,Issue Type,Status,Parent\r\n"
    b"Online booking,J-1,Epic,In Progress,\r\n"
    b"Book a visit from the phone,J-2,Story,To Do,J-1\r\n"
    b"Remind the patient a day before,J-3,Story,Done,J-1\r\n"
)


@pytest.fixture
def worker(transactional_db, tmp_path):
    if connection.vendor != "postgresql":  # another process cannot share an SQLite test database
        pytest.fail(f"the worker tests need PostgreSQL, not {connection.vendor}")
    server = RedisServer(tmp_path / "redis")
    server.start()
    env = worker_environment(redis_url=server.url, var_dir=tmp_path / "var", mail_log=tmp_path / "mail.log")
    process = Worker(env=env, log_path=tmp_path / "worker.log")
    try:
        with publishing_to(server.url):
            yield process
    finally:
        process.stop()
        server.stop()


def test_a_real_worker_runs_the_import_once_and_the_job_ends_succeeded(worker, team):
    job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
    jobs.queue_job(job=job, by=team.admin)  # publishes after its own commit (no test transaction here)
    finished = ImportJob.objects.filter(pk=job.pk, state__in=[ImportState.SUCCEEDED, ImportState.FAILED])
    assert wait_for(finished.exists, timeout=60, workers=[worker]), worker.log()
    job.refresh_from_db()
    assert (job.state, job.error) == (ImportState.SUCCEEDED, ""), worker.log()
    assert job.result["created"] == 3
    assert (job.progress_done, job.progress_total) == (3, 3)
    items = {link.source_key: link.item for link in SourceLink.objects.filter(project=team.project, kind="item")}
    assert items["J-2"].parent == items["J-1"]
    assert team.project.items.count() == 3
    assert "raised unexpected" not in worker.log()


def test_a_job_whose_message_redis_lost_is_published_again_by_the_sweep(team, tmp_path):
    """Redis keeps nothing on disk: a restart loses a queued message. The sweep publishes it again."""
    if connection.vendor != "postgresql":
        pytest.fail(f"the worker tests need PostgreSQL, not {connection.vendor}")
    server = RedisServer(tmp_path / "redis")
    server.start()
    env = worker_environment(redis_url=server.url, var_dir=tmp_path / "var", mail_log=tmp_path / "mail.log")
    process = None
    try:
        with publishing_to(server.url):
            job = jobs.create_job(project=team.project, by=team.admin, filename="jira.csv", data=CSV)
            jobs.queue_job(job=job, by=team.admin)  # published, and no worker yet
            server.stop()
            server.start()  # the message is gone with the restart
            process = Worker(env=env, log_path=tmp_path / "worker.log")
            process.wait_ready()
            time.sleep(1)
            assert ImportJob.objects.get(pk=job.pk).state == ImportState.QUEUED  # nothing to run
            ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - jobs.REQUEUE_AFTER)
            assert jobs.sweep()["requeued"] == 1
            succeeded = ImportJob.objects.filter(pk=job.pk, state=ImportState.SUCCEEDED)
            assert wait_for(succeeded.exists, timeout=60, workers=[process]), process.log()
        assert team.project.items.count() == 3
    finally:
        if process is not None:
            process.stop()
        server.stop()
