"""Burndown and burnup series, the sprint review report and the Product Goal's progress."""

import datetime
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from backlog.models import BacklogItem, EventKind, ItemType, StatusCategory
from projects.models import Project
from roles.models import Membership
from sprints.models import CommittedItem, Sprint
from sprints.selectors.capacity import capacity_summary
from sprints.selectors.history import Totals, _ItemState, _measure, _points, _Timeline

REPORT_VERSION = 1


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
