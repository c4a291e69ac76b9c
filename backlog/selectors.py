"""Reads of the backlog: filtered lists, totals, search, history."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from backlog.models import BacklogItem, Comment, ItemEvent, ItemLink, ItemType, StatusCategory
from projects.models import Project
from scrumboard.database import Casefold

ID_PATTERN = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true), within a bigint
KEY_PATTERN = re.compile(r"^(?P<key>[A-Z]{2,10})-(?P<number>\d{1,9})$")


def children_points() -> Subquery:
    totals = BacklogItem.objects.filter(parent=OuterRef("pk")).order_by().values("parent").annotate(total=Sum("points"))
    return Subquery(totals.values("total")[:1])


def search(items: QuerySet[BacklogItem], text: str) -> QuerySet[BacklogItem]:
    """Full-text search on PostgreSQL (the index in migration 0003), substring search elsewhere."""
    text = text.strip()
    if not text:
        return items
    key = KEY_PATTERN.match(text.upper())
    if key:
        return items.filter(number=int(key["number"]))
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("title", "description", config="simple")
        return items.annotate(search=vector).filter(search=SearchQuery(text, config="simple", search_type="websearch"))
    folded = text.casefold()  # Cyrillic too: SQLite's own case-insensitive LIKE knows only ASCII
    return items.alias(title_folded=Casefold("title"), description_folded=Casefold("description")).filter(
        Q(title_folded__contains=folded) | Q(description_folded__contains=folded)
    )


@dataclass(frozen=True)
class ItemFilters:
    type: list[str]
    status: list[str]
    category: list[str]
    label: list[str]
    assignee: list[str]
    parent: str
    text: str
    sprint: str = ""  # a sprint's id, "none" (the backlog) or "active"

    @classmethod
    def from_params(cls, params) -> "ItemFilters":
        def many(name: str) -> list[str]:
            values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name, "")]
            return [part.strip() for value in values for part in (value or "").split(",") if part.strip()]

        return cls(
            type=[t for t in many("type") if t in ItemType.values],
            status=many("status"),
            category=[c for c in many("category") if c in StatusCategory.values],
            label=many("label"),
            assignee=many("assignee"),
            parent=(params.get("parent") or "").strip(),
            text=(params.get("search") or params.get("q") or "").strip(),
            sprint=(params.get("sprint") or "").strip().lower(),
        )

    @property
    def active(self) -> bool:
        return any(
            [self.type, self.status, self.category, self.label, self.assignee, self.parent, self.text, self.sprint]
        )


def backlog_items(project: Project, filters: ItemFilters | None = None, *, user=None) -> QuerySet[BacklogItem]:
    """The project's items in backlog order, ready for a list row (constant queries)."""
    items: QuerySet[BacklogItem] = (
        BacklogItem.objects.filter(project=project).for_list().annotate(children_points=children_points())
    )
    if filters is None:
        return items.order_by("rank")
    if filters.type:
        items = items.filter(type__in=filters.type)
    if filters.status:
        items = items.filter(status__name__in=filters.status)
    if filters.category:
        items = items.filter(status__category__in=filters.category)
    if filters.label:
        # EXISTS rather than a join: no duplicate rows, so no DISTINCT over every column.
        tagged = BacklogItem.labels.through.objects.filter(backlogitem_id=OuterRef("pk"), label__name__in=filters.label)
        items = items.filter(Exists(tagged))
    if filters.assignee:
        wanted = Q()
        for name in filters.assignee:
            if name == "none":
                wanted |= Q(assignee__isnull=True)
            elif name == "me" and user is not None:
                wanted |= Q(assignee=user)
            else:
                wanted |= Q(assignee__username=name)
        items = items.filter(wanted)
    if filters.parent:
        match = KEY_PATTERN.match(filters.parent.upper())
        items = items.filter(parent__number=int(match["number"])) if match else items.none()
    if filters.sprint == "none":
        items = items.filter(sprint__isnull=True)
    elif filters.sprint == "active":
        items = items.filter(sprint__state="active")
    elif filters.sprint:
        is_id = ID_PATTERN.fullmatch(filters.sprint) is not None
        items = items.filter(sprint_id=int(filters.sprint)) if is_id else items.none()
    items = search(items, filters.text)
    return items.order_by("rank")


@dataclass(frozen=True)
class Totals:
    items: int
    points: Decimal


def backlog_totals(items: QuerySet[BacklogItem]) -> Totals:
    """Count and points of the items, each counted once (a label filter's join may repeat rows).

    Summed over ``id IN (the filtered ids)``: no DISTINCT over every column, and no
    per-row annotation (children's points) computed for rows that are only counted.
    """
    ids = items.order_by().values("pk")
    result = BacklogItem.objects.filter(pk__in=ids).aggregate(
        count=Count("pk"), points=Coalesce(Sum("points"), Decimal(0))
    )
    return Totals(items=result["count"], points=result["points"])


def item_by_key(project: Project, item_key: str) -> BacklogItem | None:
    match = KEY_PATTERN.match((item_key or "").strip().upper())
    if not match or match["key"] != project.key:
        return None
    items = BacklogItem.objects.for_list().annotate(children_points=children_points())
    return items.filter(project=project, number=int(match["number"])).first()


def item_history(item: BacklogItem) -> QuerySet[ItemEvent]:
    return ItemEvent.objects.filter(item_id=item.pk).select_related("actor").order_by("at", "id")


def epic_progress(project: Project) -> QuerySet[BacklogItem]:
    """Epics with their children's points and counts: total and done."""
    done = Q(children__status__category=StatusCategory.DONE)
    return (
        BacklogItem.objects.filter(project=project, type=ItemType.EPIC)
        .select_related("status", "project")
        .annotate(
            child_count=Count("children", distinct=True),
            done_count=Count("children", filter=done, distinct=True),
            total_points=Coalesce(Sum("children__points"), Decimal(0)),
            done_points=Coalesce(Sum("children__points", filter=done), Decimal(0)),
        )
        .order_by("rank")
    )


def backlog_page(items: QuerySet[BacklogItem], *, after: str = "", size: int) -> tuple[list[BacklogItem], bool]:
    """One page of a backlog list after the rank ``after``, and whether more follow (one query)."""
    if after:
        items = items.filter(rank__gt=after)
    rows = list(items[: size + 1])
    return rows[:size], len(rows) > size


def item_children(item: BacklogItem) -> QuerySet[BacklogItem]:
    return BacklogItem.objects.filter(parent=item).select_related("project", "status", "assignee").order_by("rank")


def item_links(item: BacklogItem) -> QuerySet[ItemLink]:
    """Links from and to the item, with both ends ready to show."""
    return (
        ItemLink.objects.filter(Q(source=item) | Q(target=item))
        .select_related("source__project", "source__status", "target__project", "target__status")
        .order_by("kind", "id")
    )


def item_comments(item: BacklogItem) -> QuerySet[Comment]:
    return Comment.objects.filter(item=item).select_related("author").prefetch_related("mentions")


def epic_choices(project: Project) -> QuerySet[BacklogItem]:
    """Epics as parent suggestions, in backlog order."""
    return BacklogItem.objects.filter(project=project, type=ItemType.EPIC).select_related("project").order_by("rank")
