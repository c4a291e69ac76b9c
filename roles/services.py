import datetime
import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from projects.models import Project
from roles import policy
from roles.models import ALL_PERMISSIONS, Invitation, Membership, Permission, Role, hash_token
from scrumboard.errors import ConflictError

logger = logging.getLogger(__name__)
P = Permission
_MEMBER = [P.VIEW, P.COMMENT, P.EDIT_BACKLOG, P.ESTIMATE]

# (slug, name, permissions, has its own estimate). Names are translated when shown.
DEFAULT_ROLES: list[tuple[str, str, list[str], bool]] = [
    ("scrum-master", gettext_noop("Scrum Master / Project Manager"), sorted(ALL_PERMISSIONS), False),
    (
        "product-owner",
        gettext_noop("Product Owner"),
        [*_MEMBER, P.MANAGE_SPRINTS, P.MANAGE_ROADMAP, P.RUN_RETROSPECTIVE],
        False,
    ),
    ("system-analyst", gettext_noop("System Analyst"), [*_MEMBER, P.MANAGE_ROADMAP], False),
    ("backend", gettext_noop("Backend Developer"), list(_MEMBER), True),
    ("frontend", gettext_noop("Frontend Developer"), list(_MEMBER), True),
    ("devops", gettext_noop("DevOps Engineer"), [*_MEMBER, P.MANAGE_INTEGRATIONS], True),
    ("stakeholder", gettext_noop("Stakeholder"), [P.VIEW], False),
]
CREATOR_ROLE = "scrum-master"


def seed_default_roles(project: Project) -> dict[str, Role]:
    roles = [
        Role(project=project, slug=slug, name=name, permissions=[str(p) for p in perms], order=i, estimates_points=est)
        for i, (slug, name, perms, est) in enumerate(DEFAULT_ROLES)
    ]
    Role.objects.bulk_create(roles)
    return {role.slug: role for role in Role.objects.filter(project=project)}


def add_member(*, project: Project, user, role: Role, is_admin: bool = False) -> Membership:
    """Adds a membership without permission checks: for project creation and the demo."""
    if role.project_id != project.pk:
        raise ValidationError({"role": _("This role belongs to another project.")})
    membership = Membership.objects.create(project=project, user=user, role=role, is_admin=is_admin)
    policy.forget_memberships(user)
    return membership


def _check_grant(granter: Membership, *, role: Role, is_admin: bool) -> None:
    if not policy.may_grant(granter, permissions=role.permission_set, is_admin=is_admin):
        raise PermissionDenied(_("You cannot grant a role with more rights than your own."))


def _validate_role_in_project(project: Project, role: Role) -> None:
    if role.project_id != project.pk:
        raise ValidationError({"role": _("Choose a role of this project.")})


def invitation_url(raw_token: str) -> str:
    return settings.SITE_URL + reverse("roles:accept_invitation", kwargs={"token": raw_token})


@transaction.atomic
def invite_member(*, project: Project, email: str, role: Role, by) -> tuple[Invitation, str]:
    """Creates an invitation and e-mails its link; returns it with the raw token (shown nowhere else)."""
    granter = policy.require(by, project, P.MANAGE_MEMBERS)
    _validate_role_in_project(project, role)
    _check_grant(granter, role=role, is_admin=False)
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member of the project.")})
    # A new invitation to the same address replaces the pending one.
    Invitation.objects.pending().filter(project=project, email=email).update(revoked_at=timezone.now())
    raw_token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project,
        email=email,
        role=role,
        token_hash=hash_token(raw_token),
        invited_by=by,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    context = {
        "project": project,
        "role": role,
        "inviter": by,
        "url": invitation_url(raw_token),
        "days": settings.INVITATION_TTL_DAYS,
    }
    transaction.on_commit(lambda: _send_invitation_email(email, context))
    return invitation, raw_token


