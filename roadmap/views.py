"""The roadmap pages: the timeline, the phase, milestone and release forms, the release page.

Everyone in the project reads; "manage roadmap" writes, always through roadmap.services. A phase's
or a milestone's page is its form for managers and a read-only summary for everyone else.
"""

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backlog.models import BacklogItem, ItemType
from roadmap import selectors, services
from roadmap.charts import Links, timeline
from roadmap.forms import MilestoneForm, NotesForm, PhaseForm, ReleaseActionForm, ReleaseForm, TemplateForm
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from roles import policy
from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project
from sprints.models import SprintState, one_month_after

SERVICE_ERRORS = (ValidationError, PermissionDenied)  # ConflictError is a ValidationError
MANAGE = Permission.MANAGE_ROADMAP
TAB = "roadmap"


def _can_manage(request, project) -> bool:
    return policy.can(request.user, project, MANAGE)


def _require_manage_to_post(request, project) -> bool:
    """Members read a page; only managers post to it (403 as the policy would answer)."""
    can = _can_manage(request, project)
    if request.method == "POST" and not can:
        raise PermissionDenied
    return can


def _get_or_404(model, project, pk: int):
    obj = model.objects.filter(project=project, pk=pk).first()
    if obj is None:
        raise Http404
    obj.project = project
    return obj


def _timeline(project):
    return redirect("roadmap:timeline", key=project.key)


def _with_project(items, project) -> list[BacklogItem]:
    """The items in key order, each told its project so that ``.key`` needs no query."""
    result = list(items.order_by("number"))
    for item in result:
        item.project = project
    return result


def _linked(target) -> list[BacklogItem]:
    return _with_project(target.items.all(), target.project)


def _link_changes(target, wanted: list[BacklogItem], current: list[BacklogItem], by) -> None:
    current_ids = {item.pk for item in current}
    wanted_ids = {item.pk for item in wanted}
    add = [item for item in wanted if item.pk not in current_ids]
    remove = [item for item in current if item.pk not in wanted_ids]
    if add or remove:
        services.link_items(target=target, by=by, add=add, remove=remove)


def _links(project) -> Links:
    def url(name: str, **kwargs) -> str:
        return reverse(name, kwargs={"key": project.key, **kwargs})

    return Links(
        phase=lambda phase: url("roadmap:phase", pk=phase.pk),
        milestone=lambda milestone: url("roadmap:milestone", pk=milestone.pk),
        release=lambda release: url("roadmap:release", pk=release.pk),
        epic=lambda epic: url("backlog:item", item_key=f"{project.key}-{epic.number}"),
        sprint=lambda sprint: url(
            "sprints:review" if sprint.state == SprintState.COMPLETED else "sprints:plan", pk=sprint.pk
        ),
    )


# --- the timeline ---------------------------------------------------------------------------


@project_page()
def roadmap_timeline(request, project):
    data = selectors.roadmap(project)
    can_manage = _can_manage(request, project)
    empty = not (data.phases or data.milestones or data.releases)
    releases = [
        {
            "release": release,
            "progress": data.release_progress[release.pk],
            "forecast": data.forecasts.get(release.pk),
        }
        for release in data.releases
    ]
    phases = {phase.pk: phase for phase in data.phases}
    context = {
        "roadmap": data,
        "chart": None if empty else timeline(data, links=_links(project), title=_("Roadmap timeline")),
        "empty": empty,
        "phases": [(phase, data.phase_progress[phase.pk]) for phase in data.phases],
        "milestones": [(milestone, phases.get(milestone.phase_id or 0)) for milestone in data.milestones],
        "releases": releases,
        "can_manage": can_manage,
        "template_form": TemplateForm(initial={"start": data.today}) if can_manage and not data.phases else None,
    }
    return render_project(request, "roadmap/timeline.html", project, context, tab=TAB)


@require_POST
@project_page(MANAGE)
def apply_template(request, project):
    form = TemplateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _timeline(project)
    try:
        services.apply_template(project=project, by=request.user, start=form.cleaned_data["start"])
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("The three-month plan is in place: adjust the phases and link your epics."))
    return _timeline(project)


# --- phases ---------------------------------------------------------------------------------


def _render_phase(request, project, form, phase=None, *, data=None, status=None):
    context = {"form": form, "phase": phase, "can_manage": _can_manage(request, project)}
    if phase is not None:
        data = data or selectors.roadmap(project)
        linked = data.phase_items.get(phase.pk, [])
        context |= {
            "progress": data.phase_progress.get(phase.pk),
            "epics": [(epic, data.epic_progress.get(epic.pk)) for epic in data.epics_of(linked)],
            "items": _with_project(
                BacklogItem.objects.filter(pk__in=linked).exclude(type=ItemType.EPIC).select_related("status"), project
            ),
            "milestones": [m for m in data.milestones if m.phase_id == phase.pk],
        }
    return render_project(request, "roadmap/phase.html", project, context, tab=TAB, status=status)


