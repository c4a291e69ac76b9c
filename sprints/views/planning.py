"""Sprint planning: the product backlog beside the sprint, capacity, the goal, days off, the start."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Sum
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backlog import selectors as backlog_selectors
from backlog import services as backlog_services
from backlog.models import BacklogItem, ItemType, StatusCategory
from backlog.presentation import prepare_rows
from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project
from sprints import selectors, services
from sprints.charts import format_number
from sprints.forms import DaysOffForm, GoalForm
from sprints.models import Sprint
from sprints.views.common import ROW_DEFERRED, SERVICE_ERRORS, _can, _sprint_context, _sprint_or_404, _url

# Rows of the product backlog on the planning page; "Show more" appends the next ones.
PLAN_PAGE_SIZE = 200


def _plan_backlog(project, query: str):
    """The product backlog as planning sees it: not in a sprint, not done, no epics, in rank order."""
    items = (
        BacklogItem.objects.filter(project=project, sprint__isnull=True)
        .exclude(type=ItemType.EPIC)
        .exclude(status__category=StatusCategory.DONE)
    )
    return backlog_selectors.search(items, query).order_by("rank")


def _plan_rows(project, items, *, after: str = "") -> tuple[list, bool]:
    rows, has_more = backlog_selectors.backlog_page(
        items.for_list().defer(*ROW_DEFERRED), after=after, size=PLAN_PAGE_SIZE
    )
    return prepare_rows(rows, project=project), has_more


def _summary_context(sprint: Sprint) -> dict:
    capacity = selectors.sprint_capacity(sprint)
    role_rows = []
    for role in capacity.roles:
        limit = role.capacity_points
        role_rows.append(
            {
                "role": role,
                "percent": min(100, round(role.planned_points / limit * 100)) if limit else None,
            }
        )
    return {
        "capacity": capacity,
        "role_rows": role_rows,
        "role_over": any(role.over for role in capacity.roles),
        "velocity_percent": _meter(capacity.planned_points, capacity.average_velocity),
        "capacity_percent": _meter(capacity.planned_points, capacity.capacity_points),
    }


def _meter(value: float, limit: float | None) -> int | None:
    if not limit:
        return None
    return min(100, round(value / limit * 100))


def _plan_context(request, project, sprint: Sprint, *, days_form=None, goal_form=None) -> dict:
    query = request.GET.get("q", "").strip()
    backlog = _plan_backlog(project, query)
    rows, has_more = _plan_rows(project, backlog)
    totals = backlog.aggregate(count=Count("pk"), points=Sum("points"))
    sprint_rows = prepare_rows(list(selectors.sprint_items(sprint).defer(*ROW_DEFERRED)), project=project)
    summary = _summary_context(sprint)
    capacity = summary["capacity"]
    can_manage = _can(request, project, Permission.MANAGE_SPRINTS)
    if days_form is None:
        days_form = DaysOffForm(members=capacity.members, working_days=capacity.working_days)
    return {
        **_sprint_context(request, project, sprint, "plan"),
        **summary,
        "backlog_rows": rows,
        "has_more": has_more,
        "next_after": rows[-1].rank if rows else "",
        "query": query,
        "backlog_count": totals["count"],
        "backlog_points": totals["points"] or 0,
        "sprint_rows": sprint_rows,
        "can_plan": can_manage and sprint.accepts_items,
        "days_form": days_form,
        "goal_form": goal_form or GoalForm(initial={"goal": sprint.goal}),
        "move_url": reverse("api:item-move", kwargs={"key": project.key, "item_key": "ITEM-KEY"}),
    }


@project_page()
def sprint_plan(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    fragment = request.GET.get("fragment")
    if fragment == "summary":
        return render_project(
            request, "sprints/_plan_summary.html", project, {"sprint": sprint, **_summary_context(sprint)}
        )
    if fragment == "backlog":
        # "Show more": the next rows of the product backlog.
        rows, has_more = _plan_rows(
            project, _plan_backlog(project, request.GET.get("q", "")), after=request.GET.get("after", "")
        )
        context = {
            "sprint": sprint,
            "rows": rows,
            "has_more": has_more,
            "next_after": rows[-1].rank if rows else "",
            "query": request.GET.get("q", ""),
            "can_plan": _can(request, project, Permission.MANAGE_SPRINTS) and sprint.accepts_items,
            "in_sprint": False,
        }
        return render_project(request, "sprints/_plan_rows.html", project, context)
    return render_project(request, "sprints/plan.html", project, _plan_context(request, project, sprint), tab="sprints")


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def plan_move(request, project, pk: int):
    """The planning page without JavaScript: one item into the sprint or back to the backlog."""
    sprint = _sprint_or_404(project, pk)
    item = backlog_selectors.item_by_key(project, request.POST.get("item", ""))
    if item is None:
        messages.error(request, _("No such item in this project."))
        return redirect(_url("plan", sprint))
    into = request.POST.get("to") == "sprint"
    try:
        backlog_services.move_item(item=item, by=request.user, sprint=sprint if into else None)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        if into:
            messages.success(request, _("%(key)s added to %(name)s.") % {"key": item.key, "name": sprint.name})
        else:
            messages.success(request, _("%(key)s is back in the product backlog.") % {"key": item.key})
    return redirect(_url("plan", sprint))


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def sprint_goal(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    form = GoalForm(request.POST)
    if form.is_valid():
        try:
            services.update_sprint(sprint=sprint, by=request.user, goal=form.cleaned_data["goal"])
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Sprint goal saved."))
            return redirect(_url("plan", sprint))
    sprint = _sprint_or_404(project, pk)
    context = _plan_context(request, project, sprint, goal_form=form)
    return render_project(request, "sprints/plan.html", project, context, tab="sprints")


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def days_off(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    capacity = selectors.sprint_capacity(sprint)
    form = DaysOffForm(request.POST, members=capacity.members, working_days=capacity.working_days)
    if form.is_valid():
        try:
            with transaction.atomic():
                for user, days in form.changes():
                    services.set_days_off(sprint=sprint, by=request.user, user=user, days=days)
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Days off saved."))
            return redirect(_url("plan", sprint) + "#capacity")
    context = _plan_context(request, project, sprint, days_form=form)
    return render_project(request, "sprints/plan.html", project, context, tab="sprints")


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def sprint_start(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    try:
        services.start_sprint(sprint=sprint, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
        return redirect(_url("plan", sprint))
    committed = sprint.commitment.aggregate(count=Count("pk"), points=Sum("points"))
    messages.success(
        request,
        ngettext(
            "%(name)s started: %(count)d item, %(points)s points committed.",
            "%(name)s started: %(count)d items, %(points)s points committed.",
            committed["count"],
        )
        % {"name": sprint.name, "count": committed["count"], "points": format_number(float(committed["points"] or 0))},
    )
    return redirect(_url("board", sprint))
