"""Permission-matrix rows for the browser pages (checked by tests/test_permission_matrix.py).

Pages send anonymous visitors to the login page (302) where the API answers 401.
Outsiders get 404 inside a project, members lacking the right 403. A successful form
post redirects (302); a form re-rendered with its errors or a result answers 200.
The invitation in the context is addressed to the outsider (see tests/matrix.py).
"""

from functools import partial

from backlog.models import Status
from roles.models import Role
from sprints import services as sprint_services
from sprints.models import Sprint
from tests import matrix
from tests.backlog.matrix_rows import (
    admins_comment,
    item,
    item_with_target,
    link,
    project_with_items,
    second_item,
)
from tests.matrix import Row, custom_role, expect, member, no_kwargs, own_token, project_key

# The API's expectations, but anonymous visitors are sent to the login page.
everyone = partial(matrix.everyone, anonymous=302)
members = partial(matrix.members, anonymous=302)
manage = partial(matrix.manage, anonymous=302)
editors = partial(matrix.editors, anonymous=302)


def status_pk(ctx, name: str) -> int:
    return Status.objects.get(project=ctx.project, name=name).pk


def backend_role_pk(ctx) -> int:
    return Role.objects.get(project=ctx.project, slug="backend").pk


def project_settings(ctx) -> dict:
    return {
        "name": "Renamed",
        "description": "",
        "product_goal": "",
        "timezone": "Asia/Almaty",
        "sprint_length_days": 14,
        "daily_scrum_time": "10:00",
        "daily_scrum_minutes": 15,
        "working_days": [1, 2, 3, 4, 5],
        "definition_of_done": "",
    }


