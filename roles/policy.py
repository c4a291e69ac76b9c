"""The one permission policy: may this user take this action in this project?

Pages and the API both ask here. A non-member never learns a project exists (404);
a member without the right gets 403.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from projects.models import Project
from roles.models import ALL_PERMISSIONS, Membership, Permission

# "administer": edit roles, grant administrator rights, archive the project.
ADMINISTER = "administer"
ACTIONS = ALL_PERMISSIONS | {ADMINISTER}
# What may still happen in an archived project.
ARCHIVED_ACTIONS = frozenset({Permission.VIEW.value, ADMINISTER})

_CACHE_ATTR = "_scrumboard_memberships"


def membership_of(user, project: Project) -> Membership | None:
    """The user's membership in the project, looked up once per request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cache = user.__dict__.setdefault(_CACHE_ATTR, {})
    if project.pk not in cache:
        cache[project.pk] = Membership.objects.select_related("role").filter(project=project, user=user).first()
    return cache[project.pk]


def remember_memberships(user, memberships: dict[int, Membership | None]) -> None:
    """Seeds the per-request cache from a list query that already loaded them."""
    if getattr(user, "is_authenticated", False):
        user.__dict__.setdefault(_CACHE_ATTR, {}).update(memberships)


def forget_memberships(user) -> None:
    user.__dict__.pop(_CACHE_ATTR, None)


def can(user, project: Project, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    member = membership_of(user, project)
    if member is None:
        return False
    if project.archived and action not in ARCHIVED_ACTIONS:
        return False
    if action == ADMINISTER:
        return member.is_admin
    return action in member.effective_permissions


def require(user, project: Project, action: str) -> Membership:
    """The caller's membership if they may take ``action``; else 404 or 403."""
    member = membership_of(user, project)
    if member is None:
        raise Http404
    if not can(user, project, action):
        raise PermissionDenied
    return member


def project_for(user, key: str, action: str = Permission.VIEW) -> Project:
    """The project with this key, if the user may take ``action`` in it."""
    project = Project.objects.filter(key=key).first()
    if project is None:
        raise Http404
    require(user, project, action)
    return project


def allowed_actions(user, project: Project) -> frozenset[str]:
    return frozenset(action for action in ACTIONS if can(user, project, action))


def may_grant(granter: Membership, *, permissions: frozenset[str], is_admin: bool) -> bool:
    """Nobody grants more rights than they hold themselves."""
    if is_admin and not granter.is_admin:
        return False
    return permissions <= granter.effective_permissions