def _next_phase_dates(project) -> dict:
    """A new phase starts the day after the last one ends (else today) and lasts a month."""
    last = Phase.objects.filter(project=project).order_by("-end_date").values_list("end_date", flat=True).first()
    start = last + datetime.timedelta(days=1) if last else timezone.localdate()
    return {"start_date": start, "end_date": one_month_after(start) - datetime.timedelta(days=1)}


@project_page(MANAGE)
def phase_create(request, project):
    form = PhaseForm(request.POST or None, project=project, initial=_next_phase_dates(project))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                phase = services.create_phase(project=project, by=request.user, **form.values())
                _link_changes(phase, form.linked(), [], request.user)
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Phase “%(name)s” added.") % {"name": phase.name})
            return _timeline(project)
    return _render_phase(request, project, form)


@project_page()
def phase_detail(request, project, pk: int):
    phase = _get_or_404(Phase, project, pk)
    can_manage = _require_manage_to_post(request, project)
    form = None
    if can_manage:
        current = _linked(phase)
        initial = {name: getattr(phase, name) for name in ("name", "goal", "start_date", "end_date", "status")}
        initial |= PhaseForm.initial_links(project, current)
        form = PhaseForm(request.POST or None, project=project, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    phase = services.update_phase(phase=phase, by=request.user, **form.values())
                    phase.project = project
                    _link_changes(phase, form.linked(), current, request.user)
            except SERVICE_ERRORS as exc:
                add_form_errors(form, exc)
                phase = _get_or_404(Phase, project, pk)
            else:
                messages.success(request, _("Phase “%(name)s” saved.") % {"name": phase.name})
                return _timeline(project)
    return _render_phase(request, project, form, phase)


@require_POST
@project_page(MANAGE)
def phase_delete(request, project, pk: int):
    phase = _get_or_404(Phase, project, pk)
    done = _("Phase “%(name)s” deleted.") % {"name": phase.name}
    return _delete(request, project, lambda: services.delete_phase(phase=phase, by=request.user), done)


def _delete(request, project, delete, done: str, *, on_error: str | None = None):
    """Runs ``delete``; its refusal is flashed (back to ``on_error`` or the timeline), else ``done``."""
    try:
        delete()
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
        return redirect(on_error) if on_error else _timeline(project)
    messages.success(request, done)
    return _timeline(project)


# --- milestones -----------------------------------------------------------------------------


def _render_milestone(request, project, form, milestone=None):
    context = {"form": form, "milestone": milestone, "can_manage": _can_manage(request, project)}
    if milestone is not None and milestone.phase_id:
        context["milestone_phase"] = Phase.objects.filter(pk=milestone.phase_id).first()
    return render_project(request, "roadmap/milestone.html", project, context, tab=TAB)


@project_page(MANAGE)
def milestone_create(request, project):
    initial = {"phase": request.GET.get("phase")} if request.GET.get("phase", "").isdigit() else None
    form = MilestoneForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            milestone = services.create_milestone(project=project, by=request.user, **form.values())
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Milestone “%(name)s” added.") % {"name": milestone.name})
            return _timeline(project)
    return _render_milestone(request, project, form)


@project_page()
def milestone_detail(request, project, pk: int):
    milestone = _get_or_404(Milestone, project, pk)
    form = None
    if _require_manage_to_post(request, project):
        initial = {name: getattr(milestone, name) for name in ("name", "date", "done")} | {"phase": milestone.phase_id}
        form = MilestoneForm(request.POST or None, project=project, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                milestone = services.update_milestone(milestone=milestone, by=request.user, **form.values())
            except SERVICE_ERRORS as exc:
                add_form_errors(form, exc)
                milestone = _get_or_404(Milestone, project, pk)
            else:
                messages.success(request, _("Milestone “%(name)s” saved.") % {"name": milestone.name})
                return _timeline(project)
    return _render_milestone(request, project, form, milestone)


@require_POST
@project_page(MANAGE)
def milestone_delete(request, project, pk: int):
    milestone = _get_or_404(Milestone, project, pk)
    done = _("Milestone “%(name)s” deleted.") % {"name": milestone.name}
    return _delete(request, project, lambda: services.delete_milestone(milestone=milestone, by=request.user), done)


# --- releases -------------------------------------------------------------------------------


def _release_url(release: Release) -> str:
    return reverse("roadmap:release", kwargs={"key": release.project.key, "pk": release.pk})


def _render_release_form(request, project, form, release=None):
    context = {"form": form, "release": release}
    return render_project(request, "roadmap/release_form.html", project, context, tab=TAB)


@project_page(MANAGE)
def release_create(request, project):
    form = ReleaseForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                release = services.create_release(project=project, by=request.user, **form.values())
                release.project = project
                _link_changes(release, form.linked(), [], request.user)
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Release %(version)s added.") % {"version": release.version})
            return redirect(_release_url(release))
    return _render_release_form(request, project, form)


@project_page(MANAGE)
def release_edit(request, project, pk: int):
    release = _get_or_404(Release, project, pk)
    if release.is_released:
        messages.error(
            request, _("Version %(version)s is released; it no longer changes.") % {"version": release.version}
        )
        return redirect(_release_url(release))
    current = _linked(release)
    initial = {name: getattr(release, name) for name in ("version", "name", "target_date", "status")}
    initial |= {"phase": release.phase_id} | ReleaseForm.initial_links(project, current)
    form = ReleaseForm(request.POST or None, project=project, release=release, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                release = services.update_release(release=release, by=request.user, **form.values())
                release.project = project
                _link_changes(release, form.linked(), current, request.user)
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
            release = _get_or_404(Release, project, pk)
        else:
            messages.success(request, _("Release %(version)s saved.") % {"version": release.version})
            return redirect(_release_url(release))
    return _render_release_form(request, project, form, release)


def _render_release(request, project, release, *, notes_form=None, action_form=None, status=None):
    data = selectors.roadmap(project)
    can_manage = _can_manage(request, project)
    links: list[Any] = list(
        ReleaseItem.objects.filter(release=release).select_related("item__status").order_by("item__number")
    )
    for link in links:
        link.item.project = project
        link.epic_progress = data.epic_progress.get(link.item.pk) if link.item.type == ItemType.EPIC else None
    editable = can_manage and not release.is_released
    generated = not (release.is_released or release.notes_edited)
    notes = services.generate_notes(release) if generated else release.notes
    if editable and notes_form is None:
        notes_form = NotesForm(initial={"notes": notes})
    if editable and action_form is None:
        action_form = ReleaseActionForm(release=release)
    context = {
        "release": release,
        "phase": next((p for p in data.phases if p.pk == release.phase_id), None),
        "progress": data.release_progress.get(release.pk),
        "forecast": data.forecasts.get(release.pk),
        "links": links,
        "notes": notes,
        "generated": generated,
        "notes_form": notes_form if editable else None,
        "action_form": action_form if editable else None,
        "can_manage": can_manage,
        "today": timezone.localdate(),
    }
    return render_project(request, "roadmap/release.html", project, context, tab=TAB, status=status)


@project_page()
def release_detail(request, project, pk: int):
    return _render_release(request, project, _get_or_404(Release, project, pk))


@require_POST
@project_page(MANAGE)
def release_notes(request, project, pk: int):
    release = _get_or_404(Release, project, pk)
    form = NotesForm(request.POST)
    if form.is_valid():
        try:
            services.update_release(release=release, by=request.user, notes=form.cleaned_data["notes"])
        except SERVICE_ERRORS as exc:
            flash_error(request, exc)
            return redirect(_release_url(release))
        messages.success(request, _("Release notes saved."))
        return redirect(_release_url(release))
    return _render_release(request, project, release, notes_form=form)


@require_POST
@project_page(MANAGE)
def release_ship(request, project, pk: int):
    release = _get_or_404(Release, project, pk)
    if release.is_released:
        messages.error(request, _("Version %(version)s is released already.") % {"version": release.version})
        return redirect(_release_url(release))
    form = ReleaseActionForm(request.POST, release=release)
    if form.is_valid():
        try:
            services.release_version(
                release=release,
                by=request.user,
                released_on=form.cleaned_data["released_on"],
                move_unfinished_to=form.cleaned_data["move_unfinished_to"],
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Version %(version)s is released.") % {"version": release.version})
            return redirect(_release_url(release))
    return _render_release(request, project, release, action_form=form)


@require_POST
@project_page(MANAGE)
def release_delete(request, project, pk: int):
    release = _get_or_404(Release, project, pk)
    done = _("Release %(version)s deleted.") % {"version": release.version}
    delete = lambda: services.delete_release(release=release, by=request.user)  # noqa: E731
    return _delete(request, project, delete, done, on_error=_release_url(release))
