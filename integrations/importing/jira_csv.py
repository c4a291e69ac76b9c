"""Jira's "Export → CSV (all fields)": one issue per record, multi-valued fields as repeated columns.

Rich text (description, comments) comes in Jira wiki markup and is converted to Markdown.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from . import jira_wiki
from .parsing import (
    CREATED,
    DUE_DATE,
    RESOLVED,
    BadValue,
    StrOrPromise,
    check_row_limit,
    describe_bad_utf8,
    parse_date,
    parse_datetime,
    parse_points,
    status_category,
)
from .records import ImportFileError, Parsed, Person, RowProblem, SourceComment, SourceItem, SourceSprint

NAME = "jira_csv"
# Jira Cloud lets the exporting user pick the delimiter; the header tells which one was used.
DELIMITERS = (",", ";", "\t", "|", "^")

# Column → what it means; matched case-insensitively, several spellings across Jira editions.
SINGLE = {
    "summary": "summary",
    "issue key": "key",
    "issue id": "id",
    "parent id": "parent_id",
    "parent": "parent",
    "custom field (epic link)": "epic_link",
    "issue type": "type",
    "status": "status",
    "status category": "status_category",
    "priority": "priority",
    "assignee": "assignee",
    "assignee id": "assignee_id",
    "assignee email": "assignee_email",
    "assignee e-mail": "assignee_email",
    "reporter": "reporter",
    "reporter id": "reporter_id",
    "reporter email": "reporter_email",
    "reporter e-mail": "reporter_email",
    "created": "created",
    "resolved": "resolved",
    "due date": "due",
    "description": "description",
    "custom field (story points)": "points",
    "custom field (story point estimate)": "points",
    "custom field (rank)": "rank",
}
MULTI = {"labels": "labels", "sprint": "sprints", "comment": "comments"}
# Recognised, kept in SourceItem.extra for the preview, not mapped.
EXTRA = {
    "resolution": "resolution",
    "component/s": "components",
    "components": "components",
    "fix version/s": "fix_versions",
    "fix versions": "fix_versions",
    "affects version/s": "affects_versions",
    "affects versions": "affects_versions",
}
# Read by nothing but repeating what other columns say: not worth a line in the preview.
REDUNDANT = {"parent summary", "project key", "project name", "status category changed"}


@dataclass
class _Record:
    line: int
    single: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, list[str]] = field(default_factory=dict)


def sniff(data: bytes) -> bool:
    head = data[:4096].decode("utf-8", errors="ignore").lstrip("\ufeff")
    first = head.split("\n", 1)[0].casefold()
    return not first.lstrip().startswith(("{", "[")) and "summary" in first and "issue key" in first


def parse(data: bytes, *, tz: ZoneInfo | None = None) -> Parsed:
    text = _decode(data)
    header, rows = _read(text)
    problems: list[RowProblem] = []
    records = [_record(line, header, values, problems) for line, values in rows]
    check_row_limit(len(records))

    # Comments name their authors by account id only; the people columns say whose id it is.
    people: dict[str, Person] = {}
    keys_by_id: dict[str, str] = {}
    for record in records:
        for who in ("assignee", "reporter"):
            person = _person(record.single, who)
            if person is not None and person.login and person.name:
                people.setdefault(person.login, person)
        if record.single.get("id") and record.single.get("key"):
            keys_by_id.setdefault(record.single["id"], record.single["key"])

    parsed = Parsed(source=NAME, items=[], unknown_columns=_unknown_columns(header), problems=problems)
    seen: dict[str, int] = {}
    for record in records:
        key = record.single.get("key", "")
        if key in seen:
            parsed.problems.append(
                RowProblem(
                    record.line,
                    key,
                    _("%(key)s appears again (first on line %(line)s): row skipped.") % {"key": key, "line": seen[key]},
                )
            )
            continue
        item = _item(record, tz, people, keys_by_id, parsed)
        if item is None:
            continue
        seen[item.source_key] = record.line
        parsed.items.append(item)
        for name in item.sprint_keys:
            parsed.sprints.setdefault(name, SourceSprint(key=name, name=name))
    return parsed


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(describe_bad_utf8(data, error)) from None
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    return text


def _read(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (line where the record starts, values) for every non-blank record."""
    first_line = text.split("\n", 1)[0]
    delimiter = next(
        (
            d
            for d in DELIMITERS
            if "summary" in [h.strip().casefold() for h in next(csv.reader([first_line], delimiter=d))]
        ),
        None,
    )
    if delimiter is None:
        raise ImportFileError(
            _(
                "The file has no “Summary” column in its first line. Is it a Jira CSV export "
                "(Filters → Export → Export CSV (all fields))?"
            )
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        header = [name.strip() for name in next(reader)]
        start = reader.line_num + 1
        for values in reader:
            if any(value.strip() for value in values):
                rows.append((start, values))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(_csv_error_message(error, start)) from None
    if not rows:
        raise ImportFileError(_("The file has a header line but no issues."))
    return header, rows


def _csv_error_message(error: csv.Error, line: int) -> str:
    reason = str(error)
    if "field larger than field limit" in reason:
        return _(
            "The record starting on line %(line)s has a field longer than %(limit)s characters; "
            'usually a quote (“"”) that is never closed.'
        ) % {"line": line, "limit": f"{csv.field_size_limit():,}"}
    if "unexpected end of data" in reason:
        return _('The quoted field starting on line %(line)s is never closed: a quote (“"”) is missing.') % {
            "line": line
        }
    return _("The file is not valid CSV near line %(line)s: %(problem)s.") % {"line": line, "problem": reason}


def _record(line: int, header: list[str], values: list[str], problems: list[RowProblem]) -> _Record:
    record = _Record(line)
    if len(values) > len(header) and any(value.strip() for value in values[len(header) :]):
        problems.append(
            RowProblem(
                line,
                "",
                _("The row has %(count)s fields but the header has %(columns)s: the extra fields are ignored.")
                % {"count": len(values), "columns": len(header)},
            )
        )
    for name, value in zip(header, values, strict=False):
        column = name.casefold()
        value = value.strip()
        if column in SINGLE:
            # A repeated single-valued column: the first non-empty value wins.
            if value and not record.single.get(SINGLE[column]):
                record.single[SINGLE[column]] = value
        elif column in MULTI:
            if value:
                record.multi.setdefault(MULTI[column], []).append(value)
        elif column in EXTRA and value:
            record.extra.setdefault(EXTRA[column], []).append(value)
    return record


def _unknown_columns(header: list[str]) -> list[str]:
    known = SINGLE.keys() | MULTI.keys() | EXTRA.keys() | REDUNDANT
    unknown: list[str] = []
    for name in header:
        if name and name.casefold() not in known and name not in unknown:
            unknown.append(name)
    return unknown


def _item(
    record: _Record, tz: ZoneInfo | None, people: dict[str, Person], keys_by_id: dict[str, str], parsed: Parsed
) -> SourceItem | None:
    single = record.single
    key, title = single.get("key", ""), single.get("summary", "")
    if not key or not title:
        message = _("The row has no issue key: skipped.") if not key else _("The row has no summary: skipped.")
        parsed.problems.append(RowProblem(record.line, key, message))
        return None

    def ignored(label: StrOrPromise, reason: str) -> None:
        parsed.problems.append(
            RowProblem(record.line, key, _("%(field)s ignored: %(reason)s.") % {"field": label, "reason": reason})
        )

    item = SourceItem(
        row=record.line,
        source_key=key,
        title=title,
        type=single.get("type", ""),
        status=single.get("status", ""),
        status_category=status_category(single.get("status_category", "")),
        priority=single.get("priority", ""),
        description=jira_wiki.to_markdown(single.get("description", "")),
        labels=list(dict.fromkeys(record.multi.get("labels", []))),
        assignee=_person(single, "assignee"),
        reporter=_person(single, "reporter"),
        sprint_keys=list(dict.fromkeys(record.multi.get("sprints", []))),
        rank=single.get("rank", ""),
        extra=record.extra,
    )
    try:
        item.points, item.estimate = parse_points(single.get("points"))
    except BadValue as error:
        ignored(_("Story points"), str(error))
    for attribute, column, label, reader in (
        ("created_at", "created", CREATED, parse_datetime),
        ("resolved_at", "resolved", RESOLVED, parse_datetime),
        ("due_date", "due", DUE_DATE, parse_date),
    ):
        try:
            setattr(item, attribute, reader(single.get(column, ""), tz))
        except BadValue as error:
            ignored(label, str(error))
    item.parent_key = _parent_key(single, keys_by_id, ignored)
    for text in record.multi.get("comments", []):
        item.comments.append(_comment(text, tz, people))
    return item


_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)


