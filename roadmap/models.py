"""The roadmap: phases on a month grid, milestones, and releases fed by epics and items."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from backlog.models import BacklogItem
from projects.models import Project

# Semantic Versioning 2.0.0 (https://semver.org), the official pattern.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def validate_semver(value: str) -> None:
    if not SEMVER.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a semantic version such as 1.0.0 or 1.1.0-rc.1."),
            params={"value": value},
            code="invalid_version",
        )


def semver_key(version: str) -> tuple:
    """Sort key by precedence: 1.0.0-rc.1 < 1.0.0 < 1.0.1 < 1.10.0."""
    match = SEMVER.match(version)
    if not match:
        return (float("inf"),)
    major, minor, patch, pre, _build = match.groups()
    # A pre-release sorts before its release; its parts compare numerically when numeric.
    pre_key = (
        (0, tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")))
        if pre
        else (1, ())
    )
    return (int(major), int(minor), int(patch), pre_key)


class PhaseStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("In progress")
    DONE = "done", _("Done")


class Phase(models.Model):
    """A stretch of the plan (Month 1: architecture), with its goal and the epics and items it covers."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(_("name"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=PhaseStatus.choices, default=PhaseStatus.PLANNED)
    items = models.ManyToManyField(BacklogItem, blank=True, related_name="phases", verbose_name=_("epics and items"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "start_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="phase_ends_after_it_starts",
                violation_error_message=_("A phase cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("A phase cannot end before it starts.")})


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    phase = models.ForeignKey(
        Phase, on_delete=models.SET_NULL, null=True, blank=True, related_name="milestones", verbose_name=_("phase")
    )
    name = models.CharField(_("name"), max_length=200)
    date = models.DateField(_("date"))
    done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "pk"]

    def __str__(self) -> str:
        return self.name


class ReleaseStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    RELEASED = "released", _("Released")


class Release(models.Model):
    """A version to ship: its epics and items, a target date, notes generated from what is done."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(_("version"), max_length=64, validators=[validate_semver])
    name = models.CharField(_("name"), max_length=200, blank=True)
    phase = models.ForeignKey(
        Phase, on_delete=models.SET_NULL, null=True, blank=True, related_name="releases", verbose_name=_("phase")
    )
    target_date = models.DateField(_("target date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.PLANNED)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Markdown; generated from the done items until someone edits it, frozen at release.
    notes = models.TextField(_("release notes"), blank=True)
    notes_edited = models.BooleanField(default=False)
    items = models.ManyToManyField(
        BacklogItem, through="ReleaseItem", blank=True, related_name="releases", verbose_name=_("epics and items")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"],
                name="release_version_unique_per_project",
                violation_error_message=_("This project already has a release with this version."),
            ),
            models.CheckConstraint(
                condition=models.Q(status="released", released_on__isnull=False)
                | (~models.Q(status="released") & models.Q(released_on__isnull=True)),
                name="release_released_on_when_released",
            ),
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def is_released(self) -> bool:
        return self.status == ReleaseStatus.RELEASED


class ReleaseItem(models.Model):
    """An epic or item in a release; ``released`` marks what shipped when the version was released."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="links")
    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="release_links")
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "item"], name="release_item_once")]

    def __str__(self) -> str:
        return f"{self.release_id}:{self.item_id}"
