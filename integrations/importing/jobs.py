"""Import jobs: upload and preview, queue, run (one transaction), progress, and the sweeper.

The upload is parsed and previewed at once (nothing written but the job); running parses the
kept bytes again and applies them in one transaction, so a failure halfway leaves nothing. While
that transaction runs its rows are invisible to others, so progress goes through the cache, with
the time of each report: the worker's heartbeat.

No job is left hanging. The sweeper (beat, every minute) publishes again a job queued for
``REQUEUE_AFTER`` (its message lost: Redis keeps nothing on disk), and fails a running job
whose worker has not reported for ``STALE_AFTER`` (killed: its transaction rolled back with the
connection, so nothing was written); such a job can be run again.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.importing.records import ImportFileError
from integrations.importing.sources import SOURCES, Source, detect
from integrations.models import ImportJob, ImportState
from projects.models import Project
from roles import policy
from roles.models import Permission
from scrumboard.errors import ConflictError

logger = logging.getLogger(__name__)

MANAGE = Permission.MANAGE_INTEGRATIONS
PROGRESS_TTL = 24 * 3600
RUNNABLE = (ImportState.PREVIEWED, ImportState.FAILED)
REQUEUE_AFTER = datetime.timedelta(minutes=2)
STALE_AFTER = datetime.timedelta(minutes=5)  # apply reports every few hundred rows: seconds apart


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def too_large_message() -> str:
    limit = settings.IMPORT_MAX_BYTES
    return _("The file is larger than %(limit)s MB, the most an import takes.") % {
        "limit": f"{limit / (1024 * 1024):.0f}" if limit >= 1024 * 1024 else f"{limit / (1024 * 1024):.2f}"
    }


def choose_source(data: bytes, name: str = "") -> Source:
    if not name:
        return detect(data)
    source = SOURCES.get(name)
    if source is None:
        raise ImportFileError(_("Choose one of the sources in the list."))
    return source


def create_job(*, project: Project, by, filename: str, data: bytes, source: str = "") -> ImportJob:
    """Parses and previews the file; the job waits in "previewed" until someone runs it."""
    policy.require(by, project, MANAGE)
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(too_large_message(), status=413)
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    chosen = choose_source(data, source)
    parsed = chosen.parse(data, tz=project.tzinfo)
    preview = chosen.preview(project, parsed)
    return ImportJob.objects.create(
        project=project,
        created_by=by,
        source=chosen.name,
        filename=(filename or "")[-255:],
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        preview=preview,
        progress_total=int(preview.get("counts", {}).get("items", 0) or 0),
    )


def queue_job(*, job: ImportJob, by) -> ImportJob:
    """Marks the job queued and hands it to the worker after the commit. Running or done: a conflict."""
    policy.require(by, job.project, MANAGE)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.state not in RUNNABLE:
            raise ConflictError(
                {
                    ImportState.QUEUED: _("This import is already queued."),
                    ImportState.RUNNING: _("This import is running."),
                    ImportState.SUCCEEDED: _("This import has already run. Upload the file again to import it again."),
                }[ImportState(locked.state)]
            )
        locked.state = ImportState.QUEUED
        locked.error = ""
        locked.progress_done = 0
        locked.queued_at = timezone.now()
        locked.save(update_fields=["state", "error", "progress_done", "queued_at"])
        cache.delete(progress_key(locked.pk))
        transaction.on_commit(lambda: _publish(locked.pk))
    locked.project = job.project
    return locked


def _publish(job_id: int) -> None:
    """Hands the job to the worker; with the broker down it goes back to "previewed", saying so."""
    from integrations.tasks import run_import  # tasks import this module

    try:
        run_import.delay(job_id)
    except Exception:  # kombu's OperationalError and friends: the broker is unreachable
        logger.exception("could not queue import job %s", job_id)
        ImportJob.objects.filter(pk=job_id, state=ImportState.QUEUED).update(
            state=ImportState.PREVIEWED,
            error=_("The background worker could not be reached, so the import did not start. Try again."),
        )


def run_job(job_id: int) -> ImportJob | None:
    """Applies a queued job's file in one transaction; the job ends succeeded or failed with the reason."""
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None  # not queued (a duplicate message, or run already)
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    source = SOURCES[job.source]

    def progress(done: int, total: int) -> None:
        cache.set(progress_key(job_id), (done, total, time.time()), PROGRESS_TTL)

    progress(0, job.progress_total)  # the first heartbeat, before parsing

    try:
        parsed = source.parse(bytes(job.data), tz=job.project.tzinfo)
        with transaction.atomic():
            result = source.apply(job.project, parsed, actor=job.created_by, job=job, progress=progress)
    except ImportFileError as exc:
        return _finish(job, state=ImportState.FAILED, error=exc.message)
    except Exception:  # the reason is logged; the person sees that nothing was imported
        logger.exception("import job %s failed", job_id)
        return _finish(job, state=ImportState.FAILED, error=_("The import failed and nothing was imported."))
    return _finish(job, state=ImportState.SUCCEEDED, result=result)


def _finish(job: ImportJob, *, state: str, result: dict | None = None, error: str = "") -> ImportJob:
    done, total, _beat = cache.get(progress_key(job.pk)) or (0, job.progress_total, 0.0)
    job.state = state
    job.result = result
    job.error = error
    job.finished_at = timezone.now()
    if state == ImportState.SUCCEEDED:
        job.data = b""  # imported: the bytes are no longer needed
        done = total
    job.progress_done, job.progress_total = done, total
    job.save(update_fields=["state", "result", "error", "finished_at", "data", "progress_done", "progress_total"])
    cache.delete(progress_key(job.pk))
    return job


def job_progress(job: ImportJob) -> dict:
    """``{"done", "total", "percent"}``: the cache's figures while running, the row's otherwise."""
    done, total = job.progress_done, job.progress_total
    if job.state == ImportState.RUNNING:
        done, total, _beat = cache.get(progress_key(job.pk)) or (0, total, 0.0)
    percent = int(done * 100 / total) if total else 0
    if job.state == ImportState.SUCCEEDED:
        percent = 100
    return {"done": done, "total": total, "percent": min(percent, 100)}


def sweep() -> dict[str, int]:
    """Publishes again the jobs queued too long; fails the running ones whose worker went silent."""
    now = timezone.now()
    waiting = ImportJob.objects.filter(state=ImportState.QUEUED, queued_at__lt=now - REQUEUE_AFTER)
    queued = list(waiting.values_list("pk", flat=True))
    for pk in queued:
        _publish(pk)  # run_job claims a job once, so a message that did arrive after all does no harm
    stale = 0
    running = ImportJob.objects.filter(state=ImportState.RUNNING, started_at__lt=now - STALE_AFTER)
    for pk in running.values_list("pk", flat=True):
        beat = cache.get(progress_key(pk))
        if beat is not None and beat[2] > time.time() - STALE_AFTER.total_seconds():
            continue
        stale += ImportJob.objects.filter(pk=pk, state=ImportState.RUNNING).update(
            state=ImportState.FAILED,
            finished_at=now,
            error=_("The worker stopped during the import, and nothing was imported. Run it again."),
        )
        cache.delete(progress_key(pk))
    if queued or stale:
        logger.warning("import sweep: %d queued job(s) published again, %d stalled job(s) failed", len(queued), stale)
    return {"requeued": len(queued), "failed": stale}
