"""Every write to retrospectives: creation, the facilitator's phases, cards, groups, votes, actions, closing.

Members (those who may comment) write their own cards, votes and ratings; the facilitator's work
(phases, groups, action items, closing) takes ``run_retrospective``. A closed retrospective is
read-only, except the done flags of its action items, which the next retrospective's review sets.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog import services as backlog_services
from backlog.models import ItemType
from projects.models import Project
from retrospectives import selectors, signals
from retrospectives.models import (
    DEFAULT_TEMPLATE,
    HEALTH_KEYS,
    PHASES,
    TEMPLATE_COLUMNS,
    ActionItem,
    Card,
    CardGroup,
    DiscussionNote,
    HealthRating,
    Phase,
    Retrospective,
    Template,
    Vote,
)
from roles import policy
from roles.models import Membership, Permission
from scrumboard.errors import ConflictError
from sprints.models import Sprint

ACTION_LABEL = "retrospective-action"
MAX_VOTES = 20
MAX_COLUMNS = 6
SETTINGS = ("title", "anonymous", "votes_per_member", "health_check", "facilitator")


def _facilitate(retro: Retrospective, by) -> None:
    policy.require(by, retro.project, Permission.RUN_RETROSPECTIVE)


def _participate(retro: Retrospective, by) -> None:
    """Members who take part in the team's work (not read-only stakeholders) write for themselves."""
    policy.require(by, retro.project, Permission.COMMENT)


def _open(retro: Retrospective) -> None:
    if retro.is_closed:
        raise ConflictError(_("This retrospective is closed: it is read-only."))


def _in_phase(retro: Retrospective, *phases: str, what: str) -> None:
    _open(retro)
    if retro.phase not in phases:
        names = ", ".join(str(Phase(p).label) for p in phases)
        raise ConflictError(
            _("%(what)s only in the %(phases)s phase (now: %(phase)s).")
            % {"what": what, "phases": names, "phase": Phase(retro.phase).label}
        )


def _lock(retro: Retrospective) -> Retrospective:
    """The retrospective's row afresh, locked until the transaction ends: phases and vote counts serialise on it."""
    fresh = Retrospective.objects.select_for_update().get(pk=retro.pk)
    for field in ("phase", "anonymous", "votes_per_member", "health_check", "columns", "summary", "closed_at"):
        setattr(retro, field, getattr(fresh, field))
    return retro


