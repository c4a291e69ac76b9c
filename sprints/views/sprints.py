"""The sprints list (create, edit, delete) and the velocity and forecast page."""

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project
from sprints import selectors, services
from sprints.forms import ForecastForm, SprintForm
from sprints.models import SprintState
from sprints.views.common import SERVICE_ERRORS, _can, _sprint_context, _sprint_or_404, _timing, _url, velocity_chart

# Completed sprints in the velocity page's chart.
VELOCITY_CHART_SPRINTS = 12


@project_page()
def sprint_list(request, project):
    return _render_list(request, project)


def _new_sprint_form(project) -> SprintForm:
    start, end = services.default_dates(project)
    return SprintForm(initial={"start_date": start, "end_date": end})


def _render_list(request, project, *, form=None, status=None):
    can_manage = _can(request, project, Permission.MANAGE_SPRINTS)
    # Rows carry what the page shows with them (timing, done_percent), like the backlog's rows.
    sprints: list[Any] = list(selectors.project_sprints(project).defer("report"))
    for sprint in sprints:
        sprint.project = project
    active = [s for s in sprints if s.state == SprintState.ACTIVE]
    planned = sorted((s for s in sprints if s.state == SprintState.PLANNED), key=lambda s: (s.start_date, s.number))
    completed = sorted((s for s in sprints if s.state == SprintState.COMPLETED), key=lambda s: s.number, reverse=True)
    for sprint in active + planned:
        sprint.timing = _timing(sprint)
    for sprint in completed:
        committed = float(sprint.committed_points or 0)
        sprint.done_percent = round(float(sprint.completed_points or 0) / committed * 100) if committed else None
    rows = selectors.velocity(project)
    next_number = max((s.number for s in sprints), default=0) + 1
    if can_manage and form is None:
        form = _new_sprint_form(project)
    return render_project(
        request,
        "sprints/sprint_list.html",
        project,
        {
            "active": active,
            "planned": planned,
            "completed": completed,
            "has_sprints": bool(sprints),
            "form": form if can_manage else None,
            "open_form": bool(form and form.is_bound) or not sprints,
            "next_name": _("Sprint %(number)s") % {"number": next_number},
            "can_manage": can_manage,
            "average": selectors.average_velocity(rows),
            "velocity_count": len(rows),
            "forecast": selectors.forecast(project, rows=rows[-selectors.FORECAST_HISTORY :]) if rows else None,
        },
        tab="sprints",
        status=status,
    )


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def sprint_create(request, project):
    form = SprintForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sprint = services.create_sprint(
                project=project,
                by=request.user,
                name=data["name"],
                goal=data["goal"],
                start_date=data["start_date"],
                end_date=data["end_date"],
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("%(name)s planned. Drag items into it.") % {"name": sprint.name})
            return redirect(_url("plan", sprint))
    return _render_list(request, project, form=form)


@project_page(Permission.MANAGE_SPRINTS)
def sprint_edit(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    if sprint.is_completed:
        messages.error(request, _("A completed sprint belongs to its report and is not edited."))
        return redirect(_url("review", sprint))
    initial = {"name": sprint.name, "goal": sprint.goal, "start_date": sprint.start_date, "end_date": sprint.end_date}
    if request.method == "POST":
        form = SprintForm(request.POST, initial=initial, start_fixed=sprint.is_active)
        if form.is_valid():
            changes = form.changes(sprint)
            try:
                if changes:
                    services.update_sprint(sprint=sprint, by=request.user, **changes)
            except SERVICE_ERRORS as exc:
                add_form_errors(form, exc)
                sprint = _sprint_or_404(project, pk)  # the service set fields before it refused
            else:
                messages.success(request, _("%(name)s saved.") % {"name": sprint.name})
                return redirect(_url("plan", sprint))
    else:
        form = SprintForm(initial=initial, start_fixed=sprint.is_active)
    context = _sprint_context(request, project, sprint, "edit") | {"form": form}
    return render_project(request, "sprints/sprint_edit.html", project, context, tab="sprints")


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def sprint_delete(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    name, count = sprint.name, sprint.items.count()
    try:
        services.delete_sprint(sprint=sprint, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            ngettext(
                "%(name)s deleted; its %(count)d item is back in the backlog.",
                "%(name)s deleted; its %(count)d items are back in the backlog.",
                count,
            )
            % {"name": name, "count": count}
            if count
            else _("%(name)s deleted.") % {"name": name},
        )
    return redirect("sprints:list", key=project.key)


# --- velocity and forecast ----------------------------------------------------------------


@project_page()
def velocity(request, project):
    rows = selectors.velocity(project)
    form = ForecastForm(request.GET or None)
    custom = None
    if form.is_bound and form.is_valid() and form.cleaned_data["points"] is not None:
        custom = selectors.forecast(project, remaining=float(form.cleaned_data["points"]), rows=rows)
    shown = rows[-VELOCITY_CHART_SPRINTS:]
    context = {
        "rows": list(reversed(rows)),
        "chart": velocity_chart(shown, title=_("Velocity: committed and completed points per sprint"))
        if rows
        else None,
        "average": selectors.average_velocity(rows),
        "window": selectors.VELOCITY_WINDOW,
        "forecast": selectors.forecast(project, rows=rows) if rows else None,
        "remaining": selectors.remaining_backlog_points(project),
        "custom": custom,
        "form": form if form.is_bound else ForecastForm(),
        "can_manage": _can(request, project, Permission.MANAGE_SPRINTS),
    }
    return render_project(request, "sprints/velocity.html", project, context, tab="sprints")
