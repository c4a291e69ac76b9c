from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> "ApiTokenQuerySet":
        now = timezone.now()
        unexpired = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        return self.filter(revoked_at__isnull=True).filter(unexpired)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the raw value is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(_("scope"), max_length=5, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE


class WebhookEvent(models.TextChoices):
    ITEM_CREATED = "item.created", _("Item created")
    ITEM_UPDATED = "item.updated", _("Item updated")
    ITEM_MOVED = "item.moved", _("Item moved")
    ITEM_DELETED = "item.deleted", _("Item deleted")
    SPRINT_STARTED = "sprint.started", _("Sprint started")
    SPRINT_COMPLETED = "sprint.completed", _("Sprint completed")
    DAILY_SCRUM_SUMMARY = "daily_scrum.summary", _("Daily scrum summary")
    RETROSPECTIVE_CLOSED = "retrospective.closed", _("Retrospective closed")
    RELEASE_RELEASED = "release.released", _("Release released")


def validate_webhook_events(value: object) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not value or any(event not in WebhookEvent.values for event in value):
        raise ValidationError(_("Choose at least one event from the list."), code="invalid_events")


class Webhook(models.Model):
    """An outbound webhook subscription of a project.

    The signing secret is not stored: it is an HMAC of ``secret_salt`` under the server's
    WEBHOOK_SIGNING_KEY (SECRET_KEY when unset), so a copy of the database alone cannot forge
    deliveries. Rotating the secret means a new salt.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, validators=[validate_webhook_events])
    active = models.BooleanField(_("active"), default=True)
    secret_salt = models.CharField(max_length=64)
    # Consecutive failed deliveries; at WEBHOOK_DISABLE_AFTER the subscription turns itself off.
    failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one subscription: the outbox row and, once tried, the delivery log."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()  # the same for every subscription an event goes to; also in the body
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # A manual redelivery is a new row pointing at the one it repeats.
    # CASCADE: with SET_NULL a redelivery would, for a moment, be a second original of its event (refused).
    redelivery_of = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_id"],
                condition=models.Q(redelivery_of__isnull=True),
                name="webhook_delivery_once_per_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} to {self.webhook_id}"


class CalendarFeed(models.Model):
    """A project's iCalendar feed: a feed-only secret in its URL (stored hashed), revocable."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.project_id} feed {self.prefix}…"


class ImportState(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded file: parsed and previewed at upload, applied later by the ``run_import`` task.

    The bytes are kept until the import succeeds (the task parses them again); the preview and the
    result are JSON reports the pages and the API render as they are.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    source = models.CharField(max_length=20)
    filename = models.CharField(max_length=255, blank=True)
    data = models.BinaryField(default=b"")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.PREVIEWED)
    preview = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # the sweeper re-publishes a job queued too long
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.source}) into {self.project_id}: {self.state}"

    @property
    def is_finished(self) -> bool:
        return self.state in (ImportState.SUCCEEDED, ImportState.FAILED)


class LinkKind(models.TextChoices):
    ITEM = "item", _("Item")
    SPRINT = "sprint", _("Sprint")


class SourceLink(models.Model):
    """An imported object and its key in the source system: a re-import updates it instead of adding another."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    system = models.CharField(max_length=20)  # "jira" | "github" | "scrumboard"
    kind = models.CharField(max_length=6, choices=LinkKind.choices)
    source_key = models.CharField(max_length=255)
    item = models.ForeignKey(
        "backlog.BacklogItem", on_delete=models.CASCADE, null=True, blank=True, related_name="source_links"
    )
    sprint = models.ForeignKey("sprints.Sprint", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "system", "kind", "source_key"], name="source_link_unique_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.kind} {self.source_key}"
