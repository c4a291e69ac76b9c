"""Jira's REST search result (`/rest/api/2|3/search`): `{"issues": [...], "names": {field id: name}}`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from . import adf
from .parsing import (
    CREATED,
    RESOLVED,
    BadValue,
    StrOrPromise,
    check_row_limit,
    load_json,
    parse_date,
    parse_datetime,
    parse_points,
    status_category,
)
from .records import ImportFileError, Parsed, Person, RowProblem, SourceComment, SourceItem, SourceSprint

NAME = "jira_json"
# When the file has no `names` map: the ids Jira Cloud and Server give these fields out of the box.
WELL_KNOWN_POINTS = ("customfield_10016", "customfield_10026", "customfield_10028", "customfield_10002")
WELL_KNOWN_EPIC_LINK = ("customfield_10014", "customfield_10008")
POINTS_NAMES = ("story points", "story point estimate")
# Fields read (or deliberately passed over because another field says the same).
READ = {
    "summary", "issuetype", "status", "priority", "labels", "assignee", "reporter", "created",
    "resolutiondate", "duedate", "description", "parent", "comment", "components", "fixVersions",
    "versions", "resolution", "project", "subtasks", "statuscategorychangedate", "issuelinks",
    "lastViewed", "watches", "votes", "creator",
}  # fmt: skip
EXTRA = {"components": "components", "fixVersions": "fix_versions", "versions": "affects_versions"}
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)
_SNIFF = re.compile(rb'"issues"\s*:\s*\[')
_LEGACY_SPRINT = re.compile(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@\w*\[(?P<body>.*)\]$", re.S)
_LEGACY_PAIR = re.compile(r"(?:^|,)(\w+)=(.*?)(?=,\w+=|$)", re.S)


def sniff(data: bytes) -> bool:
    head = data[:1_000_000]
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and bool(_SNIFF.search(head)) and b'"fields"' in head


def parse(data: bytes, *, tz: ZoneInfo | None = None) -> Parsed:
    document = load_json(data)
    if not isinstance(document, dict):
        raise ImportFileError(_("The file is JSON but not a Jira search result: expected an object with “issues”."))
    issues = document.get("issues")
    if not isinstance(issues, list):
        raise ImportFileError(_("The file has no “issues” list: is it a Jira search result (REST /search)?"))
    check_row_limit(len(issues))
    names = _object(document.get("names"))
    fields = _FieldIds(names, issues)
    parsed = Parsed(source=NAME, items=[])
    seen: dict[str, int] = {}
    unknown: dict[str, None] = {}
    for row, issue in enumerate(issues, start=1):
        if not isinstance(issue, dict):
            raise ImportFileError(_("Issue %(row)s in the “issues” list is not an object.") % {"row": row})
        key = issue.get("key")
        if isinstance(key, str) and key.strip() in seen:
            parsed.problems.append(
                RowProblem(
                    row,
                    key.strip(),
                    _("%(key)s appears again (first as issue %(row)s): skipped.")
                    % {"key": key.strip(), "row": seen[key.strip()]},
                )
            )
            continue
        item = _item(row, issue, fields, tz, parsed)
        if item is None:
            continue
        seen[item.source_key] = row
        parsed.items.append(item)
        for field_id, value in issue["fields"].items():
            if field_id not in READ and field_id not in fields.read and value not in (None, "", [], {}):
                unknown.setdefault(str(names.get(field_id) or field_id))
    parsed.unknown_columns = list(unknown)
    return parsed


class _FieldIds:
    """Which custom field holds points, sprints and the epic link in this file."""

    def __init__(self, names: dict[str, Any], issues: list[Any]) -> None:
        by_name = {str(name).strip().casefold(): field_id for field_id, name in names.items()}
        # The names map, when the export has one, is the truth; the well-known ids are a guess.
        self.points = [by_name[name] for name in POINTS_NAMES if name in by_name]
        self.epic_link = [by_name["epic link"]] if "epic link" in by_name else []
        if not names:
            self.points, self.epic_link = list(WELL_KNOWN_POINTS), list(WELL_KNOWN_EPIC_LINK)
        self.sprint = [by_name["sprint"]] if "sprint" in by_name else _sprint_fields(issues)
        self.read = {*self.points, *self.epic_link, *self.sprint}


def _sprint_fields(issues: list[Any]) -> list[str]:
    """Without `names`, the sprint field is the custom field whose values look like sprints."""
    for issue in issues:
        fields = issue.get("fields") if isinstance(issue, dict) else None
        for field_id, value in (fields or {}).items():
            if field_id.startswith("customfield_") and isinstance(value, list) and value:
                first = value[0]
                if (isinstance(first, dict) and {"name", "state"} <= first.keys()) or (
                    isinstance(first, str) and _LEGACY_SPRINT.match(first)
                ):
                    return [field_id]
    return []


def _item(row: int, issue: dict[str, Any], ids: _FieldIds, tz: ZoneInfo | None, parsed: Parsed) -> SourceItem | None:
    key = issue.get("key")
    key = key.strip() if isinstance(key, str) else ""
    fields = issue.get("fields")
    if not isinstance(fields, dict):
        parsed.problems.append(RowProblem(row, key, _("The issue has no “fields” object: skipped.")))
        return None
    title = fields.get("summary")
    title = title.strip() if isinstance(title, str) else ""
    if not key or not title:
        message = _("The issue has no issue key: skipped.") if not key else _("The issue has no summary: skipped.")
        parsed.problems.append(RowProblem(row, key, message))
        return None

    def ignored(label: StrOrPromise, reason: str) -> None:
        parsed.problems.append(
            RowProblem(row, key, _("%(field)s ignored: %(reason)s.") % {"field": label, "reason": reason})
        )

    status = _object(fields.get("status"))
    category = _object(status.get("statusCategory"))
    item = SourceItem(
        row=row,
        source_key=key,
        title=title,
        type=_name(fields.get("issuetype")),
        status=_name(status),
        status_category=status_category(_string(category.get("key")) or _string(category.get("name"))),
        priority=_name(fields.get("priority")),
        description=adf.to_markdown(fields.get("description")),
        labels=list(dict.fromkeys(label for label in _list(fields.get("labels")) if isinstance(label, str) and label)),
        assignee=_person(fields.get("assignee")),
        reporter=_person(fields.get("reporter")),
        parent_key=_string(_object(fields.get("parent")).get("key")),
        url=_browse_url(_string(issue.get("self")), key),
    )
    if not item.parent_key:
        links = (_string(fields.get(field_id)) for field_id in ids.epic_link)
        item.parent_key = next((link.upper() for link in links if _ISSUE_KEY.match(link)), "")
    for field_id in ids.points:
        if fields.get(field_id) not in (None, ""):
            try:
                item.points, item.estimate = parse_points(fields[field_id])
            except BadValue as error:
                ignored(_("Story points"), str(error))
            break
    for attribute, field_id, label in (
        ("created_at", "created", CREATED),
        ("resolved_at", "resolutiondate", RESOLVED),
    ):
        try:
            setattr(item, attribute, parse_datetime(_string(fields.get(field_id)), tz))
        except BadValue as error:
            ignored(label, str(error))
    try:
        item.due_date = parse_date(_string(fields.get("duedate")), tz)
    except BadValue as error:
        ignored(_("Due date"), str(error))
    for field_id in ids.sprint:
        sprints = [s for value in _list(fields.get(field_id)) if (s := _sprint(value, tz)) is not None]
        sprints.sort(key=lambda s: (s.start is None, s.start or date.min))
        for sprint in sprints:
            known = parsed.sprints.setdefault(sprint.key, sprint)
            known.start, known.end, known.state = (
                known.start or sprint.start,
                known.end or sprint.end,
                known.state or sprint.state,
            )
        item.sprint_keys = list(dict.fromkeys(sprint.key for sprint in sprints))
    for comment in _list(_object(fields.get("comment")).get("comments")):
        if isinstance(comment, dict):
            item.comments.append(_comment(comment, tz))
    resolution = _name(fields.get("resolution"))
    if resolution:
        item.extra["resolution"] = [resolution]
    for field_id, name in EXTRA.items():
        values = [_name(value) for value in _list(fields.get(field_id))]
        if any(values):
            item.extra[name] = [value for value in values if value]
    return item


def _browse_url(api_url: str, key: str) -> str:
    """The issue's page: `https://x.atlassian.net/rest/api/3/issue/10002` → `.../browse/CRM-2`."""
    base, found, _rest = api_url.partition("/rest/api/")
    return f"{base}/browse/{key}" if found and base.startswith(("https://", "http://")) else ""


