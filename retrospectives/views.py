"""The retrospective pages: the list, the board (per phase), the summary, the health check and its trend.

Every form posts, calls a service and redirects back (errors become messages); the board polls
its version and re-fetches its fragment so everyone sees new cards and votes within seconds.
"""

import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retrospectives import selectors, services
from retrospectives.models import (
    HEALTH_STATEMENTS,
    PHASES,
    ActionItem,
    Card,
    CardGroup,
    Phase,
    Retrospective,
    Template,
)
from roles import policy
from roles.models import Membership, Permission
from scrumboard.pages import flash_error, project_page, render_project
from sprints.charts import Line, line_chart
from sprints.models import Sprint, SprintState

CHART_WIDTH, CHART_HEIGHT = 860, 300


def _retro_or_404(project, pk: int) -> Retrospective:
    retro = Retrospective.objects.filter(project=project, pk=pk).select_related("sprint", "facilitator").first()
    if retro is None:
        raise Http404
    retro.project = project
    return retro


def _back(retro: Retrospective):
    return redirect("retrospectives:detail", key=retro.project.key, pk=retro.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pk(value) -> int:
    """An id from a form; 0 (no row has it) when missing or not a number."""
    return _int(value) or 0


# --- the list and creating -----------------------------------------------------------------------


def _open_sprints(project) -> list[Sprint]:
    """Sprints that may still get a retrospective: started or completed, without one."""
    return list(
        Sprint.objects.filter(project=project, retrospective__isnull=True)
        .exclude(state=SprintState.PLANNED)
        .order_by("-number")
    )


@project_page()
def retrospective_list(request, project):
    retros = list(selectors.project_retrospectives(project))
    can_run = policy.can(request.user, project, Permission.RUN_RETROSPECTIVE)
    context = {
        "retros": retros,
        "can_run": can_run,
        "templates": Template.choices,
        "sprints": _open_sprints(project) if can_run else [],
        "phases": PHASES,
    }
    return render_project(request, "retrospectives/list.html", project, context, tab="retrospectives")


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def retrospective_create(request, project):
    post = request.POST
    sprint = None
    if post.get("sprint"):
        sprint = Sprint.objects.filter(project=project, pk=_pk(post["sprint"])).first()
    columns = [line for line in post.get("columns", "").splitlines() if line.strip()]
    try:
        retro = services.create_retrospective(
            project=project,
            by=request.user,
            sprint=sprint,
            title=post.get("title", ""),
            template=post.get("template") or Template.WENT_WELL,
            columns=columns,
            anonymous=post.get("anonymous") == "on",
            votes_per_member=_int(post.get("votes_per_member")) or 3,
            health_check=post.get("health_check") == "on",
        )
    except ValidationError as exc:
        flash_error(request, exc)
        return redirect("retrospectives:list", key=project.key)
    messages.success(request, _("Retrospective created."))
    return _back(retro)


# --- the board -----------------------------------------------------------------------------------


def _board_context(request, project, retro: Retrospective) -> dict:
    view = selectors.board(retro, request.user)
    can_run = policy.can(request.user, project, Permission.RUN_RETROSPECTIVE)
    can_write = policy.can(request.user, project, Permission.COMMENT)
    context: dict = {
        "retro": retro,
        "board": view,
        "can_run": can_run,
        "can_write": can_write,
        "phases": [(value, label, n) for n, (value, label) in enumerate(Phase.choices)],
        "phase_index": retro.phase_index,
    }
    if retro.phase == Phase.REVIEW:
        previous = selectors.previous_retrospective(retro)
        context["previous"] = previous
        context["previous_actions"] = list(selectors.action_items(previous)) if previous else []
    if retro.phase in (Phase.DISCUSS, Phase.ACTIONS):
        notes = selectors.notes_by_topic(retro)
        for topic in view.topics:
            topic.notes = notes.get((topic.kind, topic.id), [])
    if retro.phase in (Phase.DISCUSS, Phase.ACTIONS):
        context["actions"] = list(selectors.action_items(retro))
        context["members"] = list(
            Membership.objects.filter(project=project).select_related("user").order_by("user__username")
        )
    if retro.health_check:
        mine = selectors.my_health(retro, request.user)
        context["health"] = [(key, text, mine.get(key)) for key, text in HEALTH_STATEMENTS]
    return context


@project_page()
def retrospective_detail(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    if retro.is_closed and request.GET.get("fragment") != "board":
        return redirect("retrospectives:summary", key=project.key, pk=retro.pk)
    context = _board_context(request, project, retro)
    if request.GET.get("fragment") == "board":
        return render_project(request, "retrospectives/_board.html", project, context)
    return render_project(request, "retrospectives/detail.html", project, context, tab="retrospectives")


@project_page()
def retrospective_version(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    return JsonResponse({"version": selectors.retro_version(retro), "phase": retro.phase})


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def retrospective_phase(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    try:
        if request.POST.get("direction") == "back":
            retro = services.step_back(retro=retro, by=request.user)
        else:
            retro = services.advance_phase(retro=retro, by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
        return _back(retro)
    if retro.is_closed:
        messages.success(request, _("Retrospective closed: its action items are in the product backlog."))
        return redirect("retrospectives:summary", key=project.key, pk=retro.pk)
    return _back(retro)


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def retrospective_settings(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    changes: dict = {}
    if "title" in request.POST:
        changes["title"] = request.POST["title"]
    if "votes_per_member" in request.POST:
        changes["votes_per_member"] = _int(request.POST["votes_per_member"])
    try:
        services.update_retrospective(retro=retro, by=request.user, **changes)
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


def _card(request, retro: Retrospective, card_id) -> Card:
    card = selectors.card_for(retro, card_id, request.user)
    if card is None:
        raise Http404
    card.retrospective = retro
    return card


@require_POST
@project_page(Permission.COMMENT)
def card_add(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    try:
        services.add_card(
            retro=retro, by=request.user, column=request.POST.get("column", ""), text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.COMMENT)
def card_edit(request, project, pk: int, card_id: int):
    retro = _retro_or_404(project, pk)
    try:
        services.edit_card(card=_card(request, retro, card_id), by=request.user, text=request.POST.get("text", ""))
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.COMMENT)
def card_delete(request, project, pk: int, card_id: int):
    retro = _retro_or_404(project, pk)
    try:
        services.delete_card(card=_card(request, retro, card_id), by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def group_create(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    ids = [n for n in (_int(v) for v in request.POST.getlist("cards")) if n is not None]
    cards = list(Card.objects.filter(retrospective=retro, pk__in=ids))
    group = CardGroup.objects.filter(retrospective=retro, pk=_pk(request.POST.get("group"))).first()
    try:
        services.group_cards(
            retro=retro, by=request.user, cards=cards, title=request.POST.get("title", ""), group=group
        )
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def group_ungroup(request, project, pk: int, group_id: int):
    retro = _retro_or_404(project, pk)
    group = CardGroup.objects.filter(retrospective=retro, pk=group_id).first()
    if group is None:
        raise Http404
    try:
        services.ungroup(group=group, by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


def _target(request, retro: Retrospective) -> dict:
    if request.POST.get("group"):
        group = CardGroup.objects.filter(retrospective=retro, pk=_pk(request.POST["group"])).first()
        if group is None:
            raise Http404
        return {"group": group}
    if request.POST.get("card"):
        return {"card": _card(request, retro, _pk(request.POST["card"]))}
    return {}


@require_POST
@project_page(Permission.COMMENT)
def vote(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    target = _target(request, retro)
    try:
        if request.POST.get("action") == "remove":
            services.remove_vote(retro=retro, by=request.user, **target)
        else:
            services.cast_vote(retro=retro, by=request.user, **target)
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.COMMENT)
def note_add(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    try:
        services.add_note(retro=retro, by=request.user, text=request.POST.get("text", ""), **_target(request, retro))
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        raise ValidationError({"due_date": _("Give a date as YYYY-MM-DD.")}) from None


@require_POST
@project_page(Permission.RUN_RETROSPECTIVE)
def action_add(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    owner = None
    if request.POST.get("owner"):
        owner = get_user_model().objects.filter(pk=_pk(request.POST["owner"])).first()
    try:
        services.add_action_item(
            retro=retro,
            by=request.user,
            text=request.POST.get("text", ""),
            owner=owner,
            due_date=_date(request.POST.get("due_date", "")),
        )
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page()
def action_done(request, project, pk: int, action_id: int):
    """Ticks an action item of a past retrospective from this one's review (the owner or a facilitator)."""
    retro = _retro_or_404(project, pk)
    action = ActionItem.objects.filter(retrospective__project=project, pk=action_id).select_related(
        "retrospective__project"
    )
    found = action.first()
    if found is None:
        raise Http404
    try:
        services.update_action_item(
            action=found, by=request.user, done=request.POST.get("done") == "1", reviewed_in=retro
        )
    except ValidationError as exc:
        flash_error(request, exc)
    return _back(retro)


@require_POST
@project_page(Permission.COMMENT)
def health_rate(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    try:
        for key, _text in HEALTH_STATEMENTS:
            score = _int(request.POST.get(key))
            if score is not None:
                services.rate_health(retro=retro, by=request.user, statement=key, score=score)
    except ValidationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Thanks: your health check is saved."))
    return _back(retro)


# --- summary and trend ---------------------------------------------------------------------------


@project_page()
def retrospective_summary(request, project, pk: int):
    retro = _retro_or_404(project, pk)
    data = retro.summary if retro.is_closed and retro.summary else selectors.snapshot(retro, request.user)
    export = reverse("api:retrospective-export", kwargs={"key": project.key, "pk": retro.pk})
    health = data.get("health") or {}
    health_rows = [(text, health[key]) for key, text in HEALTH_STATEMENTS if key in health]
    context = {
        "retro": retro,
        "summary": data,
        "actions": _readable_actions(project, data.get("action_items", [])),
        "export_url": export,
        "health_rows": health_rows,
    }
    return render_project(request, "retrospectives/summary.html", project, context, tab="retrospectives")


def _readable_actions(project, actions: list[dict]) -> list[dict]:
    """The summary keeps usernames and ISO dates (it is data); the page shows names and local dates."""
    names = {
        user.get_username(): user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(memberships__project=project)
    }
    return [
        {
            **action,
            "owner_name": names.get(action.get("owner") or "", action.get("owner")),
            "due": datetime.date.fromisoformat(action["due_date"]) if action.get("due_date") else None,
        }
        for action in actions
    ]


@project_page()
def health_trend(request, project):
    trend = selectors.health_trend(project)
    chart = ""
    if trend["retrospectives"]:
        chart = line_chart(
            title=_("Team health over the retrospectives"),
            x_labels=[r["sprint"] or r["title"] for r in trend["retrospectives"]],
            lines=[
                Line(_(row["text"]), row["averages"], kind)
                for row, kind in zip(
                    trend["statements"], ("completed", "remaining", "scope", "ideal", "forecast"), strict=False
                )
            ],
            y_label=_("Average (1-5)"),
            width=CHART_WIDTH,
            height=CHART_HEIGHT,
        )
    context = {"trend": trend, "chart": chart}
    return render_project(request, "retrospectives/health_trend.html", project, context, tab="retrospectives")
