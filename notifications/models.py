"""The notification outbox, per-user preferences and quiet hours."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project, validate_timezone


class Kind(models.TextChoices):
    DAILY_SCRUM_SOON = "daily_scrum_soon", _("Daily scrum soon")
    STANDUP_NUDGE = "standup_nudge", _("No daily scrum entry yet")
    STANDUP_SUMMARY = "standup_summary", _("Daily scrum summary")
    BLOCKER_ESCALATED = "blocker_escalated", _("Blocker open too long")
    SPRINT_ENDS_TOMORROW = "sprint_ends_tomorrow", _("Sprint ends tomorrow")
    RETROSPECTIVE_DUE = "retrospective_due", _("Sprint review and retrospective due")
    PLANNING_DUE = "planning_due", _("Sprint planning due")
    ITEM_OVERDUE = "item_overdue", _("Item past its due date")
    ACTION_ITEM_DUE = "action_item_due", _("Retrospective action due")
    MENTION = "mention", _("Mention")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In app")
    EMAIL = "email", _("Email")


class State(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def inbox(self, user) -> "NotificationQuerySet":
        """The user's in-app notifications."""
        return self.filter(recipient=user, channel=Channel.IN_APP)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One outbox row per (recipient, kind, subject, local date, channel): the key decides "once"."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # What it is about, as a short key: "standup:SB:2026-03-02", "comment:42".
    subject = models.CharField(max_length=200)
    # The date it belongs to in the project's (or recipient's) time zone.
    local_date = models.DateField()
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.IN_APP)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "local_date", "channel"], name="notification_once"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
            models.Index(fields=["state", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} to {self.recipient_id} ({self.channel})"


class NotificationPreference(models.Model):
    """An explicit choice; a missing row means "on"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "channel"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel}: {self.enabled}"


class NotificationSettings(models.Model):
    """The user's own time zone, quiet hours and working hours.

    E-mail due inside quiet hours waits until they end. Working hours (with working days)
    place the daily-scrum nudge at the start of the member's own day; without them the
    project's time zone and daily scrum time decide.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    quiet_from = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_to = models.TimeField(_("quiet until"), null=True, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    work_from = models.TimeField(_("working hours from"), null=True, blank=True)
    work_to = models.TimeField(_("working hours until"), null=True, blank=True)
    # ISO weekdays (1 = Monday); empty means the project's working days.
    work_days = models.JSONField(_("working days"), default=list, blank=True)
    # E-mail is written in this language; empty: the site's default. In-app text follows the page.
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name_plural = "notification settings"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(work_from__isnull=True) & models.Q(work_to__isnull=True))
                | models.Q(work_from__lt=models.F("work_to")),
                name="notification_settings_working_hours",
                violation_error_message=_("Working hours must end after they start (both or neither)."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} quiet {self.quiet_from}-{self.quiet_to} {self.timezone}"

    @property
    def has_working_hours(self) -> bool:
        return self.work_from is not None and self.work_to is not None

    def working_day_start(self, at: datetime.datetime, *, default_days: list[int]) -> datetime.datetime | None:
        """When ``at`` falls in the user's working hours (their time zone and days): that day's start.

        None outside them, and None when no working hours are set.
        """
        if self.work_from is None or self.work_to is None:
            return None
        tz = zoneinfo.ZoneInfo(self.timezone)
        local = at.astimezone(tz)
        days = self.work_days or default_days
        if local.isoweekday() not in days or not self.work_from <= local.time().replace(tzinfo=None) < self.work_to:
            return None
        return datetime.datetime.combine(local.date(), self.work_from, tzinfo=tz)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.work_days and (
            not isinstance(self.work_days, list) or any(day not in range(1, 8) for day in self.work_days)
        ):
            raise ValidationError({"work_days": _("Working days are weekday numbers from 1 (Monday) to 7.")})

    def quiet_until(self, at: datetime.datetime) -> datetime.datetime | None:
        """The end of the quiet hours ``at`` falls in, or None when ``at`` is not quiet."""
        if self.quiet_from is None or self.quiet_to is None or self.quiet_from == self.quiet_to:
            return None
        tz = zoneinfo.ZoneInfo(self.timezone)
        local = at.astimezone(tz)
        clock = local.time().replace(tzinfo=None)
        if self.quiet_from < self.quiet_to:
            quiet = self.quiet_from <= clock < self.quiet_to
            end_day = local.date()
        else:  # across midnight, e.g. 22:00-07:00
            quiet = clock >= self.quiet_from or clock < self.quiet_to
            end_day = local.date() + datetime.timedelta(days=1) if clock >= self.quiet_from else local.date()
        if not quiet:
            return None
        return datetime.datetime.combine(end_day, self.quiet_to, tzinfo=tz)
