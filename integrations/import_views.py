"""The project's import pages: upload and past imports, a job's preview, progress and result, run.

Every page takes "manage integrations" (as the API). Writes go through ``integrations.importing.jobs``.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backlog.models import ItemType, StatusCategory
from integrations.import_api import MULTIPART_SLACK
from integrations.import_forms import ImportForm
from integrations.importing import jobs
from integrations.importing.labels import count_labels
from integrations.importing.records import ImportFileError
from integrations.importing.sources import SOURCES
from integrations.models import ImportJob, ImportState
from roles.models import Permission
from scrumboard.pages import flash_error, project_page, render_project
from sprints.models import SprintState

MANAGE = Permission.MANAGE_INTEGRATIONS
TAB = "integrations"
PAST_IMPORTS = 50


def _job_or_404(project, pk: int) -> ImportJob:
    job = ImportJob.objects.filter(project=project, pk=pk).select_related("created_by").defer("data").first()
    if job is None:
        raise Http404
    job.project = project
    return job


def _announced_too_large(request) -> bool:
    """A body the request says is past the limit: refused before Django reads (and spools) it."""
    length = request.META.get("CONTENT_LENGTH") or ""
    return length.isdigit() and int(length) > settings.IMPORT_MAX_BYTES + MULTIPART_SLACK


@project_page(MANAGE)
def import_list(request, project):
    if request.method == "POST" and _announced_too_large(request):
        form = ImportForm(data={}, files={})
        form.full_clean()
        form.errors["file"] = form.error_class([jobs.too_large_message()])
    else:
        form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = jobs.create_job(
                project=project,
                by=request.user,
                filename=upload.name,
                data=upload.read(),
                source=form.cleaned_data["source"],
            )
        except ImportFileError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("integrations:import_detail", key=project.key, pk=job.pk)
    past = list(
        ImportJob.objects.filter(project=project).select_related("created_by").defer("data", "preview")[:PAST_IMPORTS]
    )
    for job in past:
        source = SOURCES.get(job.source)
        job.source_label = source.label if source else job.source  # type: ignore[attr-defined]
    context = {"form": form, "past": past}
    status = 400 if form.errors else None
    return render_project(request, "integrations/imports.html", project, context, tab=TAB, status=status)


def _result_rows(result: dict) -> list[tuple[str, object]]:
    """A finished job's figures: its own numbers, then a restore's contents (``counts``) beyond items."""
    labels = count_labels()
    figures = {key: value for key, value in result.items() if isinstance(value, int)}
    contents = result.get("counts")
    if not isinstance(contents, dict):
        contents = {}
    figures.update({key: value for key, value in contents.items() if key != "items"})
    return _labelled(figures, labels)


def _left_out_rows(result: dict) -> list[tuple[str, object]]:
    """What a restore left out because its person is not a member (``skipped``), where anything was."""
    skipped = result.get("skipped")
    if not isinstance(skipped, dict):
        skipped = {}
    return _labelled({key: value for key, value in skipped.items() if value}, count_labels())


def _labelled(counts: dict, labels: dict) -> list[tuple[str, object]]:
    """A report's ``{key: number}`` as (label, number) rows; keys a source adds show as they are."""
    return [(str(labels.get(key, key.replace("_", " "))), value) for key, value in counts.items()]


def _with_dates(rows: list[dict]) -> list[dict]:
    """Sprint rows with their ISO dates as dates, for the page to show in the reader's format."""
    return [{**row, **{k: _date(row.get(k)) for k in ("start", "end")}} for row in rows]


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return value


def _with_labels(rows: list[dict], key: str, labels: dict) -> list[dict]:
    """Report rows with one code (a category, a state) shown by its label."""
    return [{**row, key: labels.get(row.get(key), row.get(key))} for row in rows]


@project_page(MANAGE)
def import_detail(request, project, pk: int):
    job = _job_or_404(project, pk)
    running = job.state in (ImportState.QUEUED, ImportState.RUNNING)
    report = job.preview or {}
    source = SOURCES.get(job.source)
    type_labels = dict(ItemType.choices)
    context = {
        "job": job,
        "report": report,
        "source_label": source.label if source else job.source,
        "count_rows": _labelled(report.get("counts") or {}, count_labels()),
        "type_rows": _labelled(report.get("by_type") or {}, type_labels),
        "result_rows": _result_rows(job.result or {}),
        "left_out_rows": _left_out_rows(job.result or {}),
        "result_notes": [note for note in (job.result or {}).get("notes", []) if isinstance(note, str)],
        "status_rows": _with_labels(report.get("status_mapping") or [], "category", dict(StatusCategory.choices)),
        "sprint_rows": _with_dates(_with_labels(report.get("sprints") or [], "state", dict(SprintState.choices))),
        "progress": jobs.job_progress(job),
        "running": running,
    }
    response = render_project(request, "integrations/import_job.html", project, context, tab=TAB)
    if running:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@project_page(MANAGE)
def import_run(request, project, pk: int):
    job = _job_or_404(project, pk)
    try:
        jobs.queue_job(job=job, by=request.user)
    except (ValidationError, PermissionDenied) as exc:  # ConflictError is a ValidationError
        flash_error(request, exc)
    else:
        messages.success(request, _("Import queued. This page follows its progress."))
    return redirect("integrations:import_detail", key=project.key, pk=job.pk)
