"""Reads that compute: burndown and burnup, the review report, velocity, forecast, capacity, the board.

Reports replay the activity log (``ItemEvent``): an item's sprint, estimate and status at
any moment come from its events, so items re-opened, re-estimated, added or removed
mid-sprint count exactly as they happened. A completed sprint's report is frozen.
"""

import datetime
import hashlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from backlog.models import BacklogItem, EventKind, ItemEvent, ItemType, Status, StatusCategory
from projects.models import Project
from roles.models import Membership
from sprints.models import CommittedItem, DaysOff, Sprint, SprintState

REPORT_VERSION = 1
VELOCITY_WINDOW = 3  # the average of the last three completed sprints
FORECAST_HISTORY = 10  # Monte Carlo draws from at most the last ten sprints
FORECAST_RUNS = 2000
# Ten years of two-week sprints: a forecast further out says "beyond" and stops drawing (bounded work).
FORECAST_HORIZON = 260
_REPLAYED_FIELDS = ("status", "estimate", "role_points", "sprint", "title", "assignee", "type")


# --- replaying the activity log -----------------------------------------------------------


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


# --- burndown and burnup -----------------------------------------------------------------


def _start_of(day: datetime.date, tz) -> datetime.datetime:
    """Local midnight, whatever daylight saving does that day."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def _end_of(day: datetime.date, tz) -> datetime.datetime:
    return _start_of(day + datetime.timedelta(days=1), tz)


def _series(
    sprint: Sprint, until: datetime.datetime, timeline: _Timeline | None = None, committed: Totals | None = None
) -> dict:
    """Daily series over the working days: the start, then each working day's end (today: now)."""
    days = sprint.working_days()
    labels = ["start", *[day.isoformat() for day in days]]
    empty: list[float | None] = [None] * len(labels)
    series: dict[str, Any] = {
        "days": labels,
        "scope": list(empty),
        "completed": list(empty),
        "remaining": list(empty),
        "scope_items": list(empty),
        "completed_items": list(empty),
        "remaining_items": list(empty),
    }
    if sprint.started_at is None:
        committed = Totals(0.0, 0)
    else:
        timeline = timeline or _Timeline(sprint)
        tz = sprint.project.tzinfo
        checkpoints = [sprint.started_at, *(_end_of(day, tz) for day in days)]
        if days:
            # The last point closes the sprint: work over a weekend after its last working day (or an
            # overrun until completion) counts there, so the chart ends where the report's figures do.
            checkpoints[-1] = max(_end_of(sprint.end_date, tz), until)
        for index, moment in enumerate(checkpoints):
            # A day that has begun shows its state so far; days to come stay empty.
            if index > 0 and _start_of(days[index - 1], tz) > until:
                break
            timeline.advance(min(moment, until))
            scope, done = _measure(timeline.states, sprint.pk)
            series["scope"][index], series["completed"][index] = scope.points, done.points
            series["remaining"][index] = round(scope.points - done.points, 1)
            series["scope_items"][index], series["completed_items"][index] = scope.items, done.items
            series["remaining_items"][index] = scope.items - done.items
        committed = committed or _committed(sprint)
    steps = max(len(days), 1)
    series["ideal"] = [round(committed.points * (1 - i / steps), 1) for i in range(len(labels))]
    series["ideal_items"] = [round(committed.items * (1 - i / steps), 1) for i in range(len(labels))]
    series["today"] = _today_index(sprint, until)
    return series


def _today_index(sprint: Sprint, until: datetime.datetime) -> int | None:
    """The index of the day ``until`` falls on, if inside the sprint (a weekend: the last working day)."""
    today = timezone.localtime(until, sprint.project.tzinfo).date()
    if not sprint.start_date <= today <= sprint.end_date:
        return None
    passed = [i for i, day in enumerate(sprint.working_days(), start=1) if day <= today]
    return passed[-1] if passed else 0


def _committed(sprint: Sprint) -> Totals:
    rows = list(CommittedItem.objects.filter(sprint=sprint).values_list("points", flat=True))
    return Totals(round(float(sum(p or 0 for p in rows)), 1), len(rows))


def sprint_burndown(sprint: Sprint, *, until: datetime.datetime | None = None) -> dict:
    """Burndown and burnup series; a completed sprint's come from its frozen report."""
    if sprint.is_completed and sprint.report:
        return sprint.report["burndown"]
    return _series(sprint, until or timezone.now())


