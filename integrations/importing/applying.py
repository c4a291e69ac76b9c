"""Writing an import plan (``mapping.plan``): bulk queries per chunk of rows, inside the caller's transaction.

Item numbers are reserved with one counter update, ranks appended after the backlog's last rank,
"created" events written by the importer so history and charts work; a re-import updates the linked
items and writes an event per changed field. No signals are sent: imports fire no webhooks or
notifications per item.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from backlog import ranking
from backlog.models import BacklogItem, Comment, EventKind, ItemEvent, ItemType, Label
from backlog.services.common import SPRINT_FIELD, TRACKED_FIELDS, history_event, lock_backlog, sprint_value
from integrations.importing.mapping import UPDATED_FIELDS, Plan, PlannedItem, Progress
from integrations.models import ImportJob, LinkKind, SourceLink
from projects.models import Project
from sprints import selectors as sprint_selectors
from sprints.models import CommittedItem, Sprint, SprintState

CHUNK = 500


def apply(plan_: Plan, *, actor, job: ImportJob | None, progress: Progress) -> dict:
    """Writes the plan (the caller holds the transaction): bulk queries per chunk, not per row."""
    project = plan_.project
    total = len(plan_.items)
    progress(0, total)
    counter = lock_backlog(project)  # the item counter, locked: one import or item creation at a time
    _write_sprints(plan_, job)
    labels = _write_labels(project, plan_.items)
    creates = [p for p in plan_.items if p.existing is None]
    updates = [p for p in plan_.items if p.existing is not None]
    by_key = {p.source.source_key: p for p in plan_.items}
    outside = _outside_parents(plan_)
    done = 0
    numbers = iter(range(counter.last_number + 1, counter.last_number + 1 + len(creates)))
    counter.last_number += len(creates)
    counter.save(update_fields=["last_number"])
    last_rank = BacklogItem.objects.filter(project=project).order_by("-rank").values_list("rank", flat=True).first()
    ranks = iter(ranking.keys_between(last_rank, None, len(creates))) if creates else iter(())
    checklist = [{"text": text, "done": False} for text in project.definition_of_done_items()]
    for start in range(0, len(creates), CHUNK):
        chunk = creates[start : start + CHUNK]
        _create_chunk(plan_, chunk, numbers, ranks, checklist, labels, actor, job)
        done += len(chunk)
        progress(done, total)
    changed = 0
    for start in range(0, len(updates), CHUNK):
        chunk = updates[start : start + CHUNK]
        changed += _update_chunk(plan_, chunk, labels, actor)
        done += len(chunk)
        progress(done, total)
    _link_parents(plan_, creates, by_key, outside, actor)
    _commit_started_sprints(plan_)
    return {
        "created": len(creates),
        "updated": changed,
        "unchanged": len(updates) - changed,
        "sprints_created": sum(1 for p in plan_.sprints.values() if p.existing is None),
        "comments": sum(len(p.comments) for p in creates) + sum(getattr(p, "new_comments", 0) for p in updates),
    }


def _write_sprints(plan_: Plan, job) -> None:
    project = plan_.project
    new = [p for p in plan_.sprints.values() if p.existing is None]
    changed = []
    for p in plan_.sprints.values():
        p.sprint = sprint = p.existing
        if sprint is None or not sprint.is_planned:
            continue  # a started sprint keeps its own name and dates: its history depends on them
        wanted = (p.source.name[:100] or sprint.name, p.start, p.end)
        if (sprint.name, sprint.start_date, sprint.end_date) != wanted:
            sprint.name, sprint.start_date, sprint.end_date = wanted
            sprint.updated_at = timezone.now()
            changed.append(sprint)
    if changed:
        Sprint.objects.bulk_update(changed, ["name", "start_date", "end_date", "updated_at"])
    if not new:
        return
    last = project.sprints.order_by("-number").values_list("number", flat=True).first() or 0
    tz = project.tzinfo
    sprints = []
    for number, p in enumerate(new, start=last + 1):
        started = p.state != SprintState.PLANNED
        sprints.append(
            Sprint(
                project=project,
                number=number,
                name=p.source.name[:100] or _("Sprint %(number)s") % {"number": number},
                start_date=p.start,
                end_date=p.end,
                state=p.state,
                started_at=datetime.datetime.combine(p.start, datetime.time(9), tz) if started else None,
            )
        )
    Sprint.objects.bulk_create(sprints)
    for p, sprint in zip(new, sprints, strict=True):
        p.sprint = sprint
    SourceLink.objects.bulk_create(
        SourceLink(
            project=project,
            system=plan_.system,
            kind=LinkKind.SPRINT,
            source_key=p.source.key,
            sprint=p.sprint,
            job=job,
        )
        for p in new
    )


def _write_labels(project: Project, items: list[PlannedItem]) -> dict[str, Label]:
    wanted = {label for item in items for label in item.labels}
    if not wanted:
        return {}
    existing = set(Label.objects.filter(project=project, name__in=wanted).values_list("name", flat=True))
    Label.objects.bulk_create([Label(project=project, name=name) for name in wanted - existing], ignore_conflicts=True)
    return {label.name: label for label in Label.objects.filter(project=project, name__in=wanted)}


def _outside_parents(plan_: Plan) -> dict[str, BacklogItem]:
    in_file = {p.source.source_key for p in plan_.items}
    keys = {p.parent_key for p in plan_.items if p.parent_key and p.parent_key not in in_file}
    if not keys:
        return {}
    links = SourceLink.objects.filter(
        project=plan_.project, system=plan_.system, kind=LinkKind.ITEM, source_key__in=keys
    ).select_related("item")
    return {link.source_key: link.item for link in links if link.item}


def _sprint_of(plan_: Plan, p: PlannedItem) -> Sprint | None:
    return plan_.sprints[p.sprint_key].sprint if p.sprint_key else None


def _create_chunk(plan_, chunk, numbers, ranks, checklist, labels, actor, job) -> None:
    project = plan_.project
    now = timezone.now()
    items = []
    for p in chunk:
        source = p.source
        item = BacklogItem(
            project=project,
            number=next(numbers),
            type=p.type,
            title=(source.title.strip() or source.source_key)[:255],
            description=source.description,
            status=p.status,
            priority=p.priority,
            assignee=p.assignee,
            reporter=actor,
            estimate=p.estimate,
            points=BacklogItem.points_for(p.estimate),
            due_date=source.due_date,
            done_checklist=list(checklist),
            rank=next(ranks),
            sprint=_sprint_of(plan_, p),
        )
        p.item = item
        items.append(item)
    BacklogItem.objects.bulk_create(items)
    # auto_now_add stamped "now": keep the source's creation time where the file has one.
    dated = [p.item for p in chunk if p.source.created_at]
    for p in chunk:
        if p.source.created_at:
            p.item.created_at = p.source.created_at
    if dated:
        BacklogItem.objects.bulk_update(dated, ["created_at"])
    through = BacklogItem.labels.through
    through.objects.bulk_create(
        [through(backlogitem_id=p.saved.pk, label_id=labels[name].pk) for p in chunk for name in p.labels]
    )
    events = []
    for p in chunk:
        skipped = ("description", "done_checklist")
        snapshot = {name: value(p.item) for name, value in TRACKED_FIELDS.items() if name not in skipped}
        snapshot["parent"] = None
        snapshot["labels"] = p.labels
        snapshot["rank"] = p.saved.rank
        snapshot[SPRINT_FIELD] = sprint_value(p.saved.sprint)
        events.append(
            history_event(p.item, by=actor, kind=EventKind.CREATED, new=snapshot, at=p.source.created_at or now)
        )
    ItemEvent.objects.bulk_create(events)
    _write_comments([(p, p.comments) for p in chunk])
    SourceLink.objects.bulk_create(
        SourceLink(
            project=project,
            system=plan_.system,
            kind=LinkKind.ITEM,
            source_key=p.source.source_key,
            item=p.item,
            job=job,
        )
        for p in chunk
    )


def _write_comments(pairs) -> None:
    comments, dated = [], []
    for p, entries in pairs:
        for author, body, at in entries:
            comment = Comment(item=p.item, author=author, body=body)
            comments.append((comment, at))
    Comment.objects.bulk_create([c for c, _at in comments])
    for comment, at in comments:
        if at:
            comment.created_at = at
            dated.append(comment)
    if dated:
        Comment.objects.bulk_update(dated, ["created_at"])


def _update_chunk(plan_: Plan, chunk: list[PlannedItem], labels: dict[str, Label], actor) -> int:
    project = plan_.project
    now = timezone.now()
    ids = [p.linked.pk for p in chunk]
    current_labels: dict[int, list[str]] = {pk: [] for pk in ids}
    through = BacklogItem.labels.through
    for item_id, name in through.objects.filter(backlogitem_id__in=ids).values_list("backlogitem_id", "label__name"):
        current_labels[item_id].append(name)
    bodies: dict[int, set[str]] = {pk: set() for pk in ids}
    for item_id, body in Comment.objects.filter(item_id__in=ids).values_list("item_id", "body"):
        bodies[item_id].add(body)
    events, changed_items, fields = [], [], set()
    relabel: list[PlannedItem] = []
    new_comments = []
    for p in chunk:
        item = p.linked
        item.project = project
        p.item = item
        before = {name: TRACKED_FIELDS[name](item) for name in UPDATED_FIELDS if name != "parent"}
        old_sprint = sprint_value(item.sprint)
        item.title = (p.source.title.strip() or p.source.source_key)[:255]
        item.description = p.source.description
        item.type = p.type
        item.status = p.status
        item.priority = p.priority
        item.assignee = p.assignee
        if not item.role_points:
            item.estimate = p.estimate
            item.points = BacklogItem.points_for(p.estimate)
        sprint = _sprint_of(plan_, p)
        movable = (item.sprint is None or item.sprint.accepts_items) and (sprint is None or sprint.accepts_items)
        if movable and item.type != ItemType.EPIC:
            item.sprint = sprint
        item_events = []
        for name, old in before.items():
            new = TRACKED_FIELDS[name](item)
            if new != old:
                fields.add(name)
                item_events.append(
                    history_event(item, by=actor, kind=EventKind.CHANGED, field=name, old=old, new=new, at=now)
                )
        if sprint_value(item.sprint) != old_sprint:
            fields.add("sprint")
            item_events.append(
                history_event(
                    item,
                    by=actor,
                    kind=EventKind.CHANGED,
                    field=SPRINT_FIELD,
                    old=old_sprint,
                    new=sprint_value(item.sprint),
                    at=now,
                )
            )
        if sorted(current_labels[item.pk]) != sorted(p.labels):
            relabel.append(p)
            item_events.append(
                history_event(
                    item,
                    by=actor,
                    kind=EventKind.CHANGED,
                    field="labels",
                    old=sorted(current_labels[item.pk]),
                    new=p.labels,
                    at=now,
                )
            )
        fresh = [entry for entry in p.comments if entry[1] not in bodies[item.pk]]
        p.new_comments = len(fresh)  # type: ignore[attr-defined]
        if fresh:
            new_comments.append((p, fresh))
        if item_events:
            events.extend(item_events)
            changed_items.append(item)
    if changed_items and fields - {"labels"}:
        columns = sorted(({"points"} | fields) - {"labels"})
        if "estimate" in columns:
            columns.append("points")
        BacklogItem.objects.bulk_update(changed_items, sorted(set(columns) | {"updated_at"}))
    if relabel:
        through.objects.filter(backlogitem_id__in=[p.saved.pk for p in relabel]).delete()
        through.objects.bulk_create(
            [through(backlogitem_id=p.saved.pk, label_id=labels[name].pk) for p in relabel for name in p.labels]
        )
    ItemEvent.objects.bulk_create(events)
    _write_comments(new_comments)
    return len(changed_items)


def _link_parents(plan_: Plan, creates, by_key, outside, actor) -> None:
    """Parents last: a parent may come later in the file than its children."""
    now = timezone.now()
    project = plan_.project
    wanted: list[tuple[PlannedItem, BacklogItem | None]] = []
    for p in plan_.items:
        parent = None
        if p.parent_key:
            parent = by_key[p.parent_key].item if p.parent_key in by_key else outside.get(p.parent_key)
        if p.item is not None and p.item.parent_id != (parent.pk if parent else None):  # every row is written
            wanted.append((p, parent))
    old_ids = {p.saved.parent_id for p, _parent in wanted if p.existing is not None and p.saved.parent_id}
    numbers = dict(BacklogItem.objects.filter(pk__in=old_ids).values_list("pk", "number")) if old_ids else {}
    changed, events = [], []
    for p, parent in wanted:
        item = p.saved
        old = f"{project.key}-{numbers[item.parent_id]}" if item.parent_id in numbers else None
        item.parent = parent
        if parent is not None:
            parent.project = project
        changed.append(item)
        if p.existing is not None:
            new = parent.key if parent else None
            events.append(
                history_event(item, by=actor, kind=EventKind.CHANGED, field="parent", old=old, new=new, at=now)
            )
    if changed:
        BacklogItem.objects.bulk_update(changed, ["parent"], batch_size=CHUNK)
    ItemEvent.objects.bulk_create(events)


def _commit_started_sprints(plan_: Plan) -> None:
    """New started sprints: the commitment is what the file puts in them; closed ones get their report frozen."""
    now = timezone.now()
    tz = plan_.project.tzinfo
    for p in plan_.sprints.values():
        if p.existing is not None or p.state == SprintState.PLANNED or p.sprint is None:
            continue
        sprint = p.sprint
        sprint.project = plan_.project
        items = [i.item for i in plan_.items if i.sprint_key == p.source.key and i.item and i.type != ItemType.EPIC]
        CommittedItem.objects.bulk_create(
            CommittedItem(
                sprint=sprint,
                item=item,
                item_number=item.number,
                title=item.title,
                points=item.points,
                assignee=item.assignee.get_username() if item.assignee else "",
            )
            for item in items
        )
        if p.state != SprintState.COMPLETED:
            continue
        sprint.state = SprintState.ACTIVE  # computed, not frozen: sprint_report replays the history
        sprint.started_at = None
        report = sprint_selectors.sprint_report(sprint, until=now)
        sprint.state = SprintState.COMPLETED
        sprint.started_at = datetime.datetime.combine(sprint.start_date, datetime.time(9), tz)
        sprint.completed_at = datetime.datetime.combine(sprint.end_date, datetime.time(18), tz)
        sprint.report = report
        sprint.committed_points = Decimal(str(report["committed"]["points"]))
        sprint.completed_points = Decimal(str(report["completed"]["points"]))
        sprint.available_days = report["capacity"]["available_days"]
        sprint.save()
