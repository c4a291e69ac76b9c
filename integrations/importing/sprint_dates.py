"""Dates and states for sprints a file names without them (Jira's CSV export has only names).

Without this, every sprint of a Jira CSV would be planned after the project's last sprint, and
an item finished in September would sit in a sprint starting tomorrow. The items say more:

- **Order.** Each item lists its sprints oldest first (a carried-over item names both), so the
  sprints are put in the order those lists agree on; names break ties naturally ("Sprint 2"
  before "Sprint 10").
- **State.** A sprint is over when none of the items it still holds is unfinished. Up to the
  first sprint still holding unfinished work, sprints are closed; that one is active when work
  in it has started (an item in progress or done), else future like those after it.
- **Dates.** A closed sprint ends on the day its last item was resolved (in the project's time
  zone) and lasts the project's sprint length, never overlapping the one before; one with no
  resolved item follows the one before. The active sprint runs up to today, starting after the
  last closed one ended; future sprints are left to the planner, after the last sprint.

Only sprints with neither dates nor a state are touched; the import preview notes each.
"""

import datetime
import itertools
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from integrations.importing.records import Parsed, SourceItem, SourceSprint

TODO, DONE = "todo", "done"  # status categories, as backlog.models.StatusCategory spells them


def _natural(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def _order(undated: dict[str, SourceSprint], items: list[SourceItem]) -> list[str]:
    """Sprints in the order the items' lists agree on (a topological sort, ties by name)."""
    after: dict[str, set[str]] = {key: set() for key in undated}
    for item in items:
        keys = [key for key in item.sprint_keys if key in undated]
        for earlier, later in itertools.pairwise(keys):
            if earlier != later:
                after[later].add(earlier)
    ordered: list[str] = []
    remaining = dict(after)
    while remaining:
        ready = [key for key, before in remaining.items() if not before - set(ordered)]
        # A cycle (lists that disagree) is broken by taking the first name.
        pick = min(ready or remaining, key=lambda key: _natural(undated[key].name))
        ordered.append(pick)
        del remaining[pick]
    return ordered


def infer_undated(
    parsed: Parsed, *, today: datetime.date, length_days: int, tz: ZoneInfo, category: Callable[[SourceItem], str]
) -> set[str]:
    """Sets start, end and state of the file's undated sprints in place; returns their keys."""
    undated = {key: s for key, s in parsed.sprints.items() if s.start is None and s.end is None and not s.state}
    if not undated:
        return set()
    holding: dict[str, list[SourceItem]] = {key: [] for key in undated}
    for item in parsed.items:
        if item.sprint_keys and item.sprint_keys[-1] in holding:
            holding[item.sprint_keys[-1]].append(item)
    order = _order(undated, parsed.items)
    unfinished = [i for i, key in enumerate(order) if any(category(item) != DONE for item in holding[key])]
    first_open = unfinished[0] if unfinished else len(order)
    length = datetime.timedelta(days=max(length_days, 1))
    previous_end: datetime.date | None = None
    for index, key in enumerate(order):
        sprint = undated[key]
        if index < first_open:
            sprint.state = "closed"
            resolved = [i.resolved_at.astimezone(tz).date() for i in holding[key] if i.resolved_at is not None]
            if resolved:
                end = min(max(resolved), today)
                start = end - length + datetime.timedelta(days=1)
            elif previous_end is not None:
                start = previous_end + datetime.timedelta(days=1)
                end = max(min(start + length - datetime.timedelta(days=1), today), start)
            else:
                continue  # nothing to date it by: dated below, before the sprint after it
            if previous_end is not None and start <= previous_end:
                start = previous_end + datetime.timedelta(days=1)
                end = max(end, start)
            sprint.start, sprint.end, previous_end = start, end, end
        elif index == first_open and any(category(item) != TODO for item in holding[key]):
            sprint.state = "active"
            start = today - length + datetime.timedelta(days=1)
            if previous_end is not None and previous_end >= start:
                start = min(previous_end + datetime.timedelta(days=1), today)
            sprint.start, sprint.end = start, start + length - datetime.timedelta(days=1)
        else:
            sprint.state = "future"  # dated by the planner, after the project's last sprint
    # Closed sprints with no resolved item and nothing before them: back to back before the next.
    next_start: datetime.date | None = None
    for key in reversed(order[:first_open]):
        sprint = undated[key]
        if sprint.start is None:
            end = (next_start or today) - datetime.timedelta(days=1)
            sprint.start, sprint.end = end - length + datetime.timedelta(days=1), end
        next_start = sprint.start
    return set(undated)
