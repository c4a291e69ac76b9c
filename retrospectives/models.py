"""The retrospective: its phases, the cards the team writes, groups, votes, notes, action items, health."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from backlog.models import BacklogItem
from projects.models import Project
from sprints.models import Sprint


class Phase(models.TextChoices):
    REVIEW = "review", _("Review last actions")
    WRITE = "write", _("Write")
    GROUP = "group", _("Group")
    VOTE = "vote", _("Vote")
    DISCUSS = "discuss", _("Discuss")
    ACTIONS = "actions", _("Action items")
    CLOSED = "closed", _("Closed")


PHASES: list[str] = list(Phase.values)


class Template(models.TextChoices):
    WENT_WELL = "went_well", _("Went well / To improve / Ideas")
    START_STOP_CONTINUE = "start_stop_continue", _("Start / Stop / Continue")
    FOUR_LS = "four_ls", _("4Ls: Liked, Learned, Lacked, Longed for")
    MAD_SAD_GLAD = "mad_sad_glad", _("Mad / Sad / Glad")
    CUSTOM = "custom", _("Custom columns")


# Column titles are stored in English and translated when shown (gettext_noop marks them for the catalogue).
TEMPLATE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    Template.WENT_WELL: [
        ("went_well", gettext_noop("Went well")),
        ("to_improve", gettext_noop("To improve")),
        ("ideas", gettext_noop("Ideas")),
    ],
    Template.START_STOP_CONTINUE: [
        ("start", gettext_noop("Start")),
        ("stop", gettext_noop("Stop")),
        ("continue", gettext_noop("Continue")),
    ],
    Template.FOUR_LS: [
        ("liked", gettext_noop("Liked")),
        ("learned", gettext_noop("Learned")),
        ("lacked", gettext_noop("Lacked")),
        ("longed_for", gettext_noop("Longed for")),
    ],
    Template.MAD_SAD_GLAD: [
        ("mad", gettext_noop("Mad")),
        ("sad", gettext_noop("Sad")),
        ("glad", gettext_noop("Glad")),
    ],
}
DEFAULT_TEMPLATE = Template.WENT_WELL
TEMPLATE_COLUMN_TITLES = {title for columns in TEMPLATE_COLUMNS.values() for _key, title in columns}
# "Start" of Start / Stop / Continue is the verb ("start doing"), not a beginning: it has a context of its own.
START_COLUMN = pgettext_lazy("retrospective column", "Start")


def column_title(title: str) -> str:
    """A column's title as shown: a template's own titles in the reader's language, custom ones as typed."""
    if title == "Start":
        return pgettext("retrospective column", "Start")
    return gettext(title) if title in TEMPLATE_COLUMN_TITLES else title


# The team health check's statements (key, English text; translated when shown).
HEALTH_STATEMENTS: list[tuple[str, str]] = [
    ("value", gettext_noop("We deliver value")),
    ("pace", gettext_noop("Our pace is sustainable")),
    ("learning", gettext_noop("We learn")),
    ("fun", gettext_noop("Fun")),
    ("teamwork", gettext_noop("Teamwork")),
]
HEALTH_KEYS = [key for key, _text in HEALTH_STATEMENTS]


class Retrospective(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retrospectives")
    sprint = models.OneToOneField(
        Sprint, on_delete=models.SET_NULL, null=True, blank=True, related_name="retrospective"
    )
    title = models.CharField(_("title"), max_length=200)
    template = models.CharField(_("template"), max_length=24, choices=Template.choices, default=DEFAULT_TEMPLATE)
    columns = models.JSONField(default=list)  # [{"key": ..., "title": ...}]
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.REVIEW)
    # Anonymous: no page, response or export names a card's author (the row keeps it for edit rights).
    anonymous = models.BooleanField(_("anonymous cards"), default=False)
    votes_per_member = models.PositiveSmallIntegerField(_("votes per member"), default=3)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    health_check = models.BooleanField(_("team health check"), default=False)
    # Frozen when it closes: the sprint's key figures, the top groups, the action items.
    summary = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.title}"

    @property
    def is_closed(self) -> bool:
        return self.phase == Phase.CLOSED

    @property
    def phase_index(self) -> int:
        return PHASES.index(self.phase)

    @property
    def revealed(self) -> bool:
        """Cards are hidden from everyone but their authors until the writing is over."""
        return self.phase_index > PHASES.index(Phase.WRITE)

    @property
    def votes_visible(self) -> bool:
        """Vote totals stay hidden while the team votes."""
        return self.phase_index > PHASES.index(Phase.VOTE)

    @property
    def column_keys(self) -> list[str]:
        return [column["key"] for column in self.columns]


class CardGroup(models.Model):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="groups")
    title = models.CharField(_("title"), max_length=200)
    column = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class Card(models.Model):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="cards")
    column = models.CharField(max_length=40)
    text = models.TextField(_("text"), max_length=1000)
    # Kept for edit rights even when the retrospective is anonymous; never shown then.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    group = models.ForeignKey(CardGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="cards")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"card {self.pk} in {self.column}"


class Vote(models.Model):
    """One vote: a member may put several on one card or group, up to the retrospective's limit in all."""

    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="votes")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, null=True, blank=True, related_name="votes")
    group = models.ForeignKey(CardGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(card__isnull=False, group__isnull=True)
                | models.Q(card__isnull=True, group__isnull=False),
                name="vote_on_card_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"vote {self.pk}"


class DiscussionNote(models.Model):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="notes")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, null=True, blank=True, related_name="notes")
    group = models.ForeignKey(CardGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="notes")
    text = models.TextField(_("note"), max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk}"


class ActionItem(models.Model):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(_("action"), max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Set when the retrospective closes: the backlog item the action became.
    backlog_item = models.ForeignKey(
        BacklogItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="retrospective_actions"
    )
    # Checked at the next retrospective's review phase.
    done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text


class HealthRating(models.Model):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="health_ratings")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    statement = models.CharField(max_length=20)
    score = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["retrospective", "member", "statement"], name="health_rating_once_per_statement"
            ),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="health_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.statement}: {self.score}"
