"""The board: its columns, swimlanes and version; the project's sprints for lists."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet, Sum

from backlog.models import BacklogItem, ItemType, Status
from projects.models import Project
from sprints.models import Sprint, SprintState


@dataclass
class Column:
    status: Status
    items: list[BacklogItem]
    total: int = -1  # every card of the column, also when only some are shown (WIP limits count them all)

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.items)

    @property
    def over_limit(self) -> bool:
        return self.status.wip_limit is not None and self.total > self.status.wip_limit


@dataclass
class Lane:
    key: str
    title: str
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(len(c.items) for c in self.columns)


@dataclass
class Board:
    sprint: Sprint
    columns: list[Column]  # every card, for counts and WIP limits
    lanes: list[Lane]
    version: str


SWIMLANES = ("none", "assignee", "parent", "epic")


def sprint_items(sprint: Sprint) -> QuerySet[BacklogItem]:
    """The sprint's cards: what a card shows, not the long texts (descriptions, checklists)."""
    return (
        BacklogItem.objects.filter(sprint=sprint)
        .exclude(type=ItemType.EPIC)
        .for_list()
        .select_related("parent__parent__project")
        .defer("description", "parent__description", "parent__parent__description")
        .order_by("rank")
    )


def _lane_head(item: BacklogItem, swimlanes: str) -> BacklogItem | None:
    """The story (or the epic) a card belongs under, if any."""
    parent = item.parent
    if swimlanes == "parent":
        return parent if parent is not None and parent.type != ItemType.EPIC else None
    while parent is not None and parent.type != ItemType.EPIC:  # a task's story's epic
        parent = parent.parent
    return parent


def board_version(sprint: Sprint) -> str:
    """Changes whenever a card changes, arrives or leaves: the board polls it to refresh."""
    stats = BacklogItem.objects.filter(sprint=sprint).aggregate(count=Count("pk"), latest=Max("updated_at"))
    latest = stats["latest"].isoformat() if stats["latest"] else ""
    raw = f"{sprint.pk}:{stats['count']}:{latest}:{sprint.updated_at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def sprint_board(sprint: Sprint, *, user=None, only_mine: bool = False, swimlanes: str = "none") -> Board:
    """The board's columns (the project's statuses) and lanes, in a constant number of queries."""
    statuses = list(sprint.project.statuses.all())
    items = sprint_items(sprint)
    if only_mine and user is not None:
        items = items.filter(assignee=user)
    cards = list(items)

    def columns_of(subset: list[BacklogItem]) -> list[Column]:
        by_status: dict[int, list[BacklogItem]] = defaultdict(list)
        for item in subset:
            by_status[item.status_id].append(item)
        return [Column(status, by_status.get(status.pk, [])) for status in statuses]

    all_columns = columns_of(cards)
    if only_mine:
        totals = dict(
            BacklogItem.objects.filter(sprint=sprint)
            .exclude(type=ItemType.EPIC)
            .values_list("status")
            .annotate(count=Count("pk"))
            .order_by()
        )
        for column in all_columns:
            column.total = totals.get(column.status.pk, 0)
    lanes: list[Lane] = []
    if swimlanes == "assignee":
        groups: dict[str, list[BacklogItem]] = defaultdict(list)
        titles: dict[str, str] = {}
        for item in cards:
            who = item.assignee.get_username() if item.assignee else ""
            groups[who].append(item)
            titles[who] = (item.assignee.get_full_name() or who) if item.assignee else ""
        order = sorted((k for k in groups if k), key=lambda k: titles[k].casefold()) + ([""] if "" in groups else [])
        lanes = [Lane(k, titles[k], columns_of(groups[k])) for k in order]
    elif swimlanes in ("parent", "epic"):
        groups = defaultdict(list)
        heads: dict[str, BacklogItem | None] = {}
        for item in cards:
            parent = _lane_head(item, swimlanes)
            lane_key = parent.key if parent else ""
            groups[lane_key].append(item)
            heads[lane_key] = parent
        ordered = [k for k in groups if k] + ([""] if "" in groups else [])
        lanes = [
            Lane(k, f"{k} {heads[k].title}" if heads[k] else "", columns_of(groups[k]))  # type: ignore[union-attr]
            for k in ordered
        ]
    return Board(sprint=sprint, columns=all_columns, lanes=lanes, version=board_version(sprint))


def project_sprints(project: Project) -> QuerySet[Sprint]:
    """Sprints with their item counts and points, for lists (one query)."""
    return (
        Sprint.objects.filter(project=project)
        .annotate(
            item_count=Count("items", filter=~Q(items__type=ItemType.EPIC)),
            points_total=Sum("items__points", filter=~Q(items__type=ItemType.EPIC)),
        )
        .order_by("number")
    )


def active_sprint(project: Project) -> Sprint | None:
    return Sprint.objects.filter(project=project, state=SprintState.ACTIVE).first()
