"""Ids stored inside JSON fields (history values, frozen reports and summaries) and document references.

The same rewriting serves both ways: the export swaps ids for references, the restore swaps
references for the new ids. A ``Ref`` answers None for what it does not know.
"""

from __future__ import annotations

import copy
import datetime
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet

from backlog.models import EventKind

Ref = Callable[[Any], Any]


def _swap_id(value: Any, ref: Ref) -> Any:
    if isinstance(value, dict) and "id" in value:
        return {**value, "id": ref(value["id"])}
    return value


def map_event_values(kind: str, field: str, old: Any, new: Any, *, status: Ref, sprint: Ref) -> tuple[Any, Any]:
    """A history row's values with status and sprint ids swapped (the only ids the history stores)."""
    if kind == EventKind.CREATED and isinstance(new, dict):
        new = dict(new)
        if "status" in new:
            new["status"] = _swap_id(new["status"], status)
        if "sprint" in new:
            new["sprint"] = _swap_id(new["sprint"], sprint)
    elif field == "status":
        old, new = _swap_id(old, status), _swap_id(new, status)
    elif field == "sprint":
        old, new = _swap_id(old, sprint), _swap_id(new, sprint)
    return old, new


def map_sprint_report(report: Any, *, sprint: Ref) -> Any:
    if isinstance(report, dict) and isinstance(report.get("sprint"), dict):
        report = {**report, "sprint": _swap_id(report["sprint"], sprint)}
    return report


def map_scrum_summary(summary: Any, *, impediment: Ref) -> Any:
    if not isinstance(summary, dict):
        return summary
    summary = dict(summary)
    for name in ("raised", "resolved"):
        if isinstance(summary.get(name), list):
            summary[name] = [_swap_id(entry, impediment) for entry in summary[name]]
    return summary


def map_retro_summary(summary: Any, *, retro: Ref, sprint: Ref, card: Ref, group: Ref) -> Any:
    if not isinstance(summary, dict):
        return summary
    summary = copy.deepcopy(summary)
    summary = _swap_id(summary, retro)
    if isinstance(summary.get("sprint"), dict):
        summary["sprint"] = _swap_id(summary["sprint"], sprint)
    for column in summary.get("columns") or []:
        if not isinstance(column, dict):
            continue
        column["cards"] = [_swap_id(c, card) for c in column.get("cards") or []]
        groups = []
        for g in column.get("groups") or []:
            g = _swap_id(g, group)
            if isinstance(g, dict):
                g["cards"] = [_swap_id(c, card) for c in g.get("cards") or []]
            groups.append(g)
        column["groups"] = groups
    return summary


# --- values ---------------------------------------------------------------------------------------


def constant(value: Any) -> Ref:
    return lambda _key: value


def lookup(mapping: dict) -> Ref:
    return lambda key: mapping.get(key)


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def date_text(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def pairs(through: QuerySet, value: str, owner: str | None = None) -> dict[int, list[int]]:
    """A many-to-many table as {owner id: [value ids]}; the owner is the table's first foreign key."""
    model: type[Model] = through.model
    owner = owner or next(f.attname for f in model._meta.fields if f.is_relation and f.attname != value)
    grouped: dict[int, list[int]] = defaultdict(list)
    for left, right in through.order_by("pk").values_list(owner, value):
        grouped[left].append(right)
    return grouped


def to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def key_number(key: str | None) -> int:
    return int(key.rsplit("-", 1)[1]) if key else 0


class UserRef(int):
    """A user id awaiting its username (``name_people`` swaps them all at the end)."""


class Names(list):
    """User references that become a sorted list of usernames (watchers, mentions)."""


class Attendance(list):
    """(user reference, present) pairs that become {username: present}."""