def _send_invitation_email(email: str, context: dict) -> None:
    """The invitation is saved whatever happens here: a mail server that is down must not fail the request."""
    try:
        send_mail(
            subject=_("You are invited to %(project)s on Scrumboard") % {"project": context["project"].name},
            message=render_to_string("roles/invitation_email.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    except OSError:  # smtplib's errors are OSErrors too
        logger.exception("Invitation e-mail for project %s could not be sent", context["project"].key)


def find_invitation(raw_token: str) -> Invitation | None:
    return Invitation.objects.select_related("project", "role").filter(token_hash=hash_token(raw_token)).first()


def invitation_problem(invitation: Invitation | None, *, user=None) -> str | None:
    """Why this invitation cannot be accepted (by this user), or None."""
    if invitation is None:
        return _("This invitation link is not valid.")
    state = invitation.state
    if state == "accepted":
        return _("This invitation has already been used.")
    if state == "revoked":
        return _("This invitation has been withdrawn.")
    if state == "expired":
        return _("This invitation has expired. Ask for a new one.")
    if user is not None and user.is_authenticated and user.email.lower() != invitation.email.lower():
        return _("This invitation was sent to another e-mail address.")
    return None


@transaction.atomic
def accept_invitation(*, raw_token: str, user) -> Membership:
    """Single use: the row is locked, so two concurrent accepts cannot both succeed."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("project", "role")
        .filter(token_hash=hash_token(raw_token))
        .first()
    )
    problem = invitation_problem(invitation, user=user)
    if invitation is None or problem is not None:
        raise ValidationError(problem or _("This invitation link is not valid."))
    if Membership.objects.filter(project=invitation.project, user=user).exists():
        raise ValidationError(_("You are already a member of this project."))
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return add_member(project=invitation.project, user=user, role=invitation.role)


@transaction.atomic
def sign_up_and_accept_invitation(*, raw_token: str, user) -> Membership:
    """Saves a new, unsaved ``user`` under the invited address and accepts: all or nothing."""
    invitation = find_invitation(raw_token)
    problem = invitation_problem(invitation)
    if invitation is None or problem is not None:
        raise ValidationError(problem or _("This invitation link is not valid."))
    if get_user_model().objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(_("An account with this e-mail address already exists: log in to accept."))
    user.email = invitation.email
    user.full_clean(exclude=["password"])
    user.save()
    return accept_invitation(raw_token=raw_token, user=user)


def revoke_invitation(*, invitation: Invitation, by) -> None:
    policy.require(by, invitation.project, P.MANAGE_MEMBERS)
    if invitation.state != "pending":
        raise ConflictError(_("Only a pending invitation can be withdrawn."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def _guard_last_admin(membership: Membership) -> None:
    """Refuses to take away the project's last administrator.

    Locks every administrator row of the project, always in the same order, and only
    then counts: two admins demoting each other at once queue up here instead of each
    locking the other's row and deadlocking, and the second sees the first's change.
    """
    admins = list(
        Membership.objects.admins()
        .filter(project=membership.project_id)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not any(pk != membership.pk for pk in admins):
        raise ConflictError(_("A project needs at least one administrator."))


@transaction.atomic
def change_member(*, membership: Membership, by, role: Role | None = None, is_admin: bool | None = None) -> Membership:
    project = membership.project
    granter = policy.require(by, project, P.MANAGE_MEMBERS)
    # You may only change people whose rights you hold yourself.
    _check_grant(granter, role=membership.role, is_admin=membership.is_admin)
    new_role = role or membership.role
    new_admin = membership.is_admin if is_admin is None else is_admin
    _validate_role_in_project(project, new_role)
    _check_grant(granter, role=new_role, is_admin=new_admin)
    if membership.is_admin and not new_admin:
        _guard_last_admin(membership)
    membership.role = new_role
    membership.is_admin = new_admin
    membership.save(update_fields=["role", "is_admin"])
    policy.forget_memberships(membership.user)
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, by) -> None:
    project = membership.project
    if membership.user_id != by.pk:  # leaving a project needs no right but membership
        granter = policy.require(by, project, P.MANAGE_MEMBERS)
        _check_grant(granter, role=membership.role, is_admin=membership.is_admin)
    else:
        policy.require(by, project, P.VIEW)
    if membership.is_admin:
        _guard_last_admin(membership)
    membership.delete()
    policy.forget_memberships(membership.user)


def _unique_slug(project: Project, name: str) -> str:
    base = slugify(name) or "role"
    slug, n = base, 2
    while Role.objects.filter(project=project, slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _clean_permissions(permissions: list[str]) -> list[str]:
    perms = sorted(set(permissions) | {P.VIEW.value})
    return perms


def _save_role(role: Role) -> None:
    """Validates and saves; a taken name is an error on ``name``, even when a concurrent save took it."""
    taken = _("A role with this name already exists in the project.")
    if Role.objects.filter(project=role.project_id, name__iexact=role.name).exclude(pk=role.pk).exists():
        raise ValidationError({"name": taken})
    role.full_clean()
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError:
        raise ValidationError({"name": taken}) from None


def create_role(*, project: Project, name: str, permissions: list[str], by, estimates_points: bool = False) -> Role:
    policy.require(by, project, policy.ADMINISTER)
    role = Role(
        project=project,
        name=name.strip(),
        slug=_unique_slug(project, name),
        permissions=_clean_permissions(permissions),
        estimates_points=estimates_points,
        order=(project.roles.count()),
    )
    _save_role(role)
    return role


def update_role(
    *,
    role: Role,
    by,
    name: str | None = None,
    permissions: list[str] | None = None,
    estimates_points: bool | None = None,
) -> Role:
    policy.require(by, role.project, policy.ADMINISTER)
    if name is not None:
        role.name = name.strip()
    if permissions is not None:
        role.permissions = _clean_permissions(permissions)
    if estimates_points is not None:
        role.estimates_points = estimates_points
    _save_role(role)
    return role


def delete_role(*, role: Role, by) -> None:
    policy.require(by, role.project, policy.ADMINISTER)
    if role.memberships.exists():
        raise ConflictError(_("Members still hold this role; give them another role first."))
    role.delete()
