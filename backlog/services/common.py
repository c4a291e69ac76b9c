"""Shared by the backlog's writes: the activity log, validation of fields, locks, numbering and ranks."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backlog import ranking
from backlog.models import (
    DEFAULT_SCALE,
    BacklogItem,
    ItemCounter,
    ItemEvent,
    ItemType,
    Label,
    Status,
    StatusCategory,
)
from projects.models import Project
from roles.models import Membership

if TYPE_CHECKING:
    from sprints.models import Sprint


DEFAULT_WORKFLOW = [
    (gettext_noop("To Do"), StatusCategory.TODO),
    (gettext_noop("In Progress"), StatusCategory.IN_PROGRESS),
    (gettext_noop("In Review"), StatusCategory.IN_PROGRESS),
    (gettext_noop("Done"), StatusCategory.DONE),
]
# Which types may be the parent of which: epic → story/bug/spike → task.
ALLOWED_PARENTS = {
    ItemType.EPIC: set(),
    ItemType.STORY: {ItemType.EPIC},
    ItemType.BUG: {ItemType.EPIC},
    ItemType.SPIKE: {ItemType.EPIC},
    ItemType.TASK: {ItemType.EPIC, ItemType.STORY, ItemType.BUG, ItemType.SPIKE},
}
MOVE_ATTEMPTS = 5
# Each move into the same gap adds about a sixth of a character to the key; past this
# length the project's ranks are spread out again (rare: hundreds of moves into one gap).
REBALANCE_RANK_LENGTH = 128


# --- history ---------------------------------------------------------------------------


def history_event(item: BacklogItem, *, by, kind: str, field: str = "", old=None, new=None, at=None) -> ItemEvent:
    """One unsaved history row; callers save them (often in bulk) with the change they record."""
    return ItemEvent(
        project_id=item.project_id,
        item_id=item.pk,
        item_number=item.number,
        actor=by if by and by.pk else None,
        at=at or timezone.now(),
        kind=kind,
        field=field,
        old=old,
        new=new,
    )


def _status_value(status: Status | None):
    return None if status is None else {"id": status.pk, "name": status.name, "category": status.category}


def _user_value(user):
    return None if user is None else user.get_username()


def _item_ref(item: BacklogItem | None):
    return None if item is None else item.key


def sprint_value(sprint: "Sprint | None"):
    """How a sprint is written into the history: burndown and reports replay these."""
    return None if sprint is None else {"id": sprint.pk, "name": sprint.name}


# How each tracked field is written into the history.
TRACKED_FIELDS = {
    "type": lambda item: item.type,
    "title": lambda item: item.title,
    "description": lambda item: item.description,
    "acceptance_criteria": lambda item: item.acceptance_criteria,
    "status": lambda item: _status_value(item.status),
    "priority": lambda item: item.priority,
    "assignee": lambda item: _user_value(item.assignee),
    "parent": lambda item: _item_ref(item.parent),
    "estimate": lambda item: item.estimate,
    "role_points": lambda item: item.role_points,
    "due_date": lambda item: item.due_date.isoformat() if item.due_date else None,
    "ready": lambda item: item.ready,
    "done_checklist": lambda item: item.done_checklist,
}
# Tracked too, but written only by move_item: changing a sprint's content is planning.
SPRINT_FIELD = "sprint"


# --- validation ------------------------------------------------------------------------


def _member_user(project: Project, user, field: str):
    if user is None:
        return None
    if not Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({field: _("Choose a member of this project.")})
    return user


def _check_parent(item: BacklogItem, parent: BacklogItem | None) -> None:
    if parent is None:
        return
    if parent.project_id != item.project_id:
        raise ValidationError({"parent": _("The parent must be in the same project.")})
    if parent.type not in ALLOWED_PARENTS[ItemType(item.type)]:
        raise ValidationError(
            {
                "parent": _("A %(child)s cannot belong to a %(parent)s.")
                % {"child": ItemType(item.type).label, "parent": ItemType(parent.type).label}
            }
        )
    ancestor: BacklogItem | None = parent
    seen = set()
    while ancestor is not None:
        if ancestor.pk == item.pk or ancestor.pk in seen:
            raise ValidationError({"parent": _("An item cannot be its own ancestor.")})
        seen.add(ancestor.pk)
        ancestor = ancestor.parent


def _check_estimate(estimate: str, field: str = "estimate") -> str:
    estimate = (estimate or "").strip()
    if estimate and estimate not in DEFAULT_SCALE:
        raise ValidationError({field: _("Use a value of the scale: %(scale)s.") % {"scale": ", ".join(DEFAULT_SCALE)}})
    return estimate


def _check_role_points(project: Project, role_points: dict) -> dict:
    if not isinstance(role_points, dict):
        raise ValidationError({"role_points": _("Give points per role as {role: points}.")})
    estimating = set(project.roles.filter(estimates_points=True).values_list("slug", flat=True))
    unknown = sorted(set(role_points) - estimating)
    if unknown:
        raise ValidationError(
            {"role_points": _("These roles do not estimate: %(roles)s.") % {"roles": ", ".join(unknown)}}
        )
    cleaned = {}
    for slug, value in role_points.items():
        value = _check_estimate(str(value), "role_points")
        if value == "?":
            raise ValidationError({"role_points": _("Per-role points must be numbers.")})
        if value:
            cleaned[slug] = value
    return cleaned


def _checklist(entries: Iterable, field: str) -> list[dict]:
    cleaned = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"text": entry, "done": False}
        if not isinstance(entry, dict) or not str(entry.get("text", "")).strip():
            raise ValidationError({field: _("Each entry needs a text.")})
        cleaned.append({"text": str(entry["text"]).strip()[:500], "done": bool(entry.get("done", False))})
    return cleaned


def _labels(project: Project, names: Iterable[str]) -> list[Label]:
    wanted = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        if len(name) > 50:
            raise ValidationError({"labels": _("A label has at most 50 characters.")})
        if name not in wanted:
            wanted.append(name)
    existing = {label.name: label for label in Label.objects.filter(project=project, name__in=wanted)}
    missing = [Label(project=project, name=name) for name in wanted if name not in existing]
    if missing:
        Label.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {label.name: label for label in Label.objects.filter(project=project, name__in=wanted)}
    return [existing[name] for name in wanted]


# --- items -----------------------------------------------------------------------------


def lock_backlog(project: Project) -> ItemCounter:
    """Serialises creations and moves in one project until the transaction ends.

    Readers are not blocked; writers in other projects are not either.
    """
    ItemCounter.objects.get_or_create(project=project)
    return ItemCounter.objects.select_for_update().get(project=project)


def _next_number(project: Project) -> int:
    """Numbers without gaps or duplicates: the counter row is locked until the item is saved."""
    counter = lock_backlog(project)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _edge_rank(project: Project, *, top: bool) -> str:
    ranks = BacklogItem.objects.filter(project=project).order_by("rank" if top else "-rank")
    edge = ranks.values_list("rank", flat=True).first()
    return ranking.key_between(None, edge) if top else ranking.key_between(edge, None)


def _check_sprint(project: Project, sprint: "Sprint", item_type: str = ItemType.STORY) -> None:
    if item_type == ItemType.EPIC:
        raise ValidationError({"sprint": _("An epic spans sprints: plan its stories instead.")})
    if sprint.project_id != project.pk:
        raise ValidationError({"sprint": _("Choose a sprint of this project.")})
    if not sprint.accepts_items:
        raise ValidationError({"sprint": _("This sprint is completed; choose a planned or active sprint.")})


def _sprint_names(ids: Iterable[int | None]) -> dict[int, str]:
    sprint_model = BacklogItem._meta.get_field("sprint").related_model
    wanted = [pk for pk in ids if pk is not None]
    return dict(sprint_model._default_manager.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}


KEEP: Any = object()  # move_item(sprint=KEEP): the item stays in its sprint (or in the backlog)
