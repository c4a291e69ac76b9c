import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Project


class Permission(models.TextChoices):
    VIEW = "view", _("View the project")
    COMMENT = "comment", _("Comment")
    EDIT_BACKLOG = "edit_backlog", _("Edit the backlog")
    ESTIMATE = "estimate", _("Estimate")
    MANAGE_SPRINTS = "manage_sprints", _("Manage sprints")
    RUN_DAILY_SCRUM = "run_daily_scrum", _("Run the daily scrum")
    RUN_RETROSPECTIVE = "run_retrospective", _("Run the retrospective")
    MANAGE_ROADMAP = "manage_roadmap", _("Manage the roadmap")
    MANAGE_INTEGRATIONS = "manage_integrations", _("Manage integrations")
    MANAGE_MEMBERS = "manage_members", _("Manage members")
    MANAGE_PROJECT = "manage_project", _("Manage project settings")


# Actions only a project administrator may take, whatever their role says.
ADMIN_ONLY_ACTIONS = frozenset({"administer"})
ALL_PERMISSIONS = frozenset(Permission.values)


def validate_permissions(value: object) -> None:
    # Not code "invalid": JSONField would replace the message with its own "Value must be valid JSON."
    if not isinstance(value, list) or any(not isinstance(p, str) for p in value):
        raise ValidationError(_("Permissions must be a list of permission names."), code="invalid_permissions")
    unknown = sorted(set(value) - ALL_PERMISSIONS)
    if unknown:
        raise ValidationError(
            _("Unknown permissions: %(names)s."), params={"names": ", ".join(unknown)}, code="invalid_permissions"
        )


class Role(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    slug = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    permissions = models.JSONField(_("permissions"), default=list, validators=[validate_permissions])
    order = models.PositiveSmallIntegerField(default=0)
    # Whether story points can be estimated per this role (Backend / Frontend / DevOps).
    estimates_points = models.BooleanField(_("has its own estimate"), default=False)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="role_slug_unique_per_project"),
            models.UniqueConstraint(fields=["project", "name"], name="role_name_unique_per_project"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions)

    def clean(self) -> None:
        if Permission.VIEW not in self.permissions:
            raise ValidationError({"permissions": _("Every role can view the project.")})


class MembershipQuerySet(models.QuerySet["Membership"]):
    def admins(self) -> "MembershipQuerySet":
        return self.filter(is_admin=True)


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    # RESTRICT: a role in use cannot be deleted alone, but goes with its project.
    role = models.ForeignKey(Role, on_delete=models.RESTRICT, related_name="memberships")
    # An administrator may do everything in the project, including editing roles.
    is_admin = models.BooleanField(_("administrator"), default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["role__order", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project.key} as {self.role}"

    @property
    def effective_permissions(self) -> frozenset[str]:
        return ALL_PERMISSIONS if self.is_admin else self.role.permission_set


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.project.key}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
