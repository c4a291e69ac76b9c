"""Replaying the activity log: each item's sprint, estimate and status, event by event."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from backlog.models import BacklogItem, EventKind, ItemEvent, ItemType, StatusCategory
from sprints.models import CommittedItem, Sprint

_REPLAYED_FIELDS = ("status", "estimate", "role_points", "sprint", "title", "assignee", "type")


def _points(estimate: str | None, role_points: dict | None) -> float:
    if role_points:
        return float(sum(Decimal(str(v)) for v in role_points.values()))
    points = BacklogItem.points_for(estimate or "")
    return float(points) if points is not None else 0.0


@dataclass
class _ItemState:
    number: int
    title: str = ""
    type: str = ItemType.STORY
    sprint_id: int | None = None
    estimate: str = ""
    role_points: dict = field(default_factory=dict)
    done: bool = False
    status: str = ""
    assignee: str | None = None
    deleted: bool = False

    @property
    def points(self) -> float:
        return _points(self.estimate, self.role_points)

    def counts_in(self, sprint_id: int) -> bool:
        return self.sprint_id == sprint_id and not self.deleted and self.type != ItemType.EPIC


def _apply(state: _ItemState, event: dict) -> None:
    kind, name, new = event["kind"], event["field"], event["new"]
    if kind == EventKind.CREATED:
        new = new or {}
        state.title = new.get("title", state.title)
        state.type = new.get("type", state.type)
        state.estimate = new.get("estimate") or ""
        state.role_points = new.get("role_points") or {}
        status = new.get("status") or {}
        state.done = status.get("category") == StatusCategory.DONE
        state.status = status.get("name", "")
        state.sprint_id = (new.get("sprint") or {}).get("id")
        state.assignee = new.get("assignee")
    elif kind == EventKind.DELETED:
        state.deleted = True
    elif name == "status":
        status = new or {}
        state.done = status.get("category") == StatusCategory.DONE
        state.status = status.get("name", "")
    elif name == "estimate":
        state.estimate = new or ""
    elif name == "role_points":
        state.role_points = new or {}
    elif name == "sprint":
        state.sprint_id = (new or {}).get("id")
    elif name in ("title", "assignee", "type"):
        setattr(state, name, new)


def _sprint_item_ids(sprint: Sprint) -> set[int]:
    """Every item that was ever in the sprint: moved in or out, created in it, committed, or in it now.

    One UNION query; the history's part reads only sprint changes and creations through the
    (project, field) index, not the project's whole history.
    """
    pk = sprint.pk
    entered = (
        ItemEvent.objects.filter(project_id=sprint.project_id, field__in=["sprint", ""])
        .filter(
            (Q(field="sprint") & (Q(new__id=pk) | Q(old__id=pk)))
            | (Q(field="", kind=EventKind.CREATED) & Q(new__sprint__id=pk))
        )
        .order_by()
        .values_list("item_id", flat=True)
    )
    committed = CommittedItem.objects.filter(sprint=sprint).order_by().values_list("item_id", flat=True)
    current = BacklogItem.objects.filter(sprint=sprint).order_by().values_list("pk", flat=True)
    return set(entered.union(committed, current))


def _sprint_events(sprint: Sprint) -> list[dict]:
    """Every event, in order, of every item that was ever in the sprint (two queries, by item)."""
    ids = _sprint_item_ids(sprint)
    if not ids:
        return []
    relevant = Q(kind__in=[EventKind.CREATED, EventKind.DELETED]) | Q(field__in=_REPLAYED_FIELDS)
    events = (
        ItemEvent.objects.filter(item_id__in=sorted(ids))
        .filter(relevant)
        .order_by("at", "id")
        .values("item_id", "item_number", "at", "kind", "field", "old", "new")
    )
    return [dict(event) for event in events]


@dataclass(frozen=True)
class Totals:
    points: float
    items: int


def _measure(states: dict[int, _ItemState], sprint_id: int) -> tuple[Totals, Totals]:
    """(scope, completed) of the sprint in this state of the world."""
    in_sprint = [s for s in states.values() if s.counts_in(sprint_id)]
    done = [s for s in in_sprint if s.done]
    return (
        Totals(round(sum(s.points for s in in_sprint), 1), len(in_sprint)),
        Totals(round(sum(s.points for s in done), 1), len(done)),
    )


class _Timeline:
    """Walks the sprint's events forward in time, once, stopping at each checkpoint."""

    def __init__(self, sprint: Sprint, events: list[dict] | None = None):
        self.sprint = sprint
        self.events = _sprint_events(sprint) if events is None else events
        self.states: dict[int, _ItemState] = {}
        self.position = 0

    def advance(self, until: datetime.datetime, on_event=None) -> None:
        while self.position < len(self.events) and self.events[self.position]["at"] <= until:
            event = self.events[self.position]
            state = self.states.get(event["item_id"])
            if state is None:
                state = self.states[event["item_id"]] = _ItemState(number=event["item_number"])
            if on_event is not None:
                on_event(event, state)
            _apply(state, event)
            self.position += 1
