"""The notification outbox, per-user preferences and quiet hours."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project, validate_timezone


class Kind(models.TextChoices):
    DAILY_SCRUM_SOON = "daily_scrum_soon", _("Daily scrum soon")
    MENTION = "mention", _("Mention")
    SPRINT_ENDS_TOMORROW = "sprint_ends_tomorrow", _("Sprint ends tomorrow")
    RETROSPECTIVE_DUE = "retrospective_due", _("Retrospective due")


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
    """Quiet hours in the user's own time zone; e-mail due inside them waits until they end."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_to = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user_id} quiet {self.quiet_from}-{self.quiet_to} {self.timezone}"

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
