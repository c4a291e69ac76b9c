"""The sprint review: the report and its charts, the goal's verdict, feedback into the backlog."""

import datetime

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from roles.models import Membership, Permission
from scrumboard.pages import add_form_errors, project_page, render_project
from sprints import selectors, services
from sprints.charts import Line, line_chart
from sprints.forms import FeedbackForm, GoalOutcomeForm
from sprints.models import Sprint
from sprints.views.common import (
    CHART_HEIGHT,
    CHART_WIDTH,
    ROW_DEFERRED,
    SERVICE_ERRORS,
    _can,
    _item_url_template,
    _sprint_context,
    _sprint_or_404,
    _url,
    velocity_chart,
)

# Completed sprints in the velocity trend of the review.
TREND_SPRINTS = 8


def _day_labels(days: list[str]) -> list[str]:
    labels = []
    for value in days:
        if value == "start":
            labels.append(_("Start"))
        else:
            labels.append(date_format(datetime.date.fromisoformat(value), "D j"))
    return labels


def review_charts(sprint: Sprint, burndown: dict, *, unit: str) -> dict:
    """The burndown and the burnup, by points or by item count."""
    suffix = "_items" if unit == "items" else ""
    y_label = _("Items") if unit == "items" else _("Points")
    labels = _day_labels(burndown["days"])
    marker = burndown.get("today") if sprint.is_active else None
    burndown_chart = line_chart(
        title=_("Burndown: what is left to do"),
        x_labels=labels,
        lines=[
            Line(_("Ideal"), burndown["ideal" + suffix], "ideal", dashed=True),
            Line(_("Remaining"), burndown["remaining" + suffix], "remaining"),
        ],
        y_label=y_label,
        marker_index=marker,
        marker_label=_("Today"),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
    )
    burnup_chart = line_chart(
        title=_("Burnup: scope and what is done"),
        x_labels=labels,
        lines=[
            Line(pgettext("burnup chart", "Scope"), burndown["scope" + suffix], "scope"),
            Line(_("Completed"), burndown["completed" + suffix], "completed"),
        ],
        y_label=y_label,
        marker_index=marker,
        marker_label=_("Today"),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
    )
    return {"burndown_chart": burndown_chart, "burnup_chart": burnup_chart}


def _trend_rows(project, sprint: Sprint) -> list:
    rows = selectors.velocity(project)
    if sprint.is_completed:
        ids = [row.sprint_id for row in rows]
        if sprint.pk in ids:
            rows = rows[: ids.index(sprint.pk) + 1]
    return rows[-TREND_SPRINTS:]


def _linked(rows: list[dict], url: str, names: dict[str, str]) -> list[dict]:
    return [
        {
            **row,
            "url": url.replace("ITEM-KEY", row["key"]),
            "who": names.get(row.get("assignee") or "", row.get("assignee") or ""),
        }
        for row in rows
    ]


def _scope_rows(change: dict, url: str) -> list[dict]:
    """Scope added, removed and re-estimated after the start, as one list in time order."""
    rows = [{**row, "kind": "added", "delta": row["points"]} for row in change["added"]]
    rows += [{**row, "kind": "removed", "delta": -row["points"]} for row in change["removed"]]
    rows += [{**row, "kind": "changed", "delta": round(row["new"] - row["old"], 1)} for row in change["changed"]]
    for row in rows:
        row["url"] = url.replace("ITEM-KEY", row["key"])
        row["when"] = datetime.datetime.fromisoformat(row["at"])
    return sorted(rows, key=lambda row: row["at"])


def _with_share(rows: list[dict]) -> list[dict]:
    """Each row's points as a share of the largest, for the table's bars."""
    top = max((row["points"] for row in rows), default=0) or 1
    return [{**row, "share": round(row["points"] / top * 100)} for row in rows]


def _render_review(request, project, sprint: Sprint, *, outcome_form=None, feedback_form=None, status=None):
    context = _sprint_context(request, project, sprint, "review")
    if sprint.is_planned:
        return render_project(request, "sprints/review.html", project, context, tab="sprints", status=status)
    unit = "items" if request.GET.get("unit") == "items" else "points"
    report = selectors.sprint_report(sprint)
    url = _item_url_template(project)
    names = {
        m.user.get_username(): m.user.get_full_name() or m.user.get_username()
        for m in Membership.objects.filter(project=project).select_related("user")
    }
    change = report["scope_change"]
    committed = report["committed"]
    trend = _trend_rows(project, sprint)
    feedback = list(sprint.feedback_items.select_related("project", "status").order_by("number").defer(*ROW_DEFERRED))
    can_manage = context["can_manage"]
    context |= {
        "report": report,
        "unit": unit,
        **review_charts(sprint, report["burndown"], unit=unit),
        "velocity_chart": velocity_chart(trend, title=_("Velocity trend: the last completed sprints"))
        if trend
        else None,
        "done_rows": _linked(report["done_items"], url, names),
        "carry_rows": _linked(report["carry_over"], url, names),
        "added_rows": _linked(change["added"], url, names),
        "removed_rows": _linked(change["removed"], url, names),
        "changed_rows": _linked(change["changed"], url, names),
        "scope_creep": change["percent"],
        "committed_done_percent": round(report["committed_completed"]["points"] / committed["points"] * 100)
        if committed["points"]
        else None,
        "scope_rows": _scope_rows(change, url),
        "member_rows": _with_share(report["by_member"]),
        "role_rows": _with_share(report["by_role"]),
        "feedback": feedback,
        "outcome_form": outcome_form
        or (
            GoalOutcomeForm(initial={"outcome": sprint.goal_outcome, "note": sprint.goal_note}) if can_manage else None
        ),
        "feedback_form": feedback_form or (FeedbackForm() if _can(request, project, Permission.EDIT_BACKLOG) else None),
        "report_url": reverse("api:sprint-report", kwargs={"key": project.key, "pk": sprint.pk}),
        "item_url": url,
    }
    return render_project(request, "sprints/review.html", project, context, tab="sprints", status=status)


@project_page()
def sprint_review(request, project, pk: int):
    return _render_review(request, project, _sprint_or_404(project, pk))


@require_POST
@project_page(Permission.MANAGE_SPRINTS)
def goal_outcome(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    form = GoalOutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.record_goal_outcome(
                sprint=sprint, by=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("The verdict on the sprint goal is saved."))
            return redirect(_url("review", sprint) + "#goal")
    sprint = _sprint_or_404(project, pk)
    return _render_review(request, project, sprint, outcome_form=form)


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def review_feedback(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            item = services.add_review_feedback(
                sprint=sprint,
                by=request.user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Feedback captured as %(key)s in the product backlog.") % {"key": item.key})
            return redirect(_url("review", sprint) + "#feedback")
    return _render_review(request, project, sprint, feedback_form=form)
