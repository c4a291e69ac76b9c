"""The board: columns and swimlanes, the version it polls, and completing the sprint."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backlog import services as backlog_services
from backlog.models import ItemType, StatusCategory
from backlog.presentation import prepare_rows
from roles.models import Permission
from scrumboard.pages import add_form_errors, project_page, render_project
from sprints import selectors, services
from sprints.forms import ColumnLimitsForm, CompleteForm
from sprints.models import Sprint, SprintState
from sprints.views.common import SERVICE_ERRORS, _can, _item_url_template, _sprint_context, _sprint_or_404, _url

LANES = set(selectors.SWIMLANES)


def _board_options(request) -> dict:
    lanes = request.GET.get("lanes", "none")
    return {"lanes": lanes if lanes in LANES else "none", "mine": request.GET.get("mine") == "1"}


def _board_query(options: dict, **changes) -> str:
    wanted = {**options, **changes}
    parts = []
    if wanted["lanes"] != "none":
        parts.append(f"lanes={wanted['lanes']}")
    if wanted["mine"]:
        parts.append("mine=1")
    return "?" + "&".join(parts) if parts else "?"


def _initials(user) -> str:
    """Two letters for an avatar: "Dana Sato" -> "DS", "dana" -> "D"."""
    if user is None:
        return ""
    name = user.get_full_name() or user.get_username()
    words = name.split()
    return "".join(word[0] for word in words[:2]).upper() or "?"


def _lanes(board: selectors.Board, options: dict, project) -> list[dict]:
    """The board's rows: one without a head when there are no swimlanes, else one per lane."""
    if not board.lanes:
        return [{"key": None, "columns": board.columns, "count": sum(len(column.items) for column in board.columns)}]
    url = _item_url_template(project)
    rows = []
    for lane in board.lanes:
        row: dict[str, Any] = {"key": lane.key, "title": lane.title, "columns": lane.columns, "count": lane.count}
        if options["lanes"] == "assignee":
            first = next((item for column in lane.columns for item in column.items), None)
            row["initials"] = _initials(first.assignee if first else None)
        elif lane.key:
            row["url"] = url.replace("ITEM-KEY", lane.key)
            row["story_title"] = lane.title.removeprefix(lane.key).strip()
        rows.append(row)
    return rows


def _board_context(request, project, sprint: Sprint) -> dict:
    options = _board_options(request)
    board = selectors.sprint_board(sprint, user=request.user, only_mine=options["mine"], swimlanes=options["lanes"])
    cards: list[Any] = [item for column in board.columns for item in column.items]
    prepare_rows(cards, project=project)
    for item in cards:
        item.initials = _initials(item.assignee)
    over = {column.status.pk for column in board.columns if column.over_limit}
    heads = [
        {
            "status": column.status,
            "count": column.total,
            "over": column.status.pk in over,
            "points": sum(float(item.points or 0) for item in column.items),
        }
        for column in board.columns
    ]
    return {
        "board": board,
        "columns": heads,
        "over_ids": over,
        "options_query": _board_query(options).rstrip("?"),
        "lanes": _lanes(board, options, project),
        "options": options,
        "lane_links": [
            (value, label, _board_query(options, lanes=value))
            for value, label in (
                ("none", _("No lanes")),
                ("assignee", _("By assignee")),
                ("parent", _("By story")),
                ("epic", _("By epic")),
            )
        ],
        "mine_link": _board_query(options, mine=not options["mine"]),
        "can_set_limits": _can(request, project, Permission.MANAGE_SPRINTS),
        "can_move": sprint.accepts_items
        and (_can(request, project, Permission.EDIT_BACKLOG) or _can(request, project, Permission.ESTIMATE)),
        "card_count": len(cards),
    }