def _parent_key(single: dict[str, str], keys_by_id: dict[str, str], ignored: Callable[[str, str], None]) -> str:
    # Cloud writes the parent's key in "Parent"; some editions write its id there or only "Parent id";
    # older company-managed projects link stories to epics with "Epic Link" (a key, or an id).
    unresolved = ""
    for column in ("parent", "parent_id", "epic_link"):
        value = single.get(column, "")
        if _ISSUE_KEY.match(value):
            return value.upper()
        if value in keys_by_id:
            return keys_by_id[value]
        unresolved = unresolved or value
    if unresolved:
        ignored(_("Parent"), _("issue %(id)s is not in this file") % {"id": unresolved})
    return ""


def _person(single: dict[str, str], who: str) -> Person | None:
    name, login, email = single.get(who, ""), single.get(f"{who}_id", ""), single.get(f"{who}_email", "")
    if not (name or login or email):
        return None
    return Person(name=name, email=email.lower(), login=login)


def _comment(text: str, tz: ZoneInfo | None, people: dict[str, Person]) -> SourceComment:
    """Jira writes a comment as `date;author account id;body`; the body may hold further `;`."""
    parts = text.split(";", 2)
    if len(parts) == 3:
        try:
            at = parse_datetime(parts[0], tz)
        except BadValue:
            at = None
        if at is not None:
            account = parts[1].strip()
            author = (people.get(account) or Person(login=account)) if account else None
            return SourceComment(body=jira_wiki.to_markdown(parts[2].strip()), author=author, at=at)
    return SourceComment(body=jira_wiki.to_markdown(text))
