"""Permission-matrix rows for the sprints' API routes (see tests/matrix.py).

Members read everything (stakeholders included); only roles with "manage sprints" (Scrum
Master, Product Owner; administrators) plan, start and complete sprints. Capturing review
feedback creates a backlog item, so it needs "edit backlog" like any new item.
"""

from backlog import services as backlog_services
from backlog.models import BacklogItem
from sprints import services
from sprints.models import DaysOff, Sprint, SprintState
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, editors, manage, members


def _sprint(ctx: Ctx, state: str = SprintState.PLANNED) -> Sprint:
    """Sprint 1 with one item (SB-1), planned or started, made by the Scrum Master once per test."""
    sprint = Sprint.objects.filter(project=ctx.project).first()
    if sprint is None:
        sprint = services.create_sprint(project=ctx.project, by=ctx.scrum_master, goal="Matrix goal")
        backlog_services.create_item(
            project=ctx.project, by=ctx.scrum_master, title="Matrix card", estimate="3", sprint=sprint
        )
    if state == SprintState.ACTIVE and sprint.is_planned:
        services.start_sprint(sprint=sprint, by=ctx.scrum_master)
    return sprint


def planned(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": _sprint(ctx).pk}


def active(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": _sprint(ctx, SprintState.ACTIVE).pk}


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def project_with_sprint(ctx: Ctx) -> dict:
    _sprint(ctx, SprintState.ACTIVE)
    return project_key(ctx)


def project_with_history(ctx: Ctx) -> dict:
    """A completed sprint, so velocity has a row and a forecast."""
    sprint = _sprint(ctx, SprintState.ACTIVE)
    services.complete_sprint(sprint=sprint, by=ctx.scrum_master)
    return project_key(ctx)


SPRINTS_ROWS: list[Row] = [
    Row("api:sprint-list", "GET", project_with_sprint, members(200)),
    Row("api:sprint-list", "POST", project_key, manage(201), data=lambda ctx: {"goal": "Next"}),
    Row("api:sprint-detail", "GET", planned, members(200)),
    Row("api:sprint-detail", "PATCH", planned, manage(200), data=lambda ctx: {"name": "Renamed"}),
    Row("api:sprint-detail", "DELETE", planned, manage(204)),
    Row("api:sprint-start", "POST", planned, manage(200)),
    Row("api:sprint-complete", "POST", active, manage(200), data=lambda ctx: {"unfinished": "next_sprint"}),
    Row("api:sprint-board", "GET", active, members(200)),
    Row("api:sprint-burndown", "GET", active, members(200)),
    Row("api:sprint-report", "GET", active, members(200)),
    Row("api:sprint-capacity", "GET", planned, members(200)),
    Row(
        "api:sprint-capacity",
        "PATCH",
        planned,
        manage(200),
        data=lambda ctx: {"members": [{"member": ctx.developer.username, "days_off": 2}]},
    ),
    Row("api:sprint-feedback", "GET", active, members(200)),
    Row("api:sprint-feedback", "POST", active, editors(201), data=lambda ctx: {"title": "Stakeholders want PDF"}),
    Row("api:velocity", "GET", project_with_history, members(200)),
]


def _foreign_sprint(team, *, start: bool = False) -> Sprint:
    """Sprint 1 of XX, while SB has a Sprint 1 too: a lookup by number or without the project finds the wrong one."""
    services.create_sprint(project=team.project, by=team.admin)
    other = make_project(key="XX")
    owner = other.memberships.get().user
    sprint = services.create_sprint(project=other, by=owner, name="Theirs")
    backlog_services.create_item(project=other, by=owner, title="Their card", estimate="5", sprint=sprint)
    if start:
        services.start_sprint(sprint=sprint, by=owner)
    return sprint


def _foreign_active_sprint(team) -> Sprint:
    return _foreign_sprint(team, start=True)


def _sprint_and_items(sprint) -> tuple:
    fresh = Sprint.objects.filter(pk=sprint.pk).values().first()
    assert fresh is not None, f"{sprint!r} was deleted"
    items = tuple(BacklogItem.objects.filter(project=sprint.project).order_by("pk").values_list("pk", "sprint_id"))
    return fresh, items, Sprint.objects.filter(project=sprint.project).count()


def _days_off(sprint) -> tuple:
    return tuple(DaysOff.objects.filter(sprint=sprint).values_list("user_id", "days"))


def _feedback(sprint) -> tuple:
    return tuple(sprint.feedback_items.values_list("pk", flat=True)), BacklogItem.objects.count()


FOREIGN = {
    "api:sprint-detail": Foreign(_foreign_sprint, {"name": "Hijacked"}),
    "api:sprint-start": Foreign(_foreign_sprint, state=_sprint_and_items),
    "api:sprint-complete": Foreign(_foreign_active_sprint, {"unfinished": "next_sprint"}, state=_sprint_and_items),
    "api:sprint-board": Foreign(_foreign_active_sprint),
    "api:sprint-burndown": Foreign(_foreign_active_sprint),
    "api:sprint-report": Foreign(_foreign_active_sprint),
    # The body names an SB member, so only the sprint's lookup can refuse it.
    "api:sprint-capacity": Foreign(_foreign_sprint, {"members": [{"member": "admin", "days_off": 1}]}, state=_days_off),
    "api:sprint-feedback": Foreign(_foreign_active_sprint, {"title": "Hijacked"}, state=_feedback),
}
