"""Gauges computed when Prometheus scrapes ``/metrics``: readiness, the broker's queues, Scrum figures.

Nothing writes these from a web or worker process, so they need no multiprocess mode: the
process answering the scrape reads them fresh. The database part runs a fixed number of queries
whatever the number of projects (one row per active project, subqueries for its figures).

Team health per active project comes from its last completed sprint's frozen report and columns:
commitment accuracy (completed / committed points), carry-over (committed items still open at the
end / committed items), scope change (points added + removed / committed points); retrospective
action completion is done / all action items of the project's closed retrospectives.
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from prometheus_client.core import GaugeMetricFamily, Metric

from scrumboard import health

logger = logging.getLogger(__name__)

READY = "scrumboard_ready"
QUEUE_LENGTH = "scrumboard_celery_queue_length"
OUTBOX_PENDING = "scrumboard_outbox_pending"
ACTIVE_SPRINTS = "scrumboard_active_sprints"
OPEN_IMPEDIMENTS = "scrumboard_open_impediments"
COMMITMENT_ACCURACY = "scrumboard_team_commitment_accuracy_ratio"
CARRY_OVER = "scrumboard_team_carry_over_ratio"
SCOPE_CHANGE = "scrumboard_team_scope_change_ratio"
ACTION_COMPLETION = "scrumboard_retrospective_action_completion_ratio"

# name: (help, labels)
GAUGES: dict[str, tuple[str, list[str]]] = {
    READY: ("1 when the database and the broker are reachable (checked at scrape), else 0.", []),
    QUEUE_LENGTH: ("Messages waiting in the broker, by queue (read at scrape).", ["queue"]),
    OUTBOX_PENDING: ("Notifications in the outbox waiting for delivery.", []),
    ACTIVE_SPRINTS: ("Active sprints in active (not archived) projects.", []),
    OPEN_IMPEDIMENTS: ("Open impediments, by project key.", ["project"]),
    COMMITMENT_ACCURACY: ("Completed / committed points of the project's last completed sprint.", ["project"]),
    CARRY_OVER: ("Share of the last completed sprint's committed items carried over (not done).", ["project"]),
    SCOPE_CHANGE: ("Points added and removed during the last completed sprint / committed points.", ["project"]),
    ACTION_COMPLETION: ("Done / all action items of the project's closed retrospectives.", ["project"]),
}


def _family(name: str) -> GaugeMetricFamily:
    help_text, labels = GAUGES[name]
    return GaugeMetricFamily(name, help_text, labels=labels or None)


@dataclass
class ScrumFigures:
    outbox_pending: int = 0
    active_sprints: int = 0
    open_impediments: dict[str, int] = field(default_factory=dict)
    commitment_accuracy: dict[str, float] = field(default_factory=dict)
    carry_over: dict[str, float] = field(default_factory=dict)
    scope_change: dict[str, float] = field(default_factory=dict)
    action_completion: dict[str, float] = field(default_factory=dict)


def _count_of(queryset) -> Coalesce:
    """A correlated ``COUNT(*)`` subquery (0 when no row matches)."""
    counted = queryset.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _number_of(key: str) -> int | None:
    """``SB-12`` → 12 (the item keys in a frozen report)."""
    number = str(key).rpartition("-")[2]
    return int(number) if number.isdigit() else None


def scrum_figures() -> ScrumFigures:
    """Five queries at most, whatever the number of projects and sprints."""
    from notifications.models import Notification, State
    from projects.models import Project
    from retrospectives.models import ActionItem, Phase
    from sprints.models import CommittedItem, Sprint, SprintState
    from standups.models import Impediment, ImpedimentState

    figures = ScrumFigures()
    figures.outbox_pending = Notification.objects.filter(state=State.PENDING).count()
    projects = list(
        Project.objects.active()
        .annotate(
            open_impediments=_count_of(Impediment.objects.filter(project=OuterRef("pk"), state=ImpedimentState.OPEN)),
            active_sprints=_count_of(Sprint.objects.filter(project=OuterRef("pk"), state=SprintState.ACTIVE)),
            last_sprint=Subquery(
                Sprint.objects.filter(project=OuterRef("pk"), state=SprintState.COMPLETED)
                .order_by("-number")
                .values("pk")[:1]
            ),
        )
        .order_by("key")
        .values("pk", "key", "open_impediments", "active_sprints", "last_sprint")
    )
    key_of = {row["pk"]: row["key"] for row in projects}
    for row in projects:
        figures.active_sprints += row["active_sprints"]
        figures.open_impediments[row["key"]] = row["open_impediments"]

    last_sprints = {row["last_sprint"]: row["key"] for row in projects if row["last_sprint"] is not None}
    committed_numbers: dict[int, set[int]] = {pk: set() for pk in last_sprints}
    for sprint_id, number in CommittedItem.objects.filter(sprint__in=list(last_sprints)).values_list(
        "sprint_id", "item_number"
    ):
        committed_numbers[sprint_id].add(number)
    # Only the report's parts these figures need, not its burndown series and item lists.
    sprints = Sprint.objects.filter(pk__in=list(last_sprints)).values(
        "pk",
        "committed_points",
        "completed_points",
        "report__scope_change__added_points",
        "report__scope_change__removed_points",
        "report__carry_over",
    )
    for sprint in sprints:
        key = last_sprints[sprint["pk"]]
        committed = float(sprint["committed_points"] or 0)
        if committed:
            figures.commitment_accuracy[key] = float(sprint["completed_points"] or 0) / committed
            added = float(sprint["report__scope_change__added_points"] or 0)
            removed = float(sprint["report__scope_change__removed_points"] or 0)
            figures.scope_change[key] = (added + removed) / committed
        numbers = committed_numbers[sprint["pk"]]
        if numbers:
            carried = {_number_of(row.get("key", "")) for row in sprint["report__carry_over"] or []}
            figures.carry_over[key] = len(numbers & carried) / len(numbers)

    actions = (
        ActionItem.objects.filter(retrospective__phase=Phase.CLOSED, retrospective__project__in=list(key_of))
        .values("retrospective__project")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(done=True)))
        .order_by()
    )
    for action in actions:
        if action["total"]:
            figures.action_completion[key_of[action["retrospective__project"]]] = action["done"] / action["total"]
    return figures


def queue_lengths() -> dict[str, int]:
    """Messages waiting per configured queue: Redis ``LLEN`` (all priority lists), or files in the
    filesystem broker's folder: kombu's own count for its transport."""
    from scrumboard.celery import app

    names = sorted(app.amqp.queues) or [app.conf.task_default_queue]
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=0, timeout=2)
        channel: Any = connection.default_channel
        # ``_size`` is what kombu's virtual transports answer a passive queue_declare with; calling it
        # directly spares Redis's "queue not found" for an empty (absent) list.
        return {name: int(channel._size(name)) for name in names}


class ScrapeCollector:
    """Registered on the registry ``/metrics`` builds for each scrape (``scrumboard.metrics``)."""

    def describe(self) -> Iterable[Metric]:
        return [_family(name) for name in GAUGES]

    def collect(self) -> Iterator[Metric]:
        database, broker = health.database_ready(), health.broker_ready()
        ready = _family(READY)
        ready.add_metric([], 1.0 if database and broker else 0.0)
        yield ready
        if broker:
            try:
                lengths = queue_lengths()
            except Exception:  # kombu raises transport-specific errors; readiness already says "broker"
                logger.warning("metrics: could not read the queue lengths", exc_info=True)
            else:
                queues = _family(QUEUE_LENGTH)
                for name, length in lengths.items():
                    queues.add_metric([name], length)
                yield queues
        if database:
            try:
                figures = scrum_figures()
            except DatabaseError:
                logger.warning("metrics: could not read the Scrum figures", exc_info=True)
            else:
                yield from _scrum_families(figures)


def _scrum_families(figures: ScrumFigures) -> Iterator[Metric]:
    counts: tuple[tuple[str, int], ...] = (
        (OUTBOX_PENDING, figures.outbox_pending),
        (ACTIVE_SPRINTS, figures.active_sprints),
    )
    for name, count in counts:
        family = _family(name)
        family.add_metric([], count)
        yield family
    per_project: tuple[tuple[str, dict[str, int] | dict[str, float]], ...] = (
        (OPEN_IMPEDIMENTS, figures.open_impediments),
        (COMMITMENT_ACCURACY, figures.commitment_accuracy),
        (CARRY_OVER, figures.carry_over),
        (SCOPE_CHANGE, figures.scope_change),
        (ACTION_COMPLETION, figures.action_completion),
    )
    for name, values in per_project:
        family = _family(name)
        for project, value in sorted(values.items()):
            family.add_metric([project], value)
        yield family
