"""Velocity and forecast: points completed per sprint, and when the backlog will be done (Monte Carlo)."""

import datetime
import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from backlog.models import BacklogItem, ItemType, StatusCategory
from projects.models import Project
from sprints.models import Sprint, SprintState

VELOCITY_WINDOW = 3  # the average of the last three completed sprints
FORECAST_HISTORY = 10  # Monte Carlo draws from at most the last ten sprints
FORECAST_RUNS = 2000
# Ten years of two-week sprints: a forecast further out says "beyond" and stops drawing (bounded work).
FORECAST_HORIZON = 260


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


def _sum_points(project: Project) -> tuple[float, float]:
    result = (
        BacklogItem.objects.filter(project=project)
        .exclude(type=ItemType.EPIC)
        .aggregate(total=Sum("points"), done=Sum("points", filter=Q(status__category=StatusCategory.DONE)))
    )
    return float(result["total"] or 0), float(result["done"] or 0)


def remaining_backlog_points(project: Project) -> float:
    total, done = _sum_points(project)
    return round(total - done, 1)


_UNSET: Any = object()


def forecast(
    project: Project,
    *,
    remaining: float | None = None,
    rows: list[VelocityRow] | None = None,
    running: Sprint | None = _UNSET,
    seed: str = "",
) -> Forecast | None:
    """When ``remaining`` points (default: the unfinished backlog) will be done, at P50 and P85.

    Callers forecasting several targets pass ``rows`` and ``running`` (the active sprint or None)
    read once; ``seed`` tells the targets' draws apart.
    """
    rows = rows if rows is not None else velocity(project, limit=FORECAST_HISTORY)
    history = [r.completed for r in rows[-FORECAST_HISTORY:]]
    remaining = remaining_backlog_points(project) if remaining is None else remaining
    result = monte_carlo(history, remaining, seed=project.key + seed)
    if result is None:
        return None
    p50, p85 = result
    # The running sprint itself: a completed one may end later on paper (a long sprint closed early).
    if running is _UNSET:
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
