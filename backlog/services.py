"""Every write to the backlog: items, ranking, estimates, comments, and their history."""

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backlog import ranking, signals
from backlog.models import (
    DEFAULT_SCALE,
    BacklogItem,
    Comment,
    EventKind,
    ItemCounter,
    ItemEvent,
    ItemLink,
    ItemType,
    Label,
    LinkKind,
    Priority,
    Status,
    StatusCategory,
)
from projects.models import Project
from roles import policy
from roles.models import Membership, Permission

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
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def seed_workflow(project: Project) -> list[Status]:
    return Status.objects.bulk_create(
        Status(project=project, name=name, category=category, order=i)
        for i, (name, category) in enumerate(DEFAULT_WORKFLOW)
    )


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


def _sprint_value(sprint: "Sprint | None"):
    """How a sprint is written into the history: burndown and reports replay these."""
    return None if sprint is None else {"id": sprint.pk, "name": sprint.name}


# How each tracked field is written into the history.
_TRACKED = {
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


def set_wip_limit(*, status: Status, by, limit: int | None) -> Status:
    """A board column's work-in-progress limit; None removes it."""
    policy.require(by, status.project, Permission.MANAGE_SPRINTS)
    if limit is not None and not 1 <= limit <= 999:
        raise ValidationError({"wip_limit": _("Give a limit from 1 to 999, or none.")})
    status.wip_limit = limit
    status.save(update_fields=["wip_limit"])
    return status


# --- items -----------------------------------------------------------------------------


def _lock_backlog(project: Project) -> ItemCounter:
    """Serialises creations and moves in one project until the transaction ends.

    Readers are not blocked; writers in other projects are not either.
    """
    ItemCounter.objects.get_or_create(project=project)
    return ItemCounter.objects.select_for_update().get(project=project)


def _next_number(project: Project) -> int:
    """Numbers without gaps or duplicates: the counter row is locked until the item is saved."""
    counter = _lock_backlog(project)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _edge_rank(project: Project, *, top: bool) -> str:
    ranks = BacklogItem.objects.filter(project=project).order_by("rank" if top else "-rank")
    edge = ranks.values_list("rank", flat=True).first()
    return ranking.key_between(None, edge) if top else ranking.key_between(edge, None)


@transaction.atomic
def create_item(
    *,
    project: Project,
    by,
    title: str,
    type: str = ItemType.STORY,
    description: str = "",
    status: Status | None = None,
    priority: str = Priority.MEDIUM,
    labels: Iterable[str] = (),
    assignee=None,
    parent: BacklogItem | None = None,
    estimate: str = "",
    role_points: dict | None = None,
    due_date: date | None = None,
    acceptance_criteria: Iterable = (),
    position: str = "bottom",
    sprint: "Sprint | None" = None,
) -> BacklogItem:
    policy.require(by, project, Permission.EDIT_BACKLOG)
    if sprint is not None:
        policy.require(by, project, Permission.MANAGE_SPRINTS)
        _check_sprint(project, sprint, type)
    number = _next_number(project)  # also serialises creations in this project
    item = BacklogItem(
        project=project,
        number=number,
        type=type,
        title=(title or "").strip(),
        description=description,
        status=status or project.statuses.order_by("order", "id").first(),
        priority=priority,
        assignee=_member_user(project, assignee, "assignee"),
        reporter=by,
        estimate=_check_estimate(estimate),
        role_points=_check_role_points(project, role_points or {}),
        due_date=due_date,
        acceptance_criteria=_checklist(acceptance_criteria, "acceptance_criteria"),
        done_checklist=[{"text": text, "done": False} for text in project.definition_of_done_items()],
        rank=_edge_rank(project, top=position == "top"),
        sprint=sprint,
    )
    if item.status is not None and item.status.project_id != project.pk:
        raise ValidationError({"status": _("Choose a status of this project.")})
    _apply_points(item)
    item.parent = parent
    _check_parent(item, parent)
    item.full_clean(exclude=["labels", "watchers", "project", "status"])
    item.save()
    label_objects = _labels(project, labels)
    if label_objects:
        item.labels.set(label_objects)
    if by is not None and by.pk:
        item.watchers.add(by)
    history_event(item, by=by, kind=EventKind.CREATED, new=_snapshot(item, label_objects)).save()
    signals.item_created.send(sender=BacklogItem, item=item)
    return item


def _snapshot(item: BacklogItem, labels: list[Label]) -> dict:
    snapshot = {name: value(item) for name, value in _TRACKED.items() if name not in ("description", "done_checklist")}
    snapshot["labels"] = [label.name for label in labels]
    snapshot["rank"] = item.rank
    snapshot[SPRINT_FIELD] = _sprint_value(item.sprint)
    return snapshot


def _apply_points(item: BacklogItem) -> None:
    if item.role_points:
        total = sum((Decimal(v) for v in item.role_points.values()), Decimal(0))
        item.points = total
        item.estimate = format(total.normalize(), "f")
    else:
        item.points = BacklogItem.points_for(item.estimate)


def _required_action(field: str) -> str:
    return Permission.ESTIMATE if field in ("estimate", "role_points") else Permission.EDIT_BACKLOG


@transaction.atomic
def update_item(*, item: BacklogItem, by, override_reason: str = "", **changes) -> BacklogItem:
    """Changes fields and writes one history event per field that really changed."""
    project = item.project
    labels = changes.pop("labels", None)
    watchers = changes.pop("watchers", None)
    for field in changes:
        if field not in _TRACKED:
            raise ValidationError({field: _("This field cannot be changed here.")})
        policy.require(by, project, _required_action(field))
    if labels is not None or watchers is not None:
        policy.require(by, project, Permission.EDIT_BACKLOG)
    if "estimate" in changes:
        changes["estimate"] = _check_estimate(changes["estimate"])
    if "role_points" in changes:
        changes["role_points"] = _check_role_points(project, changes["role_points"])
        if not changes["role_points"] and "estimate" not in changes:
            changes["estimate"] = ""
    before = {field: _TRACKED[field](item) for field in changes}
    for field in ("acceptance_criteria", "done_checklist"):
        if field in changes:
            changes[field] = _checklist(changes[field], field)
    if "assignee" in changes:
        changes["assignee"] = _member_user(project, changes["assignee"], "assignee")
    if "status" in changes and changes["status"].project_id != project.pk:
        raise ValidationError({"status": _("Choose a status of this project.")})
    for field, value in changes.items():
        setattr(item, field, value)
    if "parent" in changes:
        _check_parent(item, item.parent)
    if "estimate" in changes or "role_points" in changes:
        if "role_points" not in changes and item.role_points:
            raise ValidationError({"estimate": _("This item is estimated per role; change the role points.")})
        _apply_points(item)
    if "status" in changes:
        _check_done(item, before["status"], override_reason)
    item.full_clean(exclude=["labels", "watchers", "project", "status", "rank"])
    events = []
    now = timezone.now()
    for field in changes:
        new = _TRACKED[field](item)
        if new != before[field]:
            events.append(
                history_event(item, by=by, kind=EventKind.CHANGED, field=field, old=before[field], new=new, at=now)
            )
    if "status" in changes and override_reason and item.status.category == StatusCategory.DONE:
        events.append(
            history_event(item, by=by, kind=EventKind.CHANGED, field="done_override", new=override_reason, at=now)
        )
    if events:
        fields = sorted({f for f in changes if f in {e.field for e in events}} | {"points", "estimate", "updated_at"})
        item.save(update_fields=fields)
    if labels is not None:
        old_labels = sorted(label.name for label in item.labels.all())
        new_objects = _labels(project, labels)
        if sorted(label.name for label in new_objects) != old_labels:
            item.labels.set(new_objects)
            events.append(
                history_event(
                    item,
                    by=by,
                    kind=EventKind.CHANGED,
                    field="labels",
                    old=old_labels,
                    new=[label.name for label in new_objects],
                    at=now,
                )
            )
    if watchers is not None:
        item.watchers.set([_member_user(project, user, "watchers") for user in watchers])
    ItemEvent.objects.bulk_create(events)
    if events:
        changed = {event.field: {"old": event.old, "new": event.new} for event in events}
        signals.item_updated.send(sender=BacklogItem, item=item, changes=changed)
    return item


def _check_done(item: BacklogItem, old_status: dict | None, override_reason: str) -> None:
    entering_done = item.status.category == StatusCategory.DONE and (
        old_status is None or old_status["category"] != StatusCategory.DONE
    )
    if not entering_done:
        return
    unchecked = [entry["text"] for entry in item.done_checklist if not entry.get("done")]
    if unchecked and not override_reason.strip():
        raise ValidationError(
            {
                "status": _("The Definition of Done is not met (%(open)s). Check the entries or give a reason.")
                % {"open": "; ".join(unchecked)}
            }
        )


@transaction.atomic
def delete_item(*, item: BacklogItem, by) -> None:
    policy.require(by, item.project, Permission.EDIT_BACKLOG)
    history_event(item, by=by, kind=EventKind.DELETED, old={"title": item.title}).save()
    signals.item_deleted.send(sender=BacklogItem, item=item)
    item.delete()


def watch_item(*, item: BacklogItem, by, watching: bool = True) -> None:
    """Follows (or stops following) an item: any member may, unlike editing the watcher list."""
    policy.require(by, item.project, Permission.VIEW)
    if watching:
        item.watchers.add(by)
    else:
        item.watchers.remove(by)


# --- ranking ---------------------------------------------------------------------------


def _neighbour_rank(project: Project, item: BacklogItem, rank: str, *, below: bool) -> str | None:
    """The rank next to ``rank`` on one side, ignoring the item being moved."""
    others = BacklogItem.objects.filter(project=project).exclude(pk=item.pk)
    if below:
        return others.filter(rank__gt=rank).order_by("rank").values_list("rank", flat=True).first()
    return others.filter(rank__lt=rank).order_by("-rank").values_list("rank", flat=True).first()


def _target_rank(
    item: BacklogItem,
    *,
    current: str,
    before: BacklogItem | None,
    after: BacklogItem | None,
    position: str | None,
    within: dict | None = None,
) -> str:
    """The new rank. ``within`` narrows "top"/"bottom" to one list (a sprint, or the backlog).

    Ranks stay one global order: a sprint's top is just above its first item, so the
    item also lands in the right place of every other view.
    """
    project = item.project
    if before is not None:
        return ranking.key_between(_neighbour_rank(project, item, before.rank, below=False), before.rank)
    if after is not None:
        return ranking.key_between(after.rank, _neighbour_rank(project, item, after.rank, below=True))
    if position not in ("top", "bottom"):
        if within is not None:
            return current  # into a sprint or back to the backlog, keeping its place in the order
        raise ValidationError(_("Say where to move the item: before, after, top or bottom."))
    members = BacklogItem.objects.filter(project=project, **(within or {})).exclude(pk=item.pk)
    if position == "top":
        first = members.order_by("rank").values_list("rank", flat=True).first()
        if first is None:
            return current
        return ranking.key_between(_neighbour_rank(project, item, first, below=False), first)
    last = members.order_by("-rank").values_list("rank", flat=True).first()
    if last is None:
        return current
    return ranking.key_between(last, _neighbour_rank(project, item, last, below=True))


def _with_rank(anchor: BacklogItem | None, ranks: dict[int, str]) -> BacklogItem | None:
    if anchor is not None:
        anchor.rank = ranks[anchor.pk]
    return anchor


def _rebalance_ranks(project: Project, wanted: list[int]) -> dict[int, str]:
    """Gives every item of the project an evenly spread, short rank, keeping the order.

    The one write that touches every row, and only when a key has grown long. Two passes,
    so no new key meets an old one under the unique constraint. Returns ``wanted``'s ranks.
    """
    items = list(BacklogItem.objects.filter(project=project).order_by("rank").only("pk", "rank"))
    for item in items:
        item.rank = "~" + item.rank  # sorts after every real key ("~" is above all digits)
    BacklogItem.objects.bulk_update(items, ["rank"], batch_size=1000)
    for item, rank in zip(items, ranking.keys_between(None, None, len(items)), strict=True):
        item.rank = rank
    BacklogItem.objects.bulk_update(items, ["rank"], batch_size=1000)
    return {item.pk: item.rank for item in items if item.pk in wanted}


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


def _placed_rank(item: BacklogItem, current: str, ranks: dict[int, str], *, before, after, position, within) -> str:
    before, after = _with_rank(before, ranks), _with_rank(after, ranks)
    return _target_rank(item, current=current, before=before, after=after, position=position, within=within)


KEEP: Any = object()  # move_item(sprint=KEEP): the item stays in its sprint (or in the backlog)


def move_item(
    *,
    item: BacklogItem,
    by,
    before: BacklogItem | None = None,
    after: BacklogItem | None = None,
    position: str | None = None,
    sprint: "Sprint | None" = KEEP,
) -> BacklogItem:
    """Writes only the moved item's row (rank, sprint) and its history, whatever the backlog's size.

    ``sprint`` moves the item into a sprint (or, with None, back to the backlog); then
    "top"/"bottom" mean that sprint's (the backlog's) top or bottom. Changing a sprint's
    content is planning ("manage sprints"); ordering the backlog is "edit backlog".
    Moves in a project take the backlog lock, so two people dropping items into the same
    gap get different keys; the unique rank constraint is the safety net, and a refused
    move re-reads its neighbours and tries again.
    """
    project = item.project
    within = None
    if sprint is not KEEP:
        policy.require(by, project, Permission.MANAGE_SPRINTS)
        if sprint is not None:
            _check_sprint(project, sprint, item.type)
        within = {"sprint": sprint} if sprint is not None else {"sprint__isnull": True}
    else:
        policy.require(by, project, Permission.EDIT_BACKLOG)
    for anchor in (before, after):
        if anchor is not None and anchor.project_id != item.project_id:
            raise ValidationError(_("Both items must be in the same project."))
        if anchor is not None and anchor.pk == item.pk:
            raise ValidationError(_("An item cannot be moved next to itself."))
    anchor_ids = [anchor.pk for anchor in (before, after) if anchor is not None]
    for _attempt in range(MOVE_ATTEMPTS):
        try:
            with transaction.atomic():
                _lock_backlog(project)
                # Read ranks under the lock: the anchors may have moved a moment ago.
                rows = {
                    pk: (rank, sprint_id)
                    for pk, rank, sprint_id in BacklogItem.objects.filter(pk__in=[item.pk, *anchor_ids]).values_list(
                        "pk", "rank", "sprint_id"
                    )
                }
                if len(rows) != 1 + len(anchor_ids):
                    raise ValidationError(_("The item or its new neighbour no longer exists."))
                ranks = {pk: rank for pk, (rank, _sprint) in rows.items()}
                old_rank, old_sprint_id = rows[item.pk]
                moved_from = old_rank
                placement = {"before": before, "after": after, "position": position, "within": within}
                new_rank = _placed_rank(item, old_rank, ranks, **placement)
                if len(new_rank) > REBALANCE_RANK_LENGTH:
                    ranks = _rebalance_ranks(project, [item.pk, *anchor_ids])
                    old_rank = ranks[item.pk]
                    new_rank = _placed_rank(item, old_rank, ranks, **placement)
                new_sprint_id = old_sprint_id if sprint is KEEP else (sprint.pk if sprint is not None else None)
                now = timezone.now()
                BacklogItem.objects.filter(pk=item.pk).update(rank=new_rank, sprint=new_sprint_id, updated_at=now)
                events = []
                if new_sprint_id != old_sprint_id:
                    names = _sprint_names([old_sprint_id])
                    old = None if old_sprint_id is None else {"id": old_sprint_id, "name": names.get(old_sprint_id, "")}
                    events.append(
                        history_event(
                            item,
                            by=by,
                            kind=EventKind.CHANGED,
                            field=SPRINT_FIELD,
                            old=old,
                            new=_sprint_value(sprint),
                            at=now,
                        )
                    )
                if new_rank != moved_from:
                    events.append(
                        history_event(
                            item, by=by, kind=EventKind.CHANGED, field="rank", old=moved_from, new=new_rank, at=now
                        )
                    )
                ItemEvent.objects.bulk_create(events)
                item.rank = new_rank
                if sprint is not KEEP:
                    item.sprint = sprint
                if events:
                    changes = {event.field: {"old": event.old, "new": event.new} for event in events}
                    signals.item_moved.send(sender=BacklogItem, item=item, changes=changes)
        except IntegrityError:
            continue
        return item
    raise ValidationError(_("The backlog is changing quickly; try the move again."))


# --- comments --------------------------------------------------------------------------


def mentioned_members(project: Project, body: str) -> list:
    names = {match.group(1).rstrip(".").lower() for match in MENTION.finditer(body)}
    if not names:
        return []
    members = get_user_model().objects.filter(memberships__project=project)
    return [user for user in members if user.get_username().lower() in names]


@transaction.atomic
def add_comment(*, item: BacklogItem, by, body: str) -> Comment:
    policy.require(by, item.project, Permission.COMMENT)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    comment = Comment.objects.create(item=item, author=by, body=body)
    mentions = mentioned_members(item.project, body)
    if mentions:
        comment.mentions.set(mentions)
    return comment


def edit_comment(*, comment: Comment, by, body: str) -> Comment:
    if comment.author_id != by.pk:
        raise PermissionDenied(_("Only the author can edit a comment."))
    policy.require(by, comment.item.project, Permission.COMMENT)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    comment.mentions.set(mentioned_members(comment.item.project, body))
    return comment


def delete_comment(*, comment: Comment, by) -> None:
    project = comment.item.project
    if comment.author_id != by.pk:
        policy.require(by, project, policy.ADMINISTER)
    else:
        policy.require(by, project, Permission.COMMENT)
    comment.delete()


# --- links -----------------------------------------------------------------------------


def link_items(*, source: BacklogItem, target: BacklogItem, kind: str, by) -> ItemLink:
    policy.require(by, source.project, Permission.EDIT_BACKLOG)
    if source.project_id != target.project_id:
        raise ValidationError({"target": _("Link items of the same project.")})
    if source.pk == target.pk:
        raise ValidationError({"target": _("An item cannot link to itself.")})
    if kind not in LinkKind.values:
        raise ValidationError({"kind": _("Unknown link kind.")})
    link, _created = ItemLink.objects.get_or_create(source=source, target=target, kind=kind)
    return link


def unlink_items(*, link: ItemLink, by) -> None:
    policy.require(by, link.source.project, Permission.EDIT_BACKLOG)
    link.delete()


# --- bulk ------------------------------------------------------------------------------


BULK_FIELDS = frozenset({"status", "labels", "assignee", "estimate", SPRINT_FIELD})


@transaction.atomic
def bulk_update_items(*, project: Project, by, items: list[BacklogItem], changes: dict) -> list[BacklogItem]:
    """The same changes on several items, all or nothing."""
    unknown = set(changes) - BULK_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed in bulk.") for name in sorted(unknown)})
    for item in items:
        if item.project_id != project.pk:
            raise ValidationError(_("Every item must be in this project."))
        fields = dict(changes)
        sprint = fields.pop(SPRINT_FIELD, KEEP)
        try:
            if fields:
                update_item(item=item, by=by, **fields)
            if sprint is not KEEP:
                move_item(item=item, by=by, sprint=sprint)
        except ValidationError as exc:  # say which item refused, or a bulk error is a riddle
            raise ValidationError([f"{item.key}: {message}" for message in exc.messages]) from exc
    return items


@transaction.atomic
def bulk_delete_items(*, project: Project, by, items: list[BacklogItem]) -> int:
    policy.require(by, project, Permission.EDIT_BACKLOG)
    for item in items:
        if item.project_id != project.pk:
            raise ValidationError(_("Every item must be in this project."))
        delete_item(item=item, by=by)
    return len(items)
