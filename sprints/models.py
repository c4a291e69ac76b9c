import calendar
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from backlog.models import BacklogItem
from projects.models import Project


class SprintState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")


class GoalOutcome(models.TextChoices):
    MET = "met", _("Met")
    PARTLY = "partly", _("Partly met")
    NOT_MET = "not_met", _("Not met")


def one_month_after(day: datetime.date) -> datetime.date:
    """The same day of the next month (clamped to its last day): a sprint must end before it."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class SprintQuerySet(models.QuerySet["Sprint"]):
    def completed(self) -> "SprintQuerySet":
        return self.filter(state=SprintState.COMPLETED)

    def open(self) -> "SprintQuerySet":
        return self.exclude(state=SprintState.COMPLETED)


class Sprint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sprints")
    number = models.PositiveIntegerField()
    name = models.CharField(_("name"), max_length=100)
    goal = models.TextField(_("sprint goal"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    state = models.CharField(max_length=10, choices=SprintState.choices, default=SprintState.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    goal_outcome = models.CharField(_("goal met?"), max_length=8, choices=GoalOutcome.choices, blank=True)
    goal_note = models.TextField(_("note on the goal"), blank=True)
    # The review's figures, frozen when the sprint completes: later edits to items do not change them.
    report = models.JSONField(null=True, blank=True, editable=False)
    # From the frozen report, as columns: velocity and capacity read many sprints at once.
    committed_points = models.DecimalField(max_digits=9, decimal_places=1, null=True, editable=False)
    completed_points = models.DecimalField(max_digits=9, decimal_places=1, null=True, editable=False)
    available_days = models.PositiveIntegerField(null=True, editable=False)
    # Stakeholder feedback captured during the sprint review, as backlog items.
    feedback_items = models.ManyToManyField(BacklogItem, blank=True, related_name="feedback_from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SprintQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="sprint_number_unique_per_project"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(state="active"), name="one_active_sprint_per_project"
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="sprint_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.name}"

    def clean(self) -> None:
        if self.start_date and self.end_date:
            if self.end_date < self.start_date:
                raise ValidationError({"end_date": _("The sprint must end on or after its start date.")})
            if self.end_date >= one_month_after(self.start_date):
                raise ValidationError({"end_date": _("A sprint lasts one month at most (the Scrum Guide's limit).")})

    @property
    def is_planned(self) -> bool:
        return self.state == SprintState.PLANNED

    @property
    def is_active(self) -> bool:
        return self.state == SprintState.ACTIVE

    @property
    def is_completed(self) -> bool:
        return self.state == SprintState.COMPLETED

    @property
    def accepts_items(self) -> bool:
        return self.state != SprintState.COMPLETED

    def working_days(self) -> list[datetime.date]:
        """The sprint's dates that are working days in its project."""
        working = set(self.project.working_days)
        days = (self.end_date - self.start_date).days + 1
        dates = (self.start_date + datetime.timedelta(days=n) for n in range(days))
        return [day for day in dates if day.isoweekday() in working]


class CommittedItem(models.Model):
    """One item as it was committed when the sprint started."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="commitment")
    # Kept when the item is deleted, so the sprint's report stays exact.
    item = models.ForeignKey(BacklogItem, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    item_number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    points = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    role_points = models.JSONField(default=dict, blank=True)
    assignee = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["sprint", "item_number"]
        constraints = [models.UniqueConstraint(fields=["sprint", "item"], name="committed_item_once_per_sprint")]

    def __str__(self) -> str:
        return f"{self.sprint_id}: item {self.item_number} ({self.points} points)"


class DaysOff(models.Model):
    """A member's days away during a sprint: their capacity is the sprint's working days minus these."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="days_off")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField(_("days off"), default=0)

    class Meta:
        verbose_name_plural = "days off"
        constraints = [models.UniqueConstraint(fields=["sprint", "user"], name="days_off_once_per_member")]

    def __str__(self) -> str:
        return f"{self.user_id} off {self.days} days in sprint {self.sprint_id}"
