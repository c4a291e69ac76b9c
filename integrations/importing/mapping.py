"""What a parsed file means in one project: types, statuses, priorities, points, people, sprints.

``plan`` reads the project (a constant number of queries) and decides everything; its report is
the preview. ``applying.apply`` writes the same plan, so the preview says exactly what the import does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from backlog.models import (
    DEFAULT_SCALE,
    UNKNOWN_ESTIMATE,
    BacklogItem,
    ItemType,
    Priority,
    Status,
    StatusCategory,
)
from backlog.services.common import ALLOWED_PARENTS
from integrations.importing.records import ImportFileError, Parsed, Person, SourceItem, SourceSprint
from integrations.importing.sprint_dates import infer_undated
from integrations.models import LinkKind, SourceLink
from projects.models import Project
from roles.models import Membership
from sprints.models import Sprint, SprintState, one_month_after

Progress = Callable[[int, int], None]

TYPES = {
    "epic": ItemType.EPIC,
    "story": ItemType.STORY,
    "user story": ItemType.STORY,
    "task": ItemType.TASK,
    "sub-task": ItemType.TASK,
    "subtask": ItemType.TASK,
    "bug": ItemType.BUG,
    "defect": ItemType.BUG,
    "spike": ItemType.SPIKE,
    "research": ItemType.SPIKE,
    "issue": ItemType.STORY,
    "draftissue": ItemType.STORY,
    "pullrequest": ItemType.TASK,
}
PRIORITIES = {
    "highest": Priority.HIGHEST,
    "blocker": Priority.HIGHEST,
    "critical": Priority.HIGHEST,
    "urgent": Priority.HIGHEST,
    "p0": Priority.HIGHEST,
    "high": Priority.HIGH,
    "major": Priority.HIGH,
    "p1": Priority.HIGH,
    "medium": Priority.MEDIUM,
    "normal": Priority.MEDIUM,
    "p2": Priority.MEDIUM,
    "low": Priority.LOW,
    "minor": Priority.LOW,
    "p3": Priority.LOW,
    "lowest": Priority.LOWEST,
    "trivial": Priority.LOWEST,
    "p4": Priority.LOWEST,
}
DONE_WORDS = ("done", "closed", "resolved", "complete", "released", "fixed", "shipped", "merged")
PROGRESS_WORDS = ("progress", "review", "testing", "test", "qa", "doing", "develop", "started", "blocked")
NUMERIC_SCALE = [Decimal(value) for value in DEFAULT_SCALE if value != UNKNOWN_ESTIMATE]
# Fields a re-import keeps in step with the source (history events for each change).
UPDATED_FIELDS = ("title", "description", "type", "status", "priority", "assignee", "parent", "estimate")


def item_type(source: SourceItem) -> str:
    if any(label.strip().lower() == "bug" for label in source.labels):
        return ItemType.BUG
    return TYPES.get(source.type.strip().lower(), ItemType.STORY)


def priority(name: str) -> str:
    return PRIORITIES.get(name.strip().lower(), Priority.MEDIUM)


def guess_category(status_name: str) -> str:
    name = status_name.strip().lower()
    if any(word in name for word in DONE_WORDS):
        return StatusCategory.DONE
    if any(word in name for word in PROGRESS_WORDS):
        return StatusCategory.IN_PROGRESS
    return StatusCategory.TODO


def estimate_for(points: Decimal | None) -> tuple[str, str]:
    """The scale value for source points and, when it had to be rounded, a note saying so."""
    if points is None:
        return "", ""
    for value in NUMERIC_SCALE:
        if points <= value:
            text = format(value.normalize(), "f")
            if points == value:
                return text, ""
            return text, _("%(points)s points rounded up to %(estimate)s, the next value of the scale.") % {
                "points": format(points.normalize(), "f"),
                "estimate": text,
            }
    top = format(NUMERIC_SCALE[-1].normalize(), "f")
    return top, _("%(points)s points capped at %(estimate)s, the top of the scale.") % {
        "points": format(points.normalize(), "f"),
        "estimate": top,
    }


@dataclass
class PlannedSprint:
    source: SourceSprint
    existing: Sprint | None
    state: str
    start: datetime.date
    end: datetime.date
    sprint: Sprint | None = None  # after apply


@dataclass
class PlannedItem:
    source: SourceItem
    existing: BacklogItem | None
    type: str
    status: Status
    priority: str
    estimate: str
    assignee: Any
    sprint_key: str  # "" for none
    labels: list[str]
    parent_key: str
    comments: list[tuple[Any, str, datetime.datetime | None]] = field(default_factory=list)
    item: BacklogItem | None = None  # set by apply: the item created or updated

    @property
    def saved(self) -> BacklogItem:
        """The item apply wrote for this row (created, or the linked one updated)."""
        if self.item is None:
            raise LookupError(f"{self.source.source_key} has not been written yet")
        return self.item

    @property
    def linked(self) -> BacklogItem:
        """The item an earlier import made from this row (a re-import updates it)."""
        if self.existing is None:
            raise LookupError(f"{self.source.source_key} was not imported before")
        return self.existing


@dataclass
class Plan:
    project: Project
    system: str
    items: list[PlannedItem]
    sprints: dict[str, PlannedSprint]
    report: dict


class _People:
    """Members matched by e-mail, then username == login, then full name; never invited."""

    def __init__(self, project: Project) -> None:
        users = [m.user for m in Membership.objects.filter(project=project).select_related("user")]
        self.by_email = {u.email.lower(): u for u in users if u.email}
        self.by_login = {u.get_username().lower(): u for u in users}
        self.by_name = {u.get_full_name().strip().lower(): u for u in users if u.get_full_name().strip()}
        self.matched: dict[str, str] = {}
        self.unmatched: list[str] = []

    def match(self, person: Person | None):
        if person is None:
            return None
        user = (
            (person.email and self.by_email.get(person.email.lower()))
            or (person.login and self.by_login.get(person.login.lower()))
            or (person.name and self.by_name.get(person.name.strip().lower()))
            or None
        )
        label = person.label
        if user is not None:
            self.matched.setdefault(label, user.get_username())
        elif label and label not in self.unmatched:
            self.unmatched.append(label)
        return user


def _statuses(project: Project) -> tuple[list[Status], Callable[[SourceItem], Status]]:
    statuses = list(Status.objects.filter(project=project).order_by("order", "id"))
    if not statuses:
        raise ImportFileError(_("This project has no workflow statuses to import into."))
    by_name = {status.name.lower(): status for status in statuses}
    first_of: dict[str, Status] = {}
    for status in statuses:
        first_of.setdefault(status.category, status)

    def status_for(source: SourceItem) -> Status:
        exact = by_name.get(source.status.strip().lower())
        if exact is not None:
            return exact
        category = source.status_category or guess_category(source.status)
        return first_of.get(category) or statuses[0]

    return statuses, status_for


def _plan_sprints(
    project: Project, parsed: Parsed, system: str, notes: list[dict], status_for: Callable[[SourceItem], Status]
) -> dict[str, PlannedSprint]:
    links = SourceLink.objects.filter(project=project, system=system, kind=LinkKind.SPRINT)
    existing = {link.source_key: link.sprint for link in links.select_related("sprint") if link.sprint}
    has_active = project.sprints.filter(state=SprintState.ACTIVE).exists()
    last_end = project.sprints.order_by("-end_date").values_list("end_date", flat=True).first()
    today = timezone.localdate(timezone=project.tzinfo)
    planned: dict[str, PlannedSprint] = {}
    new_keys = {key: sprint for key, sprint in parsed.sprints.items() if key not in existing}
    inferred = infer_undated(
        Parsed(source=parsed.source, items=parsed.items, sprints=new_keys),
        today=today,
        length_days=project.sprint_length_days,
        tz=project.tzinfo,
        category=lambda item: status_for(item).category,
    )
    ordered = sorted(parsed.sprints.values(), key=lambda s: (s.start or datetime.date.max, s.name))
    for source in ordered:
        sprint = existing.get(source.key)
        if sprint is not None:
            # A planned sprint follows the source's dates; a started one keeps its own (its history).
            dates = (sprint.start_date, sprint.end_date)
            if sprint.state == SprintState.PLANNED and _within_a_month(source.start, source.end):
                dates = (source.start, source.end)  # type: ignore[assignment]  # both set: checked
            planned[source.key] = PlannedSprint(source, sprint, sprint.state, *dates)
            continue
        state = {"closed": SprintState.COMPLETED, "active": SprintState.ACTIVE}.get(source.state, SprintState.PLANNED)
        if state == SprintState.ACTIVE and has_active:
            state = SprintState.PLANNED
            notes.append(_note(source.name, _("The project already has an active sprint: imported as planned.")))
        has_active = has_active or state == SprintState.ACTIVE
        start: datetime.date | None = source.start
        end: datetime.date | None = source.end
        if source.key in inferred and start is not None:
            notes.append(_note(source.name, _("No dates in the file: dates and state worked out from its items.")))
        if start is None:
            start = max(today, last_end + datetime.timedelta(days=1)) if last_end else today
            end = None
            notes.append(_note(source.name, _("No dates in the file: planned after the last sprint.")))
        if end is None or end < start:
            end = start + datetime.timedelta(days=project.sprint_length_days - 1)
        if end >= one_month_after(start):
            end = one_month_after(start) - datetime.timedelta(days=1)
            notes.append(_note(source.name, _("Longer than a month: shortened to a month.")))
        if state == SprintState.COMPLETED:
            notes.append(_note(source.name, _("Closed in the source: imported as completed, its report frozen.")))
        last_end = max(last_end, end) if last_end else end
        planned[source.key] = PlannedSprint(source, None, state, start, end)
    return planned


def _within_a_month(start: datetime.date | None, end: datetime.date | None) -> bool:
    return start is not None and end is not None and start <= end < one_month_after(start)


def _note(key: str, message: str, row: int = 0) -> dict:
    return {"row": row, "key": key, "message": message}


def plan(project: Project, parsed: Parsed, *, system: str) -> Plan:
    """Everything the import will do, decided with a constant number of queries and no writes."""
    notes: list[dict] = [{"row": p.row, "key": p.source_key, "message": p.message} for p in parsed.problems]
    people = _People(project)
    statuses, status_for = _statuses(project)
    sprints = _plan_sprints(project, parsed, system, notes, status_for)
    keys = [source.source_key for source in parsed.items]
    links = SourceLink.objects.filter(project=project, system=system, kind=LinkKind.ITEM)
    linked = {
        link.source_key: link.item
        for link in links.filter(source_key__in=keys).select_related("item__status", "item__assignee", "item__sprint")
        if link.item is not None
    }
    parent_keys = {s.parent_key for s in parsed.items if s.parent_key} - set(keys)
    outside = {
        link.source_key: link.item
        for link in links.filter(source_key__in=parent_keys).select_related("item")
        if link.item is not None
    }
    types = {source.source_key: item_type(source) for source in parsed.items}
    for key, item in outside.items():
        types[key] = item.type
    planned: list[PlannedItem] = []
    seen: set[str] = set()
    for source in parsed.items:
        if source.source_key in seen:
            notes.append(_note(source.source_key, _("The key appears twice: the later row is skipped."), source.row))
            continue
        seen.add(source.source_key)
        kind = types[source.source_key]
        estimate, rounded = estimate_for(source.points)
        if rounded:
            notes.append(_note(source.source_key, rounded, source.row))
        parent_key = source.parent_key
        if parent_key and parent_key not in types:
            notes.append(
                _note(
                    source.source_key,
                    _("Parent %(key)s is not in the file: left out.") % {"key": parent_key},
                    source.row,
                )
            )
            parent_key = ""
        elif parent_key and types[parent_key] not in ALLOWED_PARENTS[ItemType(kind)]:
            notes.append(
                _note(
                    source.source_key,
                    _("A %(child)s cannot belong to a %(parent)s: parent left out.")
                    % {"child": ItemType(kind).label, "parent": ItemType(types[parent_key]).label},
                    source.row,
                )
            )
            parent_key = ""
        sprint_key = source.sprint_keys[-1] if source.sprint_keys else ""
        if sprint_key and (kind == ItemType.EPIC or sprint_key not in sprints):
            sprint_key = ""
        comments = []
        for comment in source.comments:
            author = people.match(comment.author)
            body = comment.body
            if author is None and comment.author is not None:
                body = f"**{comment.author.label}:** {body}"
            comments.append((author, body, comment.at))
        planned.append(
            PlannedItem(
                source=source,
                existing=linked.get(source.source_key),
                type=kind,
                status=status_for(source),
                priority=priority(source.priority),
                estimate=estimate,
                assignee=people.match(source.assignee),
                sprint_key=sprint_key,
                labels=list(dict.fromkeys(label.strip()[:50] for label in source.labels if label.strip())),
                parent_key=parent_key,
                comments=comments,
            )
        )
    for source in parsed.items:
        people.match(source.reporter)
    report = _report(parsed, planned, sprints, statuses, notes, people)
    return Plan(project=project, system=system, items=planned, sprints=sprints, report=report)


def _report(parsed, planned, sprints, statuses, notes, people) -> dict:
    by_type: dict[str, int] = {}
    for item in planned:
        by_type[item.type] = by_type.get(item.type, 0) + 1
    mapping: dict[tuple[str, str], str] = {}
    for item in planned:
        mapping.setdefault((item.source.status, item.source.status_category), item.status.name)
    creates = sum(1 for item in planned if item.existing is None)
    return {
        "source": parsed.source,
        "counts": {
            "items": len(planned),
            "sprints": len(sprints),
            "comments": sum(len(item.comments) for item in planned),
            "labels": len({label for item in planned for label in item.labels}),
        },
        "creates": creates,
        "updates": len(planned) - creates,
        "problems": notes,
        "unknown_columns": list(parsed.unknown_columns),
        "people": {
            "matched": [{"source": name, "member": username} for name, username in people.matched.items()],
            "unmatched": people.unmatched,
        },
        "status_mapping": [
            {"source": name, "category": category, "status": status}
            for (name, category), status in sorted(mapping.items())
        ],
        "by_type": by_type,
        "sprints": [
            {
                "name": p.source.name,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "state": p.state,
                "action": "update" if p.existing else "create",
            }
            for p in sprints.values()
        ],
    }