PAGE_ROWS: list[Row] = [
    # Authentication and site-wide pages. (schema and api-docs have rows in tests/matrix.py.)
    Row("home", "GET", no_kwargs, everyone(302)),
    Row("login", "GET", no_kwargs, everyone(302, anonymous=200)),
    Row("login", "POST", no_kwargs, everyone(302, anonymous=200), data=lambda ctx: {"username": "x", "password": "y"}),
    Row("logout", "GET", no_kwargs, everyone(405, anonymous=405)),
    Row("logout", "POST", no_kwargs, everyone(302, anonymous=302)),
    Row("password_reset", "GET", no_kwargs, everyone(200, anonymous=200)),
    Row(
        "password_reset",
        "POST",
        no_kwargs,
        everyone(302, anonymous=302),
        data=lambda ctx: {"email": "nobody@example.com"},
    ),
    Row("password_reset_done", "GET", no_kwargs, everyone(200, anonymous=200)),
    # /metrics is not for people: without METRICS_TOKEN (the matrix's setting) it does not exist;
    # the bearer token's checks are in tests/notifications.
    Row("metrics", "GET", no_kwargs, everyone(404, anonymous=404)),
    Row(
        "password_reset_confirm",
        "GET",
        lambda ctx: {"uidb64": "MQ", "token": "not-a-token"},
        everyone(200, anonymous=200),
    ),
    Row("password_reset_complete", "GET", no_kwargs, everyone(200, anonymous=200)),
    Row(
        "set_language",
        "POST",
        no_kwargs,
        everyone(302, anonymous=302),
        data=lambda ctx: {"language": "ru", "next": "/projects/"},
    ),
    # Projects.
    Row("projects:list", "GET", no_kwargs, everyone(200)),
    Row("projects:create", "GET", no_kwargs, everyone(200)),
    Row("projects:create", "POST", no_kwargs, everyone(302), data=lambda ctx: {**project_settings(ctx), "key": "NEW"}),
    Row("projects:detail", "GET", project_key, members(200)),
    Row("projects:edit", "GET", project_key, manage(200)),
    Row("projects:edit", "POST", project_key, manage(302), data=project_settings),
    Row("projects:archive", "GET", project_key, everyone(405, anonymous=405)),
    Row("projects:archive", "POST", project_key, manage(302, scrum_master=False)),
    Row("projects:unarchive", "POST", lambda ctx: ctx.archived(), manage(302, scrum_master=False)),
    # Team: every member sees it; changing it takes manage_members.
    Row("roles:team", "GET", project_key, members(200)),
    Row(
        "roles:invite",
        "POST",
        project_key,
        manage(302),
        data=lambda ctx: {"email": "newcomer@example.com", "role": backend_role_pk(ctx)},
    ),
    Row(
        "roles:member_change",
        "POST",
        member("product_owner"),
        manage(302),
        data=lambda ctx: {"role": backend_role_pk(ctx)},
    ),
    Row("roles:member_remove", "POST", member("product_owner"), manage(302)),
    Row("roles:invitation_revoke", "POST", lambda ctx: {"key": ctx.project.key, "pk": ctx.invitation.pk}, manage(302)),
    # Roles: every member reads the matrix; only administrators change it.
    Row("roles:roles", "GET", project_key, members(200)),
    Row(
        "roles:roles",
        "POST",
        project_key,
        manage(302, scrum_master=False),
        data=lambda ctx: {"name": "Tester", "permissions": ["view", "comment"]},
    ),
    Row(
        "roles:role_edit",
        "POST",
        custom_role,
        manage(302, scrum_master=False),
        data=lambda ctx: {"permissions": ["view", "comment", "estimate"]},
    ),
    # The invitation link: anyone may open it; only its addressee (the outsider) can accept.
    Row("roles:accept_invitation", "GET", lambda ctx: {"token": ctx.invitation_token}, everyone(200, anonymous=200)),
    Row(
        "roles:accept_invitation",
        "POST",
        lambda ctx: {"token": ctx.invitation_token},
        expect(anonymous=200, outsider=302, stakeholder=200, developer=200, scrum_master=200, admin=200),
    ),
    # The backlog: every member reads it; editing takes edit_backlog, estimating estimate.
    Row("backlog:list", "GET", project_with_items, members(200)),
    Row("backlog:quick_add", "POST", project_key, editors(302), data=lambda ctx: {"titles": "One\nTwo"}),
    Row(
        "backlog:bulk",
        "POST",
        project_with_items,
        editors(302),
        data=lambda ctx: {"items": ["SB-1", "SB-2"], "status": status_pk(ctx, "In Progress"), "action": "update"},
    ),
    Row("backlog:markdown_preview", "POST", project_key, members(200), data=lambda ctx: {"text": "**hi**"}),
    Row("backlog:epics", "GET", project_key, members(200)),
    Row("backlog:item", "GET", item, members(200)),
    Row(
        "backlog:item_update",
        "POST",
        item,
        editors(302),
        data=lambda ctx: {"title": "Renamed", "status": status_pk(ctx, "To Do"), "type": "story", "priority": "high"},
    ),
    Row("backlog:item_estimate", "POST", item, editors(302), data=lambda ctx: {"estimate": "5"}),
    Row("backlog:item_move", "POST", second_item, editors(302), data=lambda ctx: {"position": "top"}),
    Row("backlog:item_delete", "POST", item, editors(302)),
    Row("backlog:criteria", "POST", item, editors(302), data=lambda ctx: {"action": "add", "text": "Works"}),
    Row("backlog:watch", "POST", item, members(302), data=lambda ctx: {"watching": "1"}),
    Row(
        "backlog:link_add",
        "POST",
        item_with_target,
        editors(302),
        data=lambda ctx: {"kind": "relates", "target": "SB-2"},
    ),
    Row("backlog:link_remove", "POST", link, editors(302)),
    Row("backlog:comment_add", "POST", item, editors(302), data=lambda ctx: {"body": "Looks good"}),
    # Only the author (the administrator here) edits a comment; the author or an administrator deletes it.
    Row(
        "backlog:comment_edit",
        "POST",
        admins_comment,
        manage(302, scrum_master=False),
        data=lambda ctx: {"body": "Edited"},
    ),
    Row("backlog:comment_delete", "POST", admins_comment, manage(302, scrum_master=False)),
    # The user's own API tokens.
    Row("integrations:tokens", "GET", no_kwargs, everyone(200)),
    Row("integrations:tokens", "POST", no_kwargs, everyone(200), data=lambda ctx: {"name": "ci", "scope": "read"}),
    Row("integrations:token_revoke", "GET", own_token, everyone(405, anonymous=405)),
    Row("integrations:token_revoke", "POST", own_token, everyone(302)),
]


# --- Sprints: every member reads the pages; planning, starting, completing take manage_sprints ---