# --- the sprint review report --------------------------------------------------------------


def _item_row(project_key: str, state: _ItemState, **extra) -> dict:
    return {
        "key": f"{project_key}-{state.number}",
        "title": state.title,
        "type": state.type,
        "points": state.points,
        "status": state.status,
        "assignee": state.assignee,
        **extra,
    }


def sprint_report(sprint: Sprint, *, until: datetime.datetime | None = None) -> dict:
    """The sprint review's figures; a completed sprint's frozen copy, else computed now."""
    if sprint.is_completed and sprint.report:
        return sprint.report
    until = until or timezone.now()
    project = sprint.project
    key = project.key
    timeline = _Timeline(sprint)
    committed_rows = list(CommittedItem.objects.filter(sprint=sprint))
    added: list[dict] = []
    removed: list[dict] = []
    changed: list[dict] = []
    started = sprint.started_at

    def watch(event: dict, state: _ItemState) -> None:
        if started is None or event["at"] <= started:
            return
        at = event["at"].isoformat()
        if event["field"] == "sprint":
            was_in = state.sprint_id == sprint.pk and not state.deleted
            now_in = (event["new"] or {}).get("id") == sprint.pk
            if now_in and not was_in and state.type != ItemType.EPIC:
                added.append({"key": f"{key}-{state.number}", "title": state.title, "points": state.points, "at": at})
            elif was_in and not now_in and state.type != ItemType.EPIC:
                removed.append({"key": f"{key}-{state.number}", "title": state.title, "points": state.points, "at": at})
        elif (
            event["kind"] == EventKind.CREATED
            and (event["new"] or {}).get("sprint", {})
            and ((event["new"]["sprint"] or {}).get("id") == sprint.pk)
            and event["new"].get("type") != ItemType.EPIC
        ):
            new = event["new"]
            points = _points(new.get("estimate"), new.get("role_points"))
            added.append({"key": f"{key}-{state.number}", "title": new.get("title", ""), "points": points, "at": at})
        elif event["kind"] == EventKind.DELETED and state.counts_in(sprint.pk):
            removed.append({"key": f"{key}-{state.number}", "title": state.title, "points": state.points, "at": at})
        elif event["field"] in ("estimate", "role_points") and state.counts_in(sprint.pk):
            before = state.points
            after = _points(
                event["new"] if event["field"] == "estimate" else state.estimate,
                event["new"] if event["field"] == "role_points" else state.role_points,
            )
            if after != before:
                changed.append(
                    {"key": f"{key}-{state.number}", "title": state.title, "old": before, "new": after, "at": at}
                )

    if started is not None:
        timeline.advance(started)
    timeline.advance(until, on_event=watch)
    states = timeline.states
    final_scope, final_done = _measure(states, sprint.pk)
    in_sprint = sorted((s for s in states.values() if s.counts_in(sprint.pk)), key=lambda s: s.number)
    done_items = [_item_row(key, s) for s in in_sprint if s.done]
    carry_over = [_item_row(key, s) for s in in_sprint if not s.done]
    committed = Totals(round(float(sum(r.points or 0 for r in committed_rows)), 1), len(committed_rows))
    committed_done = [
        states[row.item_id]
        for row in committed_rows
        if row.item_id in states and states[row.item_id].counts_in(sprint.pk)
    ]
    committed_done = [s for s in committed_done if s.done]

    members = list(Membership.objects.filter(project=project).select_related("user", "role"))
    role_of = {m.user.get_username(): m.role for m in members}
    by_member: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    by_role: dict[str, float] = defaultdict(float)
    for state in in_sprint:
        if not state.done:
            continue
        who = state.assignee or ""
        by_member[who][0] += state.points
        by_member[who][1] += 1
        if state.role_points:
            for slug, value in state.role_points.items():
                by_role[slug] += float(value)
        elif who in role_of:
            by_role[role_of[who].slug] += state.points
        else:
            by_role[""] += state.points
    names = {m.user.get_username(): m.user.get_full_name() or m.user.get_username() for m in members}
    role_names = {m.role.slug: m.role.name for m in members}
    role_names.update(dict(project.roles.values_list("slug", "name")))

    added_points = round(sum(row["points"] for row in added), 1)
    removed_points = round(sum(row["points"] for row in removed), 1)
    changed_points = round(sum(row["new"] - row["old"] for row in changed), 1)
    base = committed.points
    creep = round((final_scope.points - base) / base * 100) if base else None
    return {
        "version": REPORT_VERSION,
        "generated_at": until.isoformat(),
        "sprint": {
            "id": sprint.pk,
            "number": sprint.number,
            "name": sprint.name,
            "goal": sprint.goal,
            "start_date": sprint.start_date.isoformat(),
            "end_date": sprint.end_date.isoformat(),
            "started_at": started.isoformat() if started else None,
        },
        "committed": {"points": committed.points, "items": committed.items},
        "completed": {"points": final_done.points, "items": final_done.items},
        "scope": {"points": final_scope.points, "items": final_scope.items},
        "committed_completed": {
            "points": round(sum(s.points for s in committed_done), 1),
            "items": len(committed_done),
        },
        "completion_percent": round(final_done.points / final_scope.points * 100) if final_scope.points else None,
        "scope_change": {
            "added": added,
            "removed": removed,
            "changed": changed,
            "added_points": added_points,
            "removed_points": removed_points,
            "changed_points": changed_points,
            "percent": creep,
        },
        "done_items": done_items,
        "carry_over": carry_over,
        "by_member": sorted(
            (
                {"username": who, "name": names.get(who, who), "points": round(p, 1), "items": n}
                for who, (p, n) in by_member.items()
            ),
            key=lambda row: (-row["points"], row["name"]),
        ),
        "by_role": sorted(
            ({"slug": slug, "name": role_names.get(slug, slug), "points": round(p, 1)} for slug, p in by_role.items()),
            key=lambda row: (-row["points"], row["name"]),
        ),
        # A second walk over the same events: the report's own walk has already reached ``until``.
        "burndown": _series(sprint, until, _Timeline(sprint, timeline.events), committed),
        "product_goal": product_goal_progress(project),
        "capacity": capacity_summary(sprint),
    }