@project_page()
def sprint_board(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    context = {**_sprint_context(request, project, sprint, "board"), **_board_context(request, project, sprint)}
    if request.GET.get("fragment") == "board":
        return render_project(request, "sprints/_board.html", project, context)
    burndown = selectors.sprint_burndown(sprint) if not sprint.is_planned else None
    context |= {
        "sparkline": _sparkline(burndown) if burndown else "",
        "remaining": _last(burndown["remaining"]) if burndown else None,
        "item_url": _item_url_template(project),
        "detail_url": reverse("api:item-detail", kwargs={"key": project.key, "item_key": "ITEM-KEY"}),
    }
    return render_project(request, "sprints/board.html", project, context, tab="board")


@project_page()
def board_version(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    return JsonResponse({"version": selectors.board_version(sprint)})


@project_page()
def active_board(request, project):
    sprint = selectors.active_sprint(project)
    if sprint is not None:
        query = request.GET.urlencode()
        url = reverse("sprints:board", kwargs={"key": project.key, "pk": sprint.pk})
        return redirect(f"{url}?{query}" if query else url)
    planned = list(project.sprints.filter(state=SprintState.PLANNED).order_by("start_date", "number")[:1])
    context = {
        "planned": planned[0] if planned else None,
        "can_manage": _can(request, project, Permission.MANAGE_SPRINTS),
    }
    return render_project(request, "sprints/board_empty.html", project, context, tab="board")


@project_page(Permission.MANAGE_SPRINTS)
def column_limits(request, project):
    """The board's WIP limits, one per column (status); they hold for every sprint's board."""
    statuses = list(project.statuses.all())
    form = ColumnLimitsForm(request.POST or None, statuses=statuses)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                for status, limit in form.changed_limits():
                    backlog_services.set_wip_limit(status=status, by=request.user, limit=limit)
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Column limits saved."))
            return redirect("sprints:active_board", key=project.key)
    context = {"form": form, "rows": [(status, form[form.field_name(status)]) for status in statuses]}
    return render_project(request, "sprints/column_limits.html", project, context, tab="board")


def _last(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return present[-1] if present else None


def _sparkline(burndown: dict, *, width: int = 132, height: int = 36) -> SafeString:
    """A tiny burndown for the board's header: the ideal line and the remaining points, no axes."""
    ideal, remaining = burndown["ideal"], burndown["remaining"]
    top = max((v for v in [*ideal, *remaining] if v is not None), default=0) or 1
    pad = 3
    step = (width - 2 * pad) / max(len(ideal) - 1, 1)

    def point(index: int, value: float) -> tuple[str, str]:
        return f"{pad + index * step:.1f}", f"{pad + (height - 2 * pad) * (1 - value / top):.1f}"

    def polyline(values: list, kind: str) -> SafeString:
        points = " ".join(",".join(point(i, v)) for i, v in enumerate(values) if v is not None)
        return format_html('<polyline class="sparkline-{}" points="{}"/>', kind, points)

    shown = [(i, v) for i, v in enumerate(remaining) if v is not None]
    dot = format_html('<circle cx="{}" cy="{}" r="2.5"/>', *point(*shown[-1])) if shown else ""
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" aria-hidden="true">{}{}{}</svg>',
        width,
        height,
        width,
        height,
        polyline(ideal, "ideal"),
        polyline(remaining, "remaining"),
        dot,
    )


@project_page(Permission.MANAGE_SPRINTS)
def sprint_complete(request, project, pk: int):
    sprint = _sprint_or_404(project, pk)
    if not sprint.is_active:
        messages.error(
            request, _("This sprint is completed.") if sprint.is_completed else _("This sprint has not started.")
        )
        return redirect(_url("review" if sprint.is_completed else "plan", sprint))
    form = CompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.complete_sprint(
                sprint=sprint, by=request.user, unfinished=form.cleaned_data["unfinished"]
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            count = len(result.carried_over)
            if not count:
                text = _("%(name)s completed: everything is done.") % {"name": sprint.name}
            elif result.next_sprint is not None:
                text = ngettext(
                    "%(name)s completed; %(count)d unfinished item moved to %(next)s.",
                    "%(name)s completed; %(count)d unfinished items moved to %(next)s.",
                    count,
                ) % {"name": sprint.name, "count": count, "next": result.next_sprint.name}
            else:
                text = ngettext(
                    "%(name)s completed; %(count)d unfinished item is back at the top of the backlog.",
                    "%(name)s completed; %(count)d unfinished items are back at the top of the backlog.",
                    count,
                ) % {"name": sprint.name, "count": count}
            messages.success(request, text)
            return redirect(_url("review", sprint))
    items = sprint.items.exclude(type=ItemType.EPIC)
    totals = items.aggregate(
        count=Count("pk"),
        unfinished=Count("pk", filter=~Q(status__category=StatusCategory.DONE)),
        unfinished_points=Sum("points", filter=~Q(status__category=StatusCategory.DONE)),
    )
    totals["done"] = totals["count"] - totals["unfinished"]
    next_sprint = (
        project.sprints.filter(state=SprintState.PLANNED).exclude(pk=sprint.pk).order_by("start_date", "number").first()
    )
    context = _sprint_context(request, project, sprint, "complete") | {
        "form": form,
        "totals": totals,
        "next_sprint": next_sprint,
    }
    return render_project(request, "sprints/complete.html", project, context, tab="board")
