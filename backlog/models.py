from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project

# The default story-point scale; "?" means "cannot estimate yet".
DEFAULT_SCALE = ["0", "1", "2", "3", "5", "8", "13", "20", "40", "100", "?"]
UNKNOWN_ESTIMATE = "?"


class RankField(models.CharField):
    """A fractional-index rank: must sort byte by byte, whatever the database's locale."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class ItemType(models.TextChoices):
    EPIC = "epic", _("Epic")
    STORY = "story", _("Story")
    TASK = "task", _("Task")
    BUG = "bug", _("Bug")
    SPIKE = "spike", _("Spike")


class Priority(models.TextChoices):
    HIGHEST = "highest", _("Highest")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")
    LOWEST = "lowest", _("Lowest")


class StatusCategory(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class Status(models.Model):
    """One step of a project's workflow, in order."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="statuses")
    name = models.CharField(_("name"), max_length=50)
    category = models.CharField(_("category"), max_length=12, choices=StatusCategory.choices)
    order = models.PositiveSmallIntegerField(default=0)
    # The most cards this board column should hold at once; empty means no limit.
    wip_limit = models.PositiveSmallIntegerField(_("WIP limit"), null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = "statuses"
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="status_name_unique_per_project")]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="label_name_unique_per_project")]

    def __str__(self) -> str:
        return self.name


class ItemCounter(models.Model):
    """The last item number given out in a project; locked while a new item takes the next one."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.project_id}: {self.last_number}"


class BacklogItemQuerySet(models.QuerySet["BacklogItem"]):
    def in_backlog_order(self) -> "BacklogItemQuerySet":
        return self.order_by("rank")

    def for_list(self) -> "BacklogItemQuerySet":
        """Everything a list row shows, in a constant number of queries."""
        return self.select_related("project", "status", "assignee", "reporter", "parent__project").prefetch_related(
            "labels"
        )


class BacklogItem(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveIntegerField()
    type = models.CharField(_("type"), max_length=8, choices=ItemType.choices, default=ItemType.STORY)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    # [{"text": str, "done": bool}]
    acceptance_criteria = models.JSONField(_("acceptance criteria"), default=list, blank=True)
    status = models.ForeignKey(Status, on_delete=models.PROTECT, related_name="items")
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    labels = models.ManyToManyField(Label, blank=True, related_name="items")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_items"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reported_items"
    )
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    # Named, not imported: the sprints app builds on the backlog, not the other way round.
    sprint = models.ForeignKey(
        "sprints.Sprint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        verbose_name=_("sprint"),
    )
    estimate = models.CharField(_("estimate"), max_length=8, blank=True)
    # The estimate as a number for sums; None when unestimated or "?".
    points = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    # {"backend": "3", "frontend": "2"}: per-role estimates that sum to the total.
    role_points = models.JSONField(_("points per role"), default=dict, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    ready = models.BooleanField(_("ready"), default=False)
    # An open impediment from the daily scrum names this item; kept by the standups services.
    impeded = models.BooleanField(_("impeded"), default=False)
    # [{"text": str, "done": bool}] copied from the project's Definition of Done.
    done_checklist = models.JSONField(_("Definition of Done"), default=list, blank=True)
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="watched_items")
    rank = RankField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BacklogItemQuerySet.as_manager()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="item_number_unique_per_project"),
            models.UniqueConstraint(fields=["project", "rank"], name="item_rank_unique_per_project"),
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="item_project_status"),
            # The reminder tick looks for items due in the last days, every minute: only dated items.
            models.Index(fields=["due_date"], name="item_due_date", condition=models.Q(due_date__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    @staticmethod
    def points_for(estimate: str) -> Decimal | None:
        if not estimate or estimate == UNKNOWN_ESTIMATE:
            return None
        return Decimal(estimate)


class LinkKind(models.TextChoices):
    BLOCKS = "blocks", _("blocks")
    RELATES = "relates", _("relates to")
    DUPLICATES = "duplicates", _("duplicates")


class ItemLink(models.Model):
    source = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=10, choices=LinkKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="item_link_unique"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="item_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class Comment(models.Model):
    item = models.ForeignKey(BacklogItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(_("comment"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on item {self.item_id}"


class EventKind(models.TextChoices):
    CREATED = "created", _("created")
    CHANGED = "changed", _("changed")
    DELETED = "deleted", _("deleted")


class ItemEvent(models.Model):
    """Append-only: one row per changed field, the source of history, burndown and webhooks."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="item_events")
    # Kept when the item is deleted, so history and reports stay exact.
    item = models.ForeignKey(BacklogItem, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events")
    item_number = models.PositiveIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=8, choices=EventKind.choices)
    field = models.CharField(max_length=32, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["item", "at"], name="event_item_at"),
            # Reports find a sprint's items among its changes ("sprint") and creations ("").
            models.Index(fields=["project", "field"], name="event_project_field"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} of item {self.item_id} at {self.at:%Y-%m-%d %H:%M}"