def _sprint(ctx, *, started: bool = False):
    """One sprint per test, planned by the Scrum Master through the services (started if asked)."""
    sprint = Sprint.objects.filter(project=ctx.project).first()
    if sprint is None:
        sprint = sprint_services.create_sprint(project=ctx.project, by=ctx.scrum_master, goal="Matrix goal")
    if started and sprint.is_planned:
        sprint = sprint_services.start_sprint(sprint=sprint, by=ctx.scrum_master)
    return sprint


def planned_sprint(ctx) -> dict:
    return {"key": ctx.project.key, "pk": _sprint(ctx).pk}


def active_sprint(ctx) -> dict:
    return {"key": ctx.project.key, "pk": _sprint(ctx, started=True).pk}


def planned_sprint_with_item(ctx) -> dict:
    project_with_items(ctx)
    return planned_sprint(ctx)


def project_with_active_sprint(ctx) -> dict:
    _sprint(ctx, started=True)
    return project_key(ctx)


def new_sprint_dates(ctx) -> dict:
    start, end = sprint_services.default_dates(ctx.project)
    return {"name": "", "goal": "Learn", "start_date": start.isoformat(), "end_date": end.isoformat()}


def sprint_fields(ctx) -> dict:
    sprint = _sprint(ctx)
    return {
        "name": "Renamed",
        "goal": "Sharper",
        "start_date": sprint.start_date.isoformat(),
        "end_date": sprint.end_date.isoformat(),
    }


PAGE_ROWS += [
    Row("sprints:list", "GET", project_key, members(200)),
    Row("sprints:create", "POST", project_key, manage(302), data=new_sprint_dates),
    Row("sprints:velocity", "GET", project_key, members(200)),
    # The project's Board tab sends everyone to the active sprint's board.
    Row("sprints:active_board", "GET", project_with_active_sprint, members(302)),
    # WIP limits shape every sprint's board: sprint managers set them.
    Row("sprints:column_limits", "GET", project_key, manage(200)),
    Row(
        "sprints:column_limits",
        "POST",
        project_key,
        manage(302),
        data=lambda ctx: {f"limit_{status_pk(ctx, 'In Progress')}": "3"},
    ),
    Row("sprints:edit", "GET", planned_sprint, manage(200)),
    Row("sprints:edit", "POST", planned_sprint, manage(302), data=sprint_fields),
    Row("sprints:delete", "POST", planned_sprint, manage(302)),
    Row("sprints:plan", "GET", planned_sprint_with_item, members(200)),
    Row(
        "sprints:plan_move",
        "POST",
        planned_sprint_with_item,
        manage(302),
        data=lambda ctx: {"item": "SB-1", "to": "sprint"},
    ),
    Row("sprints:goal", "POST", planned_sprint, manage(302), data=lambda ctx: {"goal": "A clearer goal"}),
    Row(
        "sprints:days_off",
        "POST",
        planned_sprint,
        manage(302),
        data=lambda ctx: {f"days_{ctx.developer.pk}": "1"},
    ),
    Row("sprints:start", "POST", planned_sprint_with_item, manage(302)),
    Row("sprints:board", "GET", active_sprint, members(200)),
    Row("sprints:board_version", "GET", active_sprint, members(200)),
    Row("sprints:complete", "GET", active_sprint, manage(200)),
    Row("sprints:complete", "POST", active_sprint, manage(302), data=lambda ctx: {"unfinished": "backlog"}),
    Row("sprints:review", "GET", active_sprint, members(200)),
    Row(
        "sprints:goal_outcome",
        "POST",
        active_sprint,
        manage(302),
        data=lambda ctx: {"outcome": "met", "note": "Shipped"},
    ),
    # Feedback becomes a backlog item: editing the backlog is the right it takes.
    Row("sprints:feedback", "POST", active_sprint, editors(302), data=lambda ctx: {"title": "Export to PDF"}),
]


def _app_page_rows() -> list[Row]:
    """``PAGE_ROWS`` of ``tests/<app>/matrix_page_rows.py``: apps keep their page rows next to their tests."""
    import importlib
    from pathlib import Path

    return [
        row
        for path in sorted(Path(__file__).parent.glob("*/matrix_page_rows.py"))
        for row in importlib.import_module(f"tests.{path.parent.name}.matrix_page_rows").PAGE_ROWS
    ]


PAGE_ROWS += _app_page_rows()
