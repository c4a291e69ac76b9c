"""The permission matrix: every route x every persona → the status code it must answer.

``API_ROWS`` (here), ``PAGE_ROWS`` (``tests/matrix_pages.py``) and each app's rows
(every ``*_ROWS`` list in ``tests/<app>/matrix_rows.py``) are checked by
``tests/test_permission_matrix.py``, which also fails when a route of the URLconf has
no row. A row's callables receive a fresh ``Ctx`` built for the acting persona.
An app's ``matrix_rows.py`` may also define ``FOREIGN`` (route name -> ``Foreign``) for
``tests/test_foreign_ids.py``.

Ctx contents (key "SB" via the ``team`` fixture):
- the personas: admin (Scrum Master role + administrator), scrum_master, product_owner,
  developer (Backend Developer), stakeholder (read-only), outsider (not a member);
- ``invitation``: pending, made by the admin through ``roles.services.invite_member``,
  addressed to the outsider's e-mail with the Backend Developer role;
  ``invitation_token`` is its raw token;
- ``role``: a custom role "QA" (view, comment) with no members;
- ``token``: a read-write ApiToken owned by the acting user (None for anonymous);
- ``user``: the acting user (None for anonymous).
"""

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from integrations.models import ApiToken, TokenScope
from integrations.services import create_token
from projects.models import Project
from projects.services import archive_project
from roles.models import Invitation, Membership, Role
from roles.services import create_role, invite_member
from tests.factories import PASSWORD

PERSONAS = ("anonymous", "outsider", "stakeholder", "developer", "scrum_master", "admin")

# URL namespaces the matrix does not cover. "admin" is Django's admin site: it is
# guarded by is_staff and Django's own model permissions, not by the project policy,
# and its generated routes would swamp the matrix without testing our code.
EXCLUDED_NAMESPACES = frozenset({"admin"})


@dataclass
class Ctx:
    project: Project
    admin: object
    scrum_master: object
    product_owner: object
    developer: object
    stakeholder: object
    outsider: object
    invitation: Invitation
    invitation_token: str
    role: Role
    persona: str
    user: object | None = None
    token: ApiToken | None = None

    def membership(self, persona_name: str) -> Membership:
        return Membership.objects.get(project=self.project, user=getattr(self, persona_name))

    def archived(self) -> dict:
        """URL kwargs of the project after archiving it (for rows that need an archived project)."""
        archive_project(project=Project.objects.get(pk=self.project.pk), by=self.admin)
        return {"key": self.project.key}


def build_ctx(team, persona: str) -> Ctx:
    project = team.project
    role = create_role(project=project, name="QA", permissions=["view", "comment"], by=team.admin)
    backend = Role.objects.get(project=project, slug="backend")
    invitation, raw = invite_member(project=project, email=team.outsider.email, role=backend, by=team.admin)
    user = team.persona(persona)
    token = create_token(user=user, name="matrix", scope=TokenScope.WRITE)[0] if user is not None else None
    return Ctx(
        project=project,
        admin=team.admin,
        scrum_master=team.scrum_master,
        product_owner=team.product_owner,
        developer=team.developer,
        stakeholder=team.stakeholder,
        outsider=team.outsider,
        invitation=invitation,
        invitation_token=raw,
        role=role,
        persona=persona,
        user=user,
        token=token,
    )


@dataclass
class Row:
    name: str  # URL name incl. namespace, e.g. "api:project-detail", "projects:edit"
    method: str  # GET POST PATCH PUT DELETE
    kwargs: Callable[[Ctx], dict]  # URL kwargs
    expect: dict[str, int]  # persona -> status
    data: Callable[[Ctx], dict] | None = None


def expect(
    *, anonymous: int, outsider: int, stakeholder: int, developer: int, scrum_master: int, admin: int
) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "outsider": outsider,
        "stakeholder": stakeholder,
        "developer": developer,
        "scrum_master": scrum_master,
        "admin": admin,
    }


