"""The daily scrum: one meeting per working day of an active sprint, each member's entry, impediments."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from backlog.models import BacklogItem
from projects.models import Project


class MeetingState(models.TextChoices):
    OPEN = "open", pgettext_lazy("state", "Open")
    CLOSED = "closed", _("Closed")


class ImpedimentState(models.TextChoices):
    OPEN = "open", pgettext_lazy("state", "Open")
    RESOLVED = "resolved", _("Resolved")


class DailyScrum(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="daily_scrums")
    sprint = models.ForeignKey("sprints.Sprint", on_delete=models.CASCADE, related_name="daily_scrums")
    # The project's local date: the meeting's day, whatever the server's time zone.
    date = models.DateField(_("date"))
    state = models.CharField(max_length=8, choices=MeetingState.choices, default=MeetingState.OPEN)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # [user id, ...] as the facilitator set it when the meeting started.
    speaking_order = models.JSONField(default=list, blank=True)
    # {"<user id>": true | false}: who is present; a member missing here was not marked.
    attendance = models.JSONField(default=dict, blank=True)
    # Who reported, missing entries, impediments raised and resolved, duration: frozen at the close.
    summary = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["project", "date"], name="daily_scrum_once_per_day")]

    def __str__(self) -> str:
        return f"{self.project_id} daily scrum {self.date}"

    @property
    def is_open(self) -> bool:
        return self.state == MeetingState.OPEN

    @property
    def is_closed(self) -> bool:
        return self.state == MeetingState.CLOSED

    @property
    def is_running(self) -> bool:
        return self.is_open and self.started_at is not None


class Entry(models.Model):
    """One member's done / next / blockers for one daily scrum."""

    meeting = models.ForeignKey(DailyScrum, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    done = models.TextField(_("done since the last daily scrum"), blank=True)
    next = models.TextField(_("next"), blank=True)
    blockers = models.TextField(_("blockers"), blank=True)
    items = models.ManyToManyField(BacklogItem, blank=True, related_name="+")
    # The impediment this entry's blockers raised, kept in step while it is open.
    impediment = models.ForeignKey("Impediment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meeting", "user__username"]
        verbose_name_plural = "entries"
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="entry_once_per_member")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.meeting_id}"


class Impediment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="impediments")
    description = models.TextField(_("description"))
    state = models.CharField(max_length=8, choices=ImpedimentState.choices, default=ImpedimentState.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_on = models.DateField(_("raised on"))
    raised_in = models.ForeignKey(
        DailyScrum, on_delete=models.SET_NULL, null=True, blank=True, related_name="impediments_raised"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_on = models.DateField(null=True, blank=True)
    items = models.ManyToManyField(BacklogItem, blank=True, related_name="impediments")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-raised_on", "-id"]
        indexes = [models.Index(fields=["project", "state"], name="impediment_project_state")]

    def __str__(self) -> str:
        return f"{self.project_id} impediment {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state == ImpedimentState.OPEN