def product_goal_progress(project: Project) -> dict:
    """How much of the estimated product backlog (epics aside) is done: the Product Goal's progress."""
    done = Q(status__category=StatusCategory.DONE)
    totals = (
        BacklogItem.objects.filter(project=project)
        .exclude(type=ItemType.EPIC)
        .aggregate(
            items=Count("pk"),
            done_items=Count("pk", filter=done),
            total_points=Sum("points"),
            finished_points=Sum("points", filter=done),
        )
    )
    points, done_points = float(totals["total_points"] or 0), float(totals["finished_points"] or 0)
    return {
        "text": project.product_goal,
        "items": totals["items"],
        "done_items": totals["done_items"],
        "points": round(points, 1),
        "done_points": round(done_points, 1),
        "percent": round(done_points / points * 100) if points else None,
    }


def _sum_points(project: Project) -> tuple[float, float]:
    result = (
        BacklogItem.objects.filter(project=project)
        .exclude(type=ItemType.EPIC)
        .aggregate(total=Sum("points"), done=Sum("points", filter=Q(status__category=StatusCategory.DONE)))
    )
    return float(result["total"] or 0), float(result["done"] or 0)


# --- capacity -------------------------------------------------------------------------------


@dataclass
class MemberCapacity:
    membership: Membership
    days_off: int
    available: int


@dataclass
class RoleLoad:
    slug: str
    name: str
    available_days: int
    capacity_points: float | None
    planned_points: float

    @property
    def over(self) -> bool:
        return self.capacity_points is not None and self.planned_points > self.capacity_points


@dataclass
class Capacity:
    working_days: int
    members: list[MemberCapacity]
    available_days: int
    points_per_day: float | None  # from the last completed sprints; None without history
    capacity_points: float | None
    average_velocity: float | None
    planned_points: float
    planned_items: int
    roles: list[RoleLoad]
    unestimated_items: int

    @property
    def over_velocity(self) -> bool:
        return self.average_velocity is not None and self.planned_points > self.average_velocity

    @property
    def over_capacity(self) -> bool:
        return self.capacity_points is not None and self.planned_points > self.capacity_points


def _team(project: Project) -> list[Membership]:
    """The Developers: members whose role estimates points do the sprint's work."""
    return list(
        Membership.objects.filter(project=project, role__estimates_points=True)
        .select_related("user", "role")
        .order_by("role__order", "user__first_name", "user__username")
    )


