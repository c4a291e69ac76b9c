"""Items: the workflow, create, update (with the Definition of Done), delete, watch, WIP limits."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog import signals
from backlog.models import (
    BacklogItem,
    EventKind,
    ItemEvent,
    ItemType,
    Label,
    Priority,
    Status,
    StatusCategory,
)
from projects.models import Project
from roles import policy
from roles.models import Permission

if TYPE_CHECKING:
    from sprints.models import Sprint

from backlog.services.common import (
    DEFAULT_WORKFLOW,
    SPRINT_FIELD,
    TRACKED_FIELDS,
    _check_estimate,
    _check_parent,
    _check_role_points,
    _check_sprint,
    _checklist,
    _edge_rank,
    _labels,
    _member_user,
    _next_number,
    history_event,
    sprint_value,
)


def seed_workflow(project: Project) -> list[Status]:
    return Status.objects.bulk_create(
        Status(project=project, name=name, category=category, order=i)
        for i, (name, category) in enumerate(DEFAULT_WORKFLOW)
    )


def set_wip_limit(*, status: Status, by, limit: int | None) -> Status:
    """A board column's work-in-progress limit; None removes it."""
    policy.require(by, status.project, Permission.MANAGE_SPRINTS)
    if limit is not None and not 1 <= limit <= 999:
        raise ValidationError({"wip_limit": _("Give a limit from 1 to 999, or none.")})
    status.wip_limit = limit
    status.save(update_fields=["wip_limit"])
    return status


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
    skipped = ("description", "done_checklist")
    snapshot = {name: value(item) for name, value in TRACKED_FIELDS.items() if name not in skipped}
    snapshot["labels"] = [label.name for label in labels]
    snapshot["rank"] = item.rank
    snapshot[SPRINT_FIELD] = sprint_value(item.sprint)
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
        if field not in TRACKED_FIELDS:
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
    before = {field: TRACKED_FIELDS[field](item) for field in changes}
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
        new = TRACKED_FIELDS[field](item)
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