def _text(value: str, field: str, *, limit: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    if len(value) > limit:
        raise ValidationError({field: _("Keep it under %(limit)s characters.") % {"limit": limit}})
    return value


def columns_for(template: str, custom: list | None = None) -> list[dict]:
    """The template's columns; custom ones are given as titles (or {"title"} objects) at creation."""
    if template != Template.CUSTOM:
        if template not in TEMPLATE_COLUMNS:
            raise ValidationError({"template": _("Choose one of the templates.")})
        return [{"key": key, "title": title} for key, title in TEMPLATE_COLUMNS[template]]
    titles = [(entry.get("title", "") if isinstance(entry, dict) else str(entry)).strip() for entry in (custom or [])]
    titles = [title for title in titles if title]
    if not 1 <= len(titles) <= MAX_COLUMNS:
        raise ValidationError({"columns": _("Give between 1 and %(count)s column titles.") % {"count": MAX_COLUMNS}})
    if len({title.casefold() for title in titles}) != len(titles):
        raise ValidationError({"columns": _("Give each column a different title.")})
    if any(len(title) > 60 for title in titles):
        raise ValidationError({"columns": _("Keep column titles under 60 characters.")})
    return [{"key": f"c{n}", "title": title} for n, title in enumerate(titles, start=1)]


def _check_votes(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VOTES:
        raise ValidationError({"votes_per_member": _("Give between 1 and %(max)s votes.") % {"max": MAX_VOTES}})
    return value


def _member(project: Project, user, field: str):
    if user is None:
        return None
    if not Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({field: _("Choose a member of this project.")})
    return user


@transaction.atomic
def create_retrospective(
    *,
    project: Project,
    by,
    sprint: Sprint | None = None,
    title: str = "",
    template: str = DEFAULT_TEMPLATE,
    columns: list | None = None,
    anonymous: bool = False,
    votes_per_member: int = 3,
    health_check: bool = False,
    facilitator=None,
) -> Retrospective:
    policy.require(by, project, Permission.RUN_RETROSPECTIVE)
    if sprint is not None and sprint.project_id != project.pk:
        raise ValidationError({"sprint": _("Choose a sprint of this project.")})
    if sprint is not None and Retrospective.objects.filter(sprint=sprint).exists():
        raise ConflictError(_("%(name)s already has a retrospective.") % {"name": sprint.name})
    title = (title or "").strip() or (
        _("%(name)s retrospective") % {"name": sprint.name} if sprint else _("Retrospective")
    )
    retro = Retrospective(
        project=project,
        sprint=sprint,
        title=_text(title, "title", limit=200, message=_("Give the retrospective a title.")),
        template=template,
        columns=columns_for(template, columns),
        anonymous=bool(anonymous),
        votes_per_member=_check_votes(votes_per_member),
        health_check=bool(health_check),
        facilitator=_member(project, facilitator, "facilitator") or by,
    )
    try:
        with transaction.atomic():
            retro.save()
    except IntegrityError as exc:  # another creation for the same sprint won the race
        raise ConflictError(_("This sprint already has a retrospective.")) from exc
    return retro


def create_for_completed_sprint(sprint: Sprint) -> Retrospective | None:
    """The sprint's retrospective with the default template, unless it has one (no user acts: no policy check)."""
    if Retrospective.objects.filter(sprint=sprint).exists():
        return None
    facilitator = sprint.completed_by
    try:
        with transaction.atomic():
            return Retrospective.objects.create(
                project=sprint.project,
                sprint=sprint,
                title=_("%(name)s retrospective") % {"name": sprint.name},
                template=DEFAULT_TEMPLATE,
                columns=columns_for(DEFAULT_TEMPLATE),
                facilitator=facilitator,
            )
    except IntegrityError:  # created meanwhile
        return None


@transaction.atomic
def update_retrospective(*, retro: Retrospective, by, **changes) -> Retrospective:
    """Title and settings. Anonymity is fixed once cards exist; the vote limit once voting began."""
    _facilitate(retro, by)
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    _lock(retro)
    _open(retro)
    if "anonymous" in changes and bool(changes["anonymous"]) != retro.anonymous and retro.cards.exists():
        raise ConflictError(_("Cards have been written: anonymity can no longer change."))
    if "votes_per_member" in changes:
        _check_votes(changes["votes_per_member"])
        if changes["votes_per_member"] != retro.votes_per_member and retro.phase_index >= PHASES.index(Phase.VOTE):
            raise ConflictError(_("Voting has begun: the number of votes is fixed."))
    if "title" in changes:
        changes["title"] = _text(changes["title"], "title", limit=200, message=_("Give the retrospective a title."))
    if "facilitator" in changes:
        changes["facilitator"] = _member(retro.project, changes["facilitator"], "facilitator")
    for field, value in changes.items():
        setattr(retro, field, bool(value) if field in ("anonymous", "health_check") else value)
    retro.save()
    return retro


@transaction.atomic
def set_phase(*, retro: Retrospective, by, phase: str) -> Retrospective:
    """The facilitator moves one phase on (or one back); moving to "closed" closes it."""
    _facilitate(retro, by)
    if phase not in PHASES:
        raise ValidationError({"phase": _("Choose one of the phases.")})
    _lock(retro)
    _open(retro)
    target, current = PHASES.index(phase), retro.phase_index
    if target == current:
        return retro
    if abs(target - current) != 1:
        raise ConflictError(_("Phases go in order: move to the next phase or back one."))
    if phase == Phase.CLOSED:
        return close_retrospective(retro=retro, by=by)
    retro.phase = phase
    retro.save(update_fields=["phase", "updated_at"])
    return retro


def advance_phase(*, retro: Retrospective, by) -> Retrospective:
    if retro.is_closed:
        _open(retro)
    return set_phase(retro=retro, by=by, phase=PHASES[retro.phase_index + 1])


def step_back(*, retro: Retrospective, by) -> Retrospective:
    _open(retro)
    if retro.phase_index == 0:
        raise ConflictError(_("This is the first phase."))
    return set_phase(retro=retro, by=by, phase=PHASES[retro.phase_index - 1])


# --- cards ---------------------------------------------------------------------------------


def _touch(retro: Retrospective) -> None:
    """The board's version moves with every change inside the retrospective."""
    Retrospective.objects.filter(pk=retro.pk).update(updated_at=timezone.now())


@transaction.atomic
def add_card(*, retro: Retrospective, by, column: str, text: str) -> Card:
    _participate(retro, by)
    _in_phase(retro, Phase.WRITE, what=_("Cards are written"))
    if column not in retro.column_keys:
        raise ValidationError({"column": _("Choose one of this retrospective's columns.")})
    card = Card.objects.create(
        retrospective=retro,
        column=column,
        text=_text(text, "text", limit=1000, message=_("Write something on the card.")),
        author=by,
    )
    _touch(retro)
    return card


def _own(card: Card, by) -> None:
    if card.author_id is None or card.author_id != by.pk:
        raise PermissionDenied(_("Only the card's author may change it."))


@transaction.atomic
def edit_card(*, card: Card, by, text: str | None = None, column: str | None = None) -> Card:
    retro = card.retrospective
    _participate(retro, by)
    _own(card, by)
    _in_phase(retro, Phase.WRITE, what=_("Cards are edited"))
    if text is not None:
        card.text = _text(text, "text", limit=1000, message=_("Write something on the card."))
    if column is not None:
        if column not in retro.column_keys:
            raise ValidationError({"column": _("Choose one of this retrospective's columns.")})
        card.column = column
    card.save()
    _touch(retro)
    return card


@transaction.atomic
def delete_card(*, card: Card, by) -> None:
    retro = card.retrospective
    _participate(retro, by)
    _own(card, by)
    _in_phase(retro, Phase.WRITE, what=_("Cards are deleted"))
    card.delete()
    _touch(retro)


# --- groups --------------------------------------------------------------------------------


@transaction.atomic
def group_cards(
    *, retro: Retrospective, by, cards: list[Card], title: str, group: CardGroup | None = None
) -> CardGroup:
    """Merges similar cards under a named group (a new one, or ``group``)."""
    _facilitate(retro, by)
    _in_phase(retro, Phase.GROUP, what=_("Cards are grouped"))
    if any(card.retrospective_id != retro.pk for card in cards):
        raise ValidationError({"cards": _("Choose cards of this retrospective.")})
    if group is not None and group.retrospective_id != retro.pk:
        raise ValidationError({"group": _("Choose a group of this retrospective.")})
    if group is None and len(cards) < 2:
        raise ValidationError({"cards": _("Select at least two cards to group.")})
    if group is None:
        title = _text(title, "title", limit=200, message=_("Name the group."))
        group = CardGroup.objects.create(retrospective=retro, title=title, column=cards[0].column)
    elif title:
        group.title = _text(title, "title", limit=200, message=_("Name the group."))
        group.save(update_fields=["title", "updated_at"])
    Card.objects.filter(pk__in=[card.pk for card in cards]).update(group=group, updated_at=timezone.now())
    _touch(retro)
    return group


@transaction.atomic
def rename_group(*, group: CardGroup, by, title: str) -> CardGroup:
    retro = group.retrospective
    _facilitate(retro, by)
    _in_phase(retro, Phase.GROUP, Phase.VOTE, Phase.DISCUSS, what=_("Groups are renamed"))
    group.title = _text(title, "title", limit=200, message=_("Name the group."))
    group.save(update_fields=["title", "updated_at"])
    _touch(retro)
    return group


@transaction.atomic
def ungroup(*, group: CardGroup, by) -> None:
    """Dissolves a group: its cards stand alone again."""
    retro = group.retrospective
    _facilitate(retro, by)
    _in_phase(retro, Phase.GROUP, what=_("Cards are grouped"))
    group.cards.update(group=None, updated_at=timezone.now())
    group.delete()
    _touch(retro)


# --- votes ---------------------------------------------------------------------------------


def _target(retro: Retrospective, card: Card | None, group: CardGroup | None) -> tuple[Card | None, CardGroup | None]:
    """A vote goes on a group or on a card standing alone (a grouped card's vote counts for its group)."""
    if (card is None) == (group is None):
        raise ValidationError({"card": _("Vote for one card or one group.")})
    if card is not None:
        if card.retrospective_id != retro.pk:
            raise ValidationError({"card": _("Choose a card of this retrospective.")})
        card = Card.objects.select_related("group").get(pk=card.pk)  # its group as it is now
        if card.group is not None:
            return None, card.group
        return card, None
    if group is None or group.retrospective_id != retro.pk:
        raise ValidationError({"group": _("Choose a group of this retrospective.")})
    return None, group


@transaction.atomic
def cast_vote(*, retro: Retrospective, by, card: Card | None = None, group: CardGroup | None = None) -> Vote:
    """One more vote; over the member's limit it is refused. The retrospective's row lock counts them safely."""
    _participate(retro, by)
    _lock(retro)
    _in_phase(retro, Phase.VOTE, what=_("Votes are cast"))
    card, group = _target(retro, card, group)
    used = Vote.objects.filter(retrospective=retro, voter=by).count()
    if used >= retro.votes_per_member:
        raise ValidationError(
            {
                "votes": _("You have used all %(count)s of your votes. Take one back to vote elsewhere.")
                % {"count": retro.votes_per_member}
            }
        )
    vote = Vote.objects.create(retrospective=retro, card=card, group=group, voter=by)
    _touch(retro)
    return vote


@transaction.atomic
def remove_vote(*, retro: Retrospective, by, card: Card | None = None, group: CardGroup | None = None) -> None:
    """Takes back one of the member's votes on the card or group."""
    _participate(retro, by)
    _lock(retro)
    _in_phase(retro, Phase.VOTE, what=_("Votes are taken back"))
    card, group = _target(retro, card, group)
    vote = Vote.objects.filter(retrospective=retro, voter=by, card=card, group=group).order_by("-id").first()
    if vote is None:
        raise ValidationError({"votes": _("You have no vote there to take back.")})
    vote.delete()
    _touch(retro)


# --- discussion and action items ------------------------------------------------------------


@transaction.atomic
def add_note(
    *, retro: Retrospective, by, text: str, card: Card | None = None, group: CardGroup | None = None
) -> DiscussionNote:
    _participate(retro, by)
    _in_phase(retro, Phase.DISCUSS, Phase.ACTIONS, what=_("Notes are taken"))
    if card is not None and card.retrospective_id != retro.pk:
        raise ValidationError({"card": _("Choose a card of this retrospective.")})
    if group is not None and group.retrospective_id != retro.pk:
        raise ValidationError({"group": _("Choose a group of this retrospective.")})
    note = DiscussionNote.objects.create(
        retrospective=retro,
        card=card,
        group=group,
        author=by,
        text=_text(text, "text", limit=2000, message=_("Write the note.")),
    )
    _touch(retro)
    return note


def _due(value: datetime.date | None) -> datetime.date | None:
    if value is not None and value > datetime.date(2999, 12, 31):
        raise ValidationError({"due_date": _("Give a date before the year 3000.")})
    return value


@transaction.atomic
def add_action_item(
    *, retro: Retrospective, by, text: str, owner=None, due_date: datetime.date | None = None
) -> ActionItem:
    _facilitate(retro, by)
    _in_phase(retro, Phase.DISCUSS, Phase.ACTIONS, what=_("Action items are added"))
    action = ActionItem.objects.create(
        retrospective=retro,
        text=_text(text, "text", limit=255, message=_("Say what the team will do.")),
        owner=_member(retro.project, owner, "owner"),
        due_date=_due(due_date),
    )
    _touch(retro)
    return action


@transaction.atomic
def update_action_item(*, action: ActionItem, by, reviewed_in: Retrospective | None = None, **changes) -> ActionItem:
    """Text, owner and due date while the retrospective is open; ``done`` at any time (the next review).

    ``reviewed_in``: the retrospective whose review phase ticks it, so its board refreshes too.
    """
    retro = action.retrospective
    unknown = set(changes) - {"text", "owner", "due_date", "done"}
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    if set(changes) - {"done"}:
        _facilitate(retro, by)
        _in_phase(retro, Phase.DISCUSS, Phase.ACTIONS, what=_("Action items are changed"))
    elif action.owner_id != by.pk:
        _facilitate(retro, by)
    else:
        policy.require(by, retro.project, Permission.VIEW)
    if "text" in changes:
        action.text = _text(changes["text"], "text", limit=255, message=_("Say what the team will do."))
    if "owner" in changes:
        action.owner = _member(retro.project, changes["owner"], "owner")
    if "due_date" in changes:
        action.due_date = _due(changes["due_date"])
    if "done" in changes:
        action.done = bool(changes["done"])
    action.save()
    _touch(retro)
    if reviewed_in is not None and reviewed_in.project_id == retro.project_id:
        _touch(reviewed_in)
    return action


@transaction.atomic
def delete_action_item(*, action: ActionItem, by) -> None:
    retro = action.retrospective
    _facilitate(retro, by)
    _in_phase(retro, Phase.DISCUSS, Phase.ACTIONS, what=_("Action items are removed"))
    action.delete()
    _touch(retro)


# --- health check --------------------------------------------------------------------------


@transaction.atomic
def rate_health(*, retro: Retrospective, by, statement: str, score: int) -> HealthRating:
    _participate(retro, by)
    _open(retro)
    if not retro.health_check:
        raise ConflictError(_("This retrospective has no health check."))
    if statement not in HEALTH_KEYS:
        raise ValidationError({"statement": _("Choose one of the statements.")})
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationError({"score": _("Rate from 1 to 5.")})
    rating, _created = HealthRating.objects.update_or_create(
        retrospective=retro, member=by, statement=statement, defaults={"score": score}
    )
    _touch(retro)
    return rating


# --- closing -------------------------------------------------------------------------------


def retrospective_path(retro: Retrospective) -> str:
    return reverse("retrospectives:detail", kwargs={"key": retro.project.key, "pk": retro.pk})


@transaction.atomic
def close_retrospective(*, retro: Retrospective, by) -> Retrospective:
    """Action items become backlog items (labelled, linked back); the summary is frozen; read-only after."""
    _facilitate(retro, by)
    _lock(retro)
    _in_phase(retro, Phase.ACTIONS, what=_("The retrospective is closed"))
    link = retrospective_path(retro)
    for action in retro.action_items.select_related("owner").order_by("created_at", "id"):
        description = _("Action item from the retrospective “%(title)s”: %(link)s") % {
            "title": retro.title,
            "link": link,
        }
        item = backlog_services.create_item(
            project=retro.project,
            by=by,
            title=action.text,
            type=ItemType.TASK,
            description=description,
            labels=[ACTION_LABEL],
            assignee=action.owner,
            due_date=action.due_date,
        )
        action.backlog_item = item
        action.save(update_fields=["backlog_item", "updated_at"])
    retro.phase = Phase.CLOSED
    retro.closed_at = timezone.now()
    retro.summary = selectors.build_summary(retro)
    retro.save()
    signals.retrospective_closed.send(sender=Retrospective, retro=retro)
    return retro