def capacity_summary(sprint: Sprint) -> dict:
    capacity = sprint_capacity(sprint)
    return {
        "working_days": capacity.working_days,
        "available_days": capacity.available_days,
        "members": [
            {
                "username": m.membership.user.get_username(),
                "name": m.membership.user.get_full_name() or m.membership.user.get_username(),
                "role": m.membership.role.slug,
                "days_off": m.days_off,
                "available_days": m.available,
            }
            for m in capacity.members
        ],
    }


def recent_velocity(project: Project, *, before: Sprint | None = None) -> tuple[float | None, float | None]:
    """(average completed points, points per available person-day) over the last three completed sprints."""
    done = Sprint.objects.filter(project=project, state=SprintState.COMPLETED)
    if before is not None and before.completed_at is not None:
        done = done.filter(completed_at__lt=before.completed_at)
    rows = list(done.order_by("-completed_at").values_list("completed_points", "available_days")[:VELOCITY_WINDOW])
    if not rows:
        return None, None
    points = [float(p or 0) for p, _days in rows]
    days = sum(d or 0 for _p, d in rows)
    return round(sum(points) / len(points), 1), (round(sum(points) / days, 2) if days else None)


def sprint_capacity(sprint: Sprint) -> Capacity:
    """The team's available days in the sprint, against what is planned in it, per role too."""
    project = sprint.project
    working = len(sprint.working_days())
    off = dict(DaysOff.objects.filter(sprint=sprint).values_list("user_id", "days"))
    members = [
        MemberCapacity(m, off.get(m.user_id, 0), max(0, working - off.get(m.user_id, 0))) for m in _team(project)
    ]
    available = sum(m.available for m in members)
    average, per_day = recent_velocity(project, before=sprint if sprint.is_completed else None)
    items = list(
        BacklogItem.objects.filter(sprint=sprint)
        .exclude(type=ItemType.EPIC)
        .values_list("points", "role_points", "assignee_id")
    )
    role_of_user = {m.membership.user_id: m.membership.role.slug for m in members}
    planned_by_role: dict[str, float] = defaultdict(float)
    for points, role_points, assignee_id in items:
        if role_points:
            for slug, value in role_points.items():
                planned_by_role[slug] += float(value)
        elif points is not None and assignee_id in role_of_user:
            planned_by_role[role_of_user[assignee_id]] += float(points)
    days_by_role: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for m in members:
        days_by_role[m.membership.role.slug] += m.available
        names[m.membership.role.slug] = m.membership.role.name
    roles = [
        RoleLoad(
            slug=slug,
            name=names.get(slug, slug),
            available_days=days_by_role.get(slug, 0),
            capacity_points=round(days_by_role.get(slug, 0) * per_day, 1) if per_day is not None else None,
            planned_points=round(planned_by_role.get(slug, 0.0), 1),
        )
        for slug in sorted(
            set(days_by_role) | set(planned_by_role), key=lambda s: list(names).index(s) if s in names else 99
        )
    ]
    planned = round(sum(float(p or 0) for p, _r, _a in items), 1)
    return Capacity(
        working_days=working,
        members=members,
        available_days=available,
        points_per_day=per_day,
        capacity_points=round(available * per_day, 1) if per_day is not None else None,
        average_velocity=average,
        planned_points=planned,
        planned_items=len(items),
        roles=roles,
        unestimated_items=sum(1 for p, _r, _a in items if p is None),
    )


# --- velocity and forecast ------------------------------------------------------------------


@dataclass(frozen=True)
class VelocityRow:
    sprint_id: int
    number: int
    name: str
    end_date: datetime.date
    committed: float
    completed: float


def velocity(project: Project, *, limit: int | None = None) -> list[VelocityRow]:
    """Committed and completed points per completed sprint, oldest first (one query)."""
    sprints = Sprint.objects.filter(project=project, state=SprintState.COMPLETED).order_by("-completed_at", "-number")
    rows = sprints.values_list("pk", "number", "name", "end_date", "committed_points", "completed_points")
    if limit:
        rows = rows[:limit]
    return [
        VelocityRow(pk, number, name, end, float(committed or 0), float(completed or 0))
        for pk, number, name, end, committed, completed in reversed(list(rows))
    ]


