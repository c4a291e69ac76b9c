import datetime
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_VALIDATOR = RegexValidator(r"^[A-Z]{2,10}$", _("Use 2 to 10 capital Latin letters, e.g. SB."))

# ISO weekday numbers: Monday is 1, Sunday is 7.
WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
DEFAULT_WORKING_DAYS = [1, 2, 3, 4, 5]
# The settings a project's managers edit, in the order forms show them. The key, the
# archived flag and the timestamps are not among them: each has its own rule.
SETTINGS_FIELDS = (
    "name",
    "description",
    "product_goal",
    "timezone",
    "sprint_length_days",
    "daily_scrum_time",
    "daily_scrum_minutes",
    "working_days",
    "definition_of_done",
    "definition_of_ready",
)


def default_working_days() -> list[int]:
    return list(DEFAULT_WORKING_DAYS)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(value)s”."), params={"value": value}, code="invalid")


def validate_working_days(value: object) -> None:
    # Not code "invalid": JSONField would replace the message with its own "Value must be valid JSON."
    valid = {number for number, _label in WEEKDAYS}
    if not isinstance(value, list) or not value or any(day not in valid for day in value):
        raise ValidationError(_("Choose at least one working day."), code="invalid_working_days")
    if len(set(value)) != len(value):
        raise ValidationError(_("Each working day may appear once."), code="invalid_working_days")


class ProjectQuerySet(models.QuerySet["Project"]):
    def visible_to(self, user) -> "ProjectQuerySet":
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def active(self) -> "ProjectQuerySet":
        return self.filter(archived=False)


class Project(models.Model):
    key = models.CharField(_("key"), max_length=10, unique=True, validators=[KEY_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    product_goal = models.TextField(_("product goal"), blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Almaty", validators=[validate_timezone])
    sprint_length_days = models.PositiveSmallIntegerField(
        _("sprint length (days)"), default=14, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    daily_scrum_time = models.TimeField(_("daily scrum time"), default=datetime.time(10, 0))
    daily_scrum_minutes = models.PositiveSmallIntegerField(
        _("daily scrum length (minutes)"), default=15, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    working_days = models.JSONField(_("working days"), default=default_working_days, validators=[validate_working_days])
    definition_of_done = models.TextField(_("Definition of Done"), blank=True, help_text=_("One criterion per line."))
    definition_of_ready = models.TextField(
        _("Definition of Ready"), blank=True, help_text=_("One criterion per line: when is an item ready for a sprint?")
    )
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sprint_length_days__gte=1, sprint_length_days__lte=31),
                name="project_sprint_length_within_a_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} · {self.name}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def definition_of_done_items(self) -> list[str]:
        return [line.strip() for line in self.definition_of_done.splitlines() if line.strip()]

    def definition_of_ready_items(self) -> list[str]:
        return [line.strip() for line in self.definition_of_ready.splitlines() if line.strip()]

    def working_day_names(self) -> list[str]:
        names = dict(WEEKDAYS)
        return [str(names[day]) for day in sorted(self.working_days)]