def _sprint(value: Any, tz: ZoneInfo | None) -> SourceSprint | None:
    if isinstance(value, str):
        match = _LEGACY_SPRINT.match(value.strip())
        if not match:
            return None
        value = {key: ("" if text == "<null>" else text) for key, text in _LEGACY_PAIR.findall(match["body"])}
    if not isinstance(value, dict):
        return None
    name = _string(value.get("name"))
    if not name:
        return None

    def day(field: str) -> date | None:
        try:
            return parse_date(_string(value.get(field)), tz)
        except BadValue:
            return None

    # Keyed by name, not id: a CSV export of the same Jira names sprints only by name, and both
    # formats must land on the same sprint when the project is imported again.
    state = _string(value.get("state")).lower()
    return SourceSprint(
        key=name,
        name=name,
        start=day("startDate"),
        end=day("endDate"),
        state=state if state in ("closed", "active", "future") else "",
    )


def _comment(comment: dict[str, Any], tz: ZoneInfo | None) -> SourceComment:
    try:
        at = parse_datetime(_string(comment.get("created")), tz)
    except BadValue:
        at = None
    return SourceComment(
        body=adf.to_markdown(comment.get("body")).strip(), author=_person(comment.get("author")), at=at
    )


def _person(value: Any) -> Person | None:
    if not isinstance(value, dict):
        return None
    person = Person(
        name=_string(value.get("displayName")),
        email=_string(value.get("emailAddress")).lower(),
        # Cloud identifies people by accountId, Server and Data Center by username ("name").
        login=_string(value.get("accountId")) or _string(value.get("name")) or _string(value.get("key")),
    )
    return person if person.label else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _name(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return _string(_object(value).get("name")) or _string(_object(value).get("value"))
