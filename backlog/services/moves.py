"""Moving items: re-ranking (one row written) and moving in and out of sprints."""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog import ranking, signals
from backlog.models import (
    BacklogItem,
    EventKind,
    ItemEvent,
)
from projects.models import Project
from roles import policy
from roles.models import Permission

if TYPE_CHECKING:
    from sprints.models import Sprint

from backlog.services.common import (
    KEEP,
    MOVE_ATTEMPTS,
    REBALANCE_RANK_LENGTH,
    SPRINT_FIELD,
    _check_sprint,
    _sprint_names,
    history_event,
    lock_backlog,
    sprint_value,
)

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


def _placed_rank(item: BacklogItem, current: str, ranks: dict[int, str], *, before, after, position, within) -> str:
    before, after = _with_rank(before, ranks), _with_rank(after, ranks)
    return _target_rank(item, current=current, before=before, after=after, position=position, within=within)


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
                lock_backlog(project)
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
                            new=sprint_value(sprint),
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
