"""Reads: the roadmap with progress and forecasts, in a constant number of queries."""

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.utils import timezone

from backlog.models import BacklogItem, ItemType, StatusCategory
from projects.models import Project
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from sprints.models import Sprint, SprintState
from sprints.selectors.forecasting import FORECAST_HISTORY, forecast, velocity

# A backlog item read with .values(): pk, type, parent_id, points, done.
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Progress:
    items_done: int = 0
    items_total: int = 0
    points_done: float = 0.0
    points_total: float = 0.0

    @property
    def percent(self) -> int:
        """By points when anything is estimated, else by item count."""
        if self.points_total:
            return round(100 * self.points_done / self.points_total)
        return round(100 * self.items_done / self.items_total) if self.items_total else 0

    @property
    def remaining_points(self) -> float:
        return round(self.points_total - self.points_done, 1)

    def __add__(self, other: "Progress") -> "Progress":
        return Progress(
            self.items_done + other.items_done,
            self.items_total + other.items_total,
            round(self.points_done + other.points_done, 1),
            round(self.points_total + other.points_total, 1),
        )

    def as_dict(self) -> dict:
        return {
            "items_done": self.items_done,
            "items_total": self.items_total,
            "points_done": self.points_done,
            "points_total": self.points_total,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class ReleaseForecast:
    remaining_points: float
    p50_date: datetime.date | None  # None: beyond the forecast's horizon
    p85_date: datetime.date | None
    history: int  # how many past sprints the draw used
    at_risk: bool  # P85 after the target date (or beyond the horizon)

    def as_dict(self) -> dict:
        return {
            "remaining_points": self.remaining_points,
            "p50_date": self.p50_date,
            "p85_date": self.p85_date,
            "history": self.history,
            "at_risk": self.at_risk,
        }


@dataclass
class Roadmap:
    project: Project
    today: datetime.date
    phases: list[Phase]
    milestones: list[Milestone]
    releases: list[Release]
    sprints: list[Sprint]
    epics: list[BacklogItem]  # epics linked to a phase or release, or with children
    phase_progress: dict[int, Progress] = field(default_factory=dict)
    release_progress: dict[int, Progress] = field(default_factory=dict)
    epic_progress: dict[int, Progress] = field(default_factory=dict)
    forecasts: dict[int, ReleaseForecast | None] = field(default_factory=dict)
    phase_items: dict[int, list[int]] = field(default_factory=dict)  # phase id -> linked item ids
    release_items: dict[int, list[int]] = field(default_factory=dict)

    @property
    def start(self) -> datetime.date:
        """The first day of the month of the earliest date on the roadmap (today when it is empty)."""
        return min(self._dates()).replace(day=1)

    @property
    def end(self) -> datetime.date:
        """The last day of the month of the latest date on the roadmap."""
        last = max(self._dates())
        following = (last.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return following - datetime.timedelta(days=1)

    def _dates(self) -> list[datetime.date]:
        dates = [self.today]
        dates += [d for p in self.phases for d in (p.start_date, p.end_date)]
        dates += [m.date for m in self.milestones]
        dates += [d for r in self.releases for d in (r.target_date, r.released_on) if d]
        dates += [d for f in self.forecasts.values() if f for d in (f.p50_date, f.p85_date) if d]
        dates += [d for s in self.sprints for d in (s.start_date, s.end_date)]
        return dates

    def epics_of(self, item_ids: list[int]) -> list[BacklogItem]:
        wanted = set(item_ids)
        return [epic for epic in self.epics if epic.pk in wanted]


def _leaf_progress(rows: list[Row]) -> Progress:
    items_done = sum(1 for r in rows if r["done"])
    points_total = sum(float(r["points"] or 0) for r in rows)
    points_done = sum(float(r["points"] or 0) for r in rows if r["done"])
    return Progress(items_done, len(rows), round(points_done, 1), round(points_total, 1))


def _epic_progress(project: Project) -> dict[int, Progress]:
    """Each epic's children (not epics themselves): one aggregate query, a row per epic."""
    done = Q(status__category=StatusCategory.DONE)
    rows = (
        BacklogItem.objects.filter(project=project, parent__type=ItemType.EPIC)
        .exclude(type=ItemType.EPIC)
        .order_by()
        .values("parent_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=done),
            points_total=Sum("points"),
            points_done=Sum("points", filter=done),
        )
    )
    return {
        row["parent_id"]: Progress(
            row["done"], row["total"], float(row["points_done"] or 0), float(row["points_total"] or 0)
        )
        for row in rows
    }


def _container_progress(
    linked: list[int], items: Mapping[int, Mapping[str, Any]], epics: dict[int, Progress]
) -> Progress:
    """Linked epics count through their children; linked items count unless their epic is linked too."""
    linked_epics = {pk for pk in linked if pk in items and items[pk]["type"] == ItemType.EPIC}
    total = Progress()
    for pk in linked_epics:
        total += epics.get(pk, Progress())
    leaves = [
        items[pk]
        for pk in linked
        if pk in items and pk not in linked_epics and items[pk]["parent_id"] not in linked_epics
    ]
    return total + _leaf_progress(leaves)


def release_forecast(
    project: Project, release: Release, progress: Progress, *, rows, running
) -> ReleaseForecast | None:
    """P50/P85 dates for the release's remaining points from the team's own velocity (Monte Carlo)."""
    result = forecast(project, remaining=progress.remaining_points, rows=rows, running=running, seed=release.version)
    if result is None:
        return None
    at_risk = result.p85_date is None or bool(release.target_date and result.p85_date > release.target_date)
    return ReleaseForecast(progress.remaining_points, result.p50_date, result.p85_date, result.history, at_risk)


def roadmap(project: Project) -> Roadmap:
    """Phases, milestones, releases and sprints with progress and forecasts (a fixed number of queries)."""
    today = timezone.localdate(timezone=project.tzinfo)
    phases = list(Phase.objects.filter(project=project))
    milestones = list(Milestone.objects.filter(project=project))
    releases = list(Release.objects.filter(project=project))
    sprints = list(Sprint.objects.filter(project=project).order_by("start_date", "number"))
    phase_items: dict[int, list[int]] = defaultdict(list)
    for phase_id, item_id in Phase.items.through.objects.filter(phase__project=project).values_list(
        "phase_id", "backlogitem_id"
    ):
        phase_items[phase_id].append(item_id)
    release_items: dict[int, list[int]] = defaultdict(list)
    for release_id, item_id in ReleaseItem.objects.filter(release__project=project).values_list(
        "release_id", "item_id"
    ):
        release_items[release_id].append(item_id)
    linked_ids = {pk for ids in (*phase_items.values(), *release_items.values()) for pk in ids}
    items = {
        row["pk"]: row
        for row in BacklogItem.objects.filter(pk__in=linked_ids)
        .values("pk", "type", "parent_id", "points")
        .annotate(done=ExpressionWrapper(Q(status__category=StatusCategory.DONE), output_field=BooleanField()))
    }
    epic_progress = _epic_progress(project)
    epics = list(
        BacklogItem.objects.filter(project=project, type=ItemType.EPIC)
        .filter(Q(pk__in=linked_ids) | Q(pk__in=list(epic_progress)))
        .select_related("status")
        .order_by("number")
    )
    for epic in epics:
        epic.project = project  # for .key without a query per epic
    result = Roadmap(
        project=project,
        today=today,
        phases=phases,
        milestones=milestones,
        releases=releases,
        sprints=sprints,
        epics=epics,
        epic_progress=epic_progress,
        phase_items=dict(phase_items),
        release_items=dict(release_items),
    )
    result.phase_progress = {p.pk: _container_progress(phase_items[p.pk], items, epic_progress) for p in phases}
    result.release_progress = {r.pk: _container_progress(release_items[r.pk], items, epic_progress) for r in releases}
    unreleased = [r for r in releases if not r.is_released]
    if unreleased:
        rows = velocity(project, limit=FORECAST_HISTORY)
        running = next((s for s in sprints if s.state == SprintState.ACTIVE), None)
        for release in unreleased:
            result.forecasts[release.pk] = release_forecast(
                project, release, result.release_progress[release.pk], rows=rows, running=running
            )
    return result
