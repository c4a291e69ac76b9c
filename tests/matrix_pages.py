"""Permission-matrix rows for the browser pages (checked by tests/test_permission_matrix.py).

Pages send anonymous visitors to the login page (302) where the API answers 401.
Outsiders get 404 inside a project, members lacking the right 403. A successful form
post redirects (302); a form re-rendered with its errors or a result answers 200.
The invitation in the context is addressed to the outsider (see tests/matrix.py).
"""

from roles.models import Role
from tests.matrix import Row, custom_role, expect, member, no_kwargs, own_token, project_key


def everyone(status: int, *, anonymous: int = 302) -> dict[str, int]:
    return expect(
        anonymous=anonymous, outsider=status, stakeholder=status, developer=status, scrum_master=status, admin=status
    )


def members(status: int) -> dict[str, int]:
    return expect(anonymous=302, outsider=404, stakeholder=status, developer=status, scrum_master=status, admin=status)


def manage(status: int, *, scrum_master: bool = True) -> dict[str, int]:
    """Holders of the permission get ``status``; the Scrum Master role holds every permission but ``administer``."""
    return expect(
        anonymous=302,
        outsider=404,
        stakeholder=403,
        developer=403,
        scrum_master=status if scrum_master else 403,
        admin=status,
    )


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
    # The user's own API tokens.
    Row("integrations:tokens", "GET", no_kwargs, everyone(200)),
    Row("integrations:tokens", "POST", no_kwargs, everyone(200), data=lambda ctx: {"name": "ci", "scope": "read"}),
    Row("integrations:token_revoke", "GET", own_token, everyone(405, anonymous=405)),
    Row("integrations:token_revoke", "POST", own_token, everyone(302)),
]