def average_velocity(rows: list[VelocityRow]) -> float | None:
    recent = rows[-VELOCITY_WINDOW:]
    return round(sum(r.completed for r in recent) / len(recent), 1) if recent else None


@dataclass(frozen=True)
class Forecast:
    remaining_points: float
    p50_sprints: int
    p85_sprints: int
    p50_date: datetime.date | None  # None: beyond the horizon
    p85_date: datetime.date | None
    runs: int
    history: int

    @property
    def beyond_horizon(self) -> bool:
        return self.p85_sprints > FORECAST_HORIZON


def monte_carlo(
    velocities: list[float], remaining: float, *, runs: int = FORECAST_RUNS, seed: str = ""
) -> tuple[int, int] | None:
    """P50 and P85 numbers of sprints to burn ``remaining`` points, drawing past velocities at random.

    Seeded by its inputs, so the same history gives the same answer on every page load.
    None when the history cannot finish anything (no sprints, or nothing ever completed). A run
    still unfinished after ``FORECAST_HORIZON`` sprints counts as one sprint beyond it, so the
    work is bounded (runs times horizon draws) whatever the numbers asked for.
    """
    if remaining <= 0:
        return 0, 0
    if not velocities or max(velocities) <= 0:
        return None
    cap = FORECAST_HORIZON + 1
    if remaining > max(velocities) * FORECAST_HORIZON:
        return cap, cap  # even the best sprint every time would not make it
    seed_text = hashlib.sha256(f"{seed}|{velocities}|{remaining}".encode()).hexdigest()
    rng = random.Random(seed_text)  # noqa: S311 - a simulation wants repeatable draws, not secrecy
    outcomes = []
    for _run in range(runs):
        total, sprints = 0.0, 0
        while total < remaining and sprints < cap:
            total += rng.choice(velocities)
            sprints += 1
        outcomes.append(sprints)
    outcomes.sort()
    return outcomes[math.ceil(0.50 * runs) - 1], outcomes[math.ceil(0.85 * runs) - 1]


def remaining_backlog_points(project: Project) -> float:
    total, done = _sum_points(project)
    return round(total - done, 1)


def forecast(
    project: Project, *, remaining: float | None = None, rows: list[VelocityRow] | None = None
) -> Forecast | None:
    """When ``remaining`` points (default: the unfinished backlog) will be done, at P50 and P85."""
    rows = rows if rows is not None else velocity(project, limit=FORECAST_HISTORY)
    history = [r.completed for r in rows[-FORECAST_HISTORY:]]
    remaining = remaining_backlog_points(project) if remaining is None else remaining
    result = monte_carlo(history, remaining, seed=project.key)
    if result is None:
        return None
    p50, p85 = result
    # The running sprint itself: a completed one may end later on paper (a long sprint closed early).
    running = project.sprints.filter(state=SprintState.ACTIVE).first()
    today = timezone.localdate(timezone=project.tzinfo)
    length = datetime.timedelta(days=project.sprint_length_days)

    def finish(sprints: int) -> datetime.date | None:
        if sprints == 0:
            return today
        if sprints > FORECAST_HORIZON:
            return None
        if running is not None:  # the running sprint is the first: its unfinished work is in ``remaining``
            return running.end_date + length * (sprints - 1)
        return today + length * sprints - datetime.timedelta(days=1)

    return Forecast(remaining, p50, p85, finish(p50), finish(p85), FORECAST_RUNS, len(history))


# --- the board ------------------------------------------------------------------------------


@dataclass
class Column:
    status: Status
    items: list[BacklogItem]

    @property
    def over_limit(self) -> bool:
        return self.status.wip_limit is not None and len(self.items) > self.status.wip_limit


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


SWIMLANES = ("none", "assignee", "parent")


def sprint_items(sprint: Sprint) -> QuerySet[BacklogItem]:
    return (
        BacklogItem.objects.filter(sprint=sprint)
        .exclude(type=ItemType.EPIC)
        .for_list()
        .select_related("parent")
        .order_by("rank")
    )


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
    elif swimlanes == "parent":
        groups = defaultdict(list)
        heads: dict[str, BacklogItem | None] = {}
        for item in cards:
            parent = item.parent if item.parent and item.parent.type != ItemType.EPIC else None
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