def everyone(status: int, *, anonymous: int = 401) -> dict[str, int]:
    """Per-user routes: any logged-in user gets ``status``."""
    return expect(
        anonymous=anonymous, outsider=status, stakeholder=status, developer=status, scrum_master=status, admin=status
    )


def members(status: int, *, anonymous: int = 401) -> dict[str, int]:
    """Any member may: anonymous 401 (pages: 302 to log in), outsider 404."""
    return expect(
        anonymous=anonymous, outsider=404, stakeholder=status, developer=status, scrum_master=status, admin=status
    )


def editors(status: int, *, anonymous: int = 401) -> dict[str, int]:
    """Editing the backlog and commenting: every role but the stakeholder's."""
    return expect(
        anonymous=anonymous, outsider=404, stakeholder=403, developer=status, scrum_master=status, admin=status
    )


def manage(permission_holders: int, *, scrum_master: bool = True, anonymous: int = 401) -> dict[str, int]:
    """Members lacking the right get 403; scrum_master holds every role permission, not ``administer``."""
    return expect(
        anonymous=anonymous,
        outsider=404,
        stakeholder=403,
        developer=403,
        scrum_master=permission_holders if scrum_master else 403,
        admin=permission_holders,
    )


def no_kwargs(ctx: Ctx) -> dict:
    return {}


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def member(persona_name: str) -> Callable[[Ctx], dict]:
    return lambda ctx: {"key": ctx.project.key, "pk": ctx.membership(persona_name).pk}


