"""GitHub Projects (v2) as `gh project item-list --format json` writes it: `{"items": [...], "totalCount": n}`.

Each item carries its project fields as keys named after the field (lower-cased by `gh`): `status`,
an iteration field (`sprint`), number fields (`estimate`), single selects (`priority`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from .parsing import BadValue, check_row_limit, load_json, parse_date, parse_points
from .records import ImportFileError, Parsed, Person, RowProblem, SourceItem, SourceSprint

NAME = "github_projects"
TYPES = ("Issue", "PullRequest", "DraftIssue")
# Keys `gh` writes for every item, read below or saying nothing the item does not already say.
READ = {"id", "title", "status", "labels", "assignees", "repository", "content", "type"}
_POINTS_NAME = re.compile(r"estimate|points?\b|size|\bsp\b", re.IGNORECASE)
_SPRINT_NAME = re.compile(r"sprint|iteration", re.IGNORECASE)
_REPOSITORY_URL = re.compile(r"^https?://[^/]+/(?P<repository>[^/]+/[^/#?]+)")
_SNIFF = re.compile(rb'"items"\s*:\s*\[')


def sniff(data: bytes) -> bool:
    head = data[:1_000_000]
    return (
        head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
        and bool(_SNIFF.search(head))
        and b'"content"' in head
        and b"scrumboard-export" not in head[:4096]
    )


def parse(data: bytes, *, tz: ZoneInfo | None = None) -> Parsed:
    document = load_json(data)
    if not isinstance(document, dict):
        raise ImportFileError(_("The file is JSON but not a GitHub project: expected an object with “items”."))
    items = document.get("items")
    if not isinstance(items, list):
        raise ImportFileError(
            _("The file has no “items” list: is it the output of “gh project item-list --format json”?")
        )
    check_row_limit(len(items))
    today = timezone.now().astimezone(tz or UTC).date()
    parsed = Parsed(source=NAME, items=[])
    total = document.get("totalCount")
    if isinstance(total, int) and not isinstance(total, bool) and total > len(items):
        # gh returns 30 items unless told otherwise: a silent truncation the user must hear about.
        parsed.problems.append(
            RowProblem(
                0,
                "",
                _(
                    "The file holds %(count)s of the project's %(total)s items. Export again with "
                    "“gh project item-list … --limit %(total)s --format json” to import them all."
                )
                % {"count": len(items), "total": total},
            )
        )
    seen: dict[str, int] = {}
    unknown: dict[str, None] = {}
    for row, entry in enumerate(items, start=1):
        if not isinstance(entry, dict):
            raise ImportFileError(_("Item %(row)s in the “items” list is not an object.") % {"row": row})
        item = _item(row, entry, tz, today, parsed, unknown)
        if item is None:
            continue
        if item.source_key in seen:
            parsed.problems.append(
                RowProblem(
                    row,
                    item.source_key,
                    _("%(key)s appears again (first as item %(row)s): skipped.")
                    % {"key": item.source_key, "row": seen[item.source_key]},
                )
            )
            continue
        seen[item.source_key] = row
        parsed.items.append(item)
    parsed.unknown_columns = list(unknown)
    return parsed


def _item(
    row: int, entry: dict[str, Any], tz: ZoneInfo | None, today: date, parsed: Parsed, unknown: dict[str, None]
) -> SourceItem | None:
    content = entry["content"] if isinstance(entry.get("content"), dict) else {}
    kind = _string(content.get("type")) or _string(entry.get("type"))
    title = _string(content.get("title")) or _string(entry.get("title"))
    key = _source_key(entry, content, kind)

    def skip(message: str) -> None:
        parsed.problems.append(RowProblem(row, key, message))

    if kind not in TYPES:
        skip(_("Items of type %(type)s cannot be imported: skipped.") % {"type": kind or "?"})
        return None
    if not key:
        if kind == "DraftIssue":
            skip(_("The draft issue has no item id: skipped."))
        else:
            skip(_("The item has no repository or number: skipped."))
        return None
    if not title:
        skip(_("The item has no title: skipped."))
        return None

    logins = [login.strip() for login in _list(entry.get("assignees")) if isinstance(login, str) and login.strip()]
    item = SourceItem(
        row=row,
        source_key=key,
        title=title,
        type=kind,
        status=_string(entry.get("status")),
        description=_body(content.get("body")),
        labels=list(dict.fromkeys(_label(label) for label in _list(entry.get("labels")) if _label(label))),
        assignee=Person(login=logins[0]) if logins else None,
        url=_string(content.get("url")) if kind != "DraftIssue" else "",
    )
    if len(logins) > 1:
        item.extra["assignees"] = logins

    sprint_field = ""
    for name, value in entry.items():
        if name in READ:
            continue
        if _is_iteration(value):
            if not sprint_field or (_SPRINT_NAME.search(name) and not _SPRINT_NAME.search(sprint_field)):
                sprint_field = name
        elif name.casefold() == "priority" and isinstance(value, str):
            item.priority = value.strip()
        elif _POINTS_NAME.search(name) and value not in (None, ""):
            if isinstance(value, str) and not re.match(r"^\s*[\d.,?]", value):
                item.extra[name] = [value]  # a T-shirt size ("M"): kept for the preview, not points
                continue
            try:
                item.points, item.estimate = parse_points(value)
            except BadValue as error:
                parsed.problems.append(
                    RowProblem(row, key, _("%(field)s ignored: %(reason)s.") % {"field": name, "reason": str(error)})
                )
        elif name == "milestone" and isinstance(value, dict) and _string(value.get("title")):
            item.extra["milestone"] = [_string(value["title"])]
        elif value not in (None, "", [], {}):
            unknown.setdefault(name)
    if sprint_field:
        sprint = _sprint(entry[sprint_field], tz, today)
        if sprint is None:
            parsed.problems.append(
                RowProblem(row, key, _("%(field)s ignored: its start date is not a date.") % {"field": sprint_field})
            )
        else:
            known = parsed.sprints.setdefault(sprint.key, sprint)
            item.sprint_keys = [known.key]
    return item


def _source_key(entry: dict[str, Any], content: dict[str, Any], kind: str) -> str:
    """`owner/repo#number` for issues and pull requests; drafts live only in the project: `draft:<item id>`."""
    if kind == "DraftIssue":
        item_id = _string(entry.get("id"))
        return f"draft:{item_id}" if item_id else ""
    number = content.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        return ""
    repository = _string(content.get("repository")) or _string(entry.get("repository"))
    match = _REPOSITORY_URL.match(repository) or _REPOSITORY_URL.match(_string(content.get("url")))
    if match:
        repository = match["repository"]
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        return ""
    return f"{repository}#{number}"


def _is_iteration(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "startDate" in value
        and "duration" in value
        and ("iterationId" in value or "title" in value)
    )


def _sprint(value: dict[str, Any], tz: ZoneInfo | None, today: date) -> SourceSprint | None:
    try:
        start = parse_date(_string(value.get("startDate")), tz)
    except BadValue:
        return None
    if start is None:
        return None
    duration = value.get("duration")
    days = duration if isinstance(duration, int) and not isinstance(duration, bool) and duration > 0 else 1
    end = start + timedelta(days=days - 1)
    title = _string(value.get("title"))
    key = _string(value.get("iterationId")) or title
    if end < today:
        state = "closed"
    elif start <= today:
        state = "active"
    else:
        state = "future"
    return SourceSprint(key=key, name=title or key, start=start, end=end, state=state)


def _body(value: Any) -> str:
    # Markdown as written: leading spaces may open a code block, so only line endings change.
    return value.replace("\r\n", "\n").strip("\n") if isinstance(value, str) else ""


def _label(value: Any) -> str:
    # gh writes label names; the GraphQL shape has objects with a name.
    if isinstance(value, dict):
        return _string(value.get("name"))
    return _string(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