def custom_role(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": ctx.role.pk}


def own_token(ctx: Ctx) -> dict:
    # Anonymous callers have no token; any id will do, they must be stopped at 401.
    return {"pk": ctx.token.pk if ctx.token else 1}


API_ROWS: list[Row] = [
    # Per-user routes.
    Row("api:me", "GET", no_kwargs, everyone(200)),
    # Exchanging a password for a token needs no session: it is the way in.
    Row(
        "api:auth-token",
        "POST",
        no_kwargs,
        everyone(201, anonymous=201),
        data=lambda ctx: {"username": ctx.developer.username, "password": PASSWORD},
    ),
    Row("api:token-list", "GET", no_kwargs, everyone(200)),
    Row("api:token-list", "POST", no_kwargs, everyone(201), data=lambda ctx: {"name": "ci", "scope": "read"}),
    Row("api:token-detail", "GET", own_token, everyone(200)),
    Row("api:token-detail", "DELETE", own_token, everyone(204)),
    # The invitation is addressed to the outsider; members hold another address.
    Row(
        "api:invitation-accept",
        "POST",
        no_kwargs,
        expect(anonymous=401, outsider=201, stakeholder=400, developer=400, scrum_master=400, admin=400),
        data=lambda ctx: {"token": ctx.invitation_token},
    ),
    # Projects.
    Row("api:project-list", "GET", no_kwargs, everyone(200)),
    Row("api:project-list", "POST", no_kwargs, everyone(201), data=lambda ctx: {"key": "NEW", "name": "New"}),
    Row("api:project-detail", "GET", project_key, members(200)),
    Row("api:project-detail", "PUT", project_key, manage(200), data=lambda ctx: {"key": "SB", "name": "Renamed"}),
    Row("api:project-detail", "PATCH", project_key, manage(200), data=lambda ctx: {"name": "Renamed"}),
    Row("api:project-archive", "POST", project_key, manage(200, scrum_master=False)),
    Row("api:project-unarchive", "POST", lambda ctx: ctx.archived(), manage(200, scrum_master=False)),
    # Members and invitations: manage_members (the Scrum Master role has it).
    Row("api:member-list", "GET", project_key, members(200)),
    Row(
        "api:member-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"email": "newcomer@example.com", "role": "backend"},
    ),
    Row("api:member-detail", "GET", member("product_owner"), members(200)),
    Row("api:member-detail", "PATCH", member("product_owner"), manage(200), data=lambda ctx: {"role": "backend"}),
    Row("api:member-detail", "DELETE", member("product_owner"), manage(204)),
    Row("api:invitation-list", "GET", project_key, manage(200)),
    Row("api:invitation-detail", "DELETE", lambda ctx: {"key": "SB", "pk": ctx.invitation.pk}, manage(204)),
    # Roles: everyone in the project reads them, only administrators edit them.
    Row("api:role-list", "GET", project_key, members(200)),
    Row(
        "api:role-list",
        "POST",
        project_key,
        manage(201, scrum_master=False),
        data=lambda ctx: {"name": "Tester", "permissions": ["view", "comment"]},
    ),
    Row("api:role-detail", "GET", custom_role, members(200)),
    Row("api:role-detail", "PATCH", custom_role, manage(200, scrum_master=False), data=lambda ctx: {"name": "Quality"}),
    Row("api:role-detail", "DELETE", custom_role, manage(204, scrum_master=False)),
    # The schema and its browser are public: they describe the API, not any project's data.
    Row("schema", "GET", no_kwargs, everyone(200, anonymous=200)),
    Row("api-docs", "GET", no_kwargs, everyone(200, anonymous=200)),
]


@dataclass
class Foreign:
    """For tests/test_foreign_ids.py: an object of another project (or user) and how to address it."""

    make: Callable  # team -> the object the administrator of SB must not reach
    body: dict = field(default_factory=dict)  # request body for writes
    kwargs: Callable = lambda team, obj: {"key": team.project.key, "pk": obj.pk}
    # What must not change, re-read from the database; None: the object's own fields.
    state: Callable | None = None


def _app_modules() -> list:
    """``tests/<app>/matrix_rows.py`` modules: apps keep their own rows next to their tests."""
    return [
        importlib.import_module(f"tests.{path.parent.name}.matrix_rows")
        for path in sorted(Path(__file__).parent.glob("*/matrix_rows.py"))
    ]


def app_rows() -> list[Row]:
    """Every ``*_ROWS`` list of Rows in the apps' matrix_rows modules."""
    return [
        row
        for module in _app_modules()
        for name, value in sorted(vars(module).items())
        if name.endswith("_ROWS") and isinstance(value, list)
        for row in value
    ]


def app_foreign() -> dict[str, Foreign]:
    """Every ``FOREIGN`` dict (route name -> Foreign) in the apps' matrix_rows modules."""
    return {name: entry for module in _app_modules() for name, entry in getattr(module, "FOREIGN", {}).items()}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name; "" when the pattern has none
    route: str  # the full pattern, for messages
    callback: Callable

    @property
    def is_api(self) -> bool:
        """A Django REST framework view (viewset or APIView)."""
        return hasattr(self.callback, "cls")

    @property
    def methods(self) -> frozenset[str]:
        """HTTP methods the view answers, without OPTIONS and HEAD."""
        actions = getattr(self.callback, "actions", None)
        if actions is not None:
            names = set(actions)
        else:
            view_class = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
            names = {m for m in view_class.http_method_names if hasattr(view_class, m)} if view_class else set()
        return frozenset(m.upper() for m in names) - {"OPTIONS", "HEAD"}

    @property
    def params(self) -> frozenset[str]:
        """The URL's keyword arguments, e.g. {"key", "pk"}."""
        return frozenset(re.findall(r"<(?:\w+:)?(\w+)>", self.route))


def _walk(resolver: URLResolver, namespaces: tuple[str, ...], prefix: str) -> Iterator[Route]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace
            if namespace in EXCLUDED_NAMESPACES:
                continue
            yield from _walk(
                pattern, (*namespaces, namespace) if namespace else namespaces, prefix + str(pattern.pattern)
            )
        elif isinstance(pattern, URLPattern):
            name = ":".join((*namespaces, pattern.name)) if pattern.name else ""
            yield Route(name=name, route=prefix + str(pattern.pattern), callback=pattern.callback)


def url_routes() -> list[Route]:
    """Every route of the URLconf, outside the excluded namespaces.

    Static and media files are served by WhiteNoise and the web server, not by URL
    patterns; should ``static()`` patterns appear (DEBUG), they are left out here.
    """
    return [
        route
        for route in _walk(get_resolver(), (), "")
        if not route.route.startswith(("static/", "media/", "^static/", "^media/"))
    ]
