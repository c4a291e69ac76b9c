"""How the backlog pages show things: history lines, item links, @mentions in comments."""

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backlog.forms import NO_ESTIMATE
from backlog.models import DEFAULT_SCALE, BacklogItem, EventKind, ItemEvent, ItemLink, ItemType, LinkKind, Priority
from backlog.services import MENTION

FIELD_LABELS = {
    "type": gettext_lazy("Type"),
    "title": gettext_lazy("Title"),
    "status": gettext_lazy("Status"),
    "priority": gettext_lazy("Priority"),
    "assignee": gettext_lazy("Assignee"),
    "parent": gettext_lazy("Parent"),
    "estimate": gettext_lazy("Estimate"),
    "role_points": gettext_lazy("Points per role"),
    "due_date": gettext_lazy("Due date"),
    "ready": gettext_lazy("Ready"),
    "labels": gettext_lazy("Labels"),
    "sprint": gettext_lazy("Sprint"),
}
# Changes shown as one sentence, without old and new values.
FIELD_NOTES = {
    "description": gettext_lazy("edited the description"),
    "acceptance_criteria": gettext_lazy("updated the acceptance criteria"),
    "done_checklist": gettext_lazy("updated the Definition of Done checklist"),
    "rank": gettext_lazy("moved it in the backlog"),
}
INVERSE_LINKS = {
    LinkKind.BLOCKS: gettext_lazy("is blocked by"),
    LinkKind.RELATES: gettext_lazy("relates to"),
    LinkKind.DUPLICATES: gettext_lazy("is duplicated by"),
}


@dataclass
class HistoryEntry:
    at: datetime.datetime
    actor: str
    kind: str  # "created", "deleted", "change" (label, old → new), "note" (a sentence), "override"
    label: str = ""
    old: str = ""
    new: str = ""
    note: str = ""
    times: int = 1


class _Values:
    """Turns stored history values into words, with names for people and roles."""

    def __init__(self, *, people: dict[str, str], roles: dict[str, str]):
        self.people = people
        self.roles = roles

    def __call__(self, field: str, value) -> str:
        if value in (None, "", [], {}):
            return _("none")
        if field in ("status", "sprint") and isinstance(value, dict):
            return str(value.get("name", ""))
        if field == "type" and value in ItemType.values:
            return str(ItemType(value).label)
        if field == "priority" and value in Priority.values:
            return str(Priority(value).label)
        if field == "assignee":
            return self.people.get(value, str(value))
        if field == "ready":
            return _("yes") if value else _("no")
        if field == "due_date":
            try:
                return datetime.date.fromisoformat(value).strftime("%Y-%m-%d")
            except (TypeError, ValueError):
                return str(value)
        if field == "labels" and isinstance(value, list):
            return ", ".join(str(name) for name in value)
        if field == "role_points" and isinstance(value, dict):
            return ", ".join(f"{self.roles.get(slug, slug)} {points}" for slug, points in value.items())
        return str(value)


def history_entries(events: Iterable[ItemEvent], *, people: dict[str, str], roles: dict[str, str]) -> list:
    """One line per event, newest last; consecutive moves by the same person become one line."""
    words = _Values(people=people, roles=roles)
    entries: list[HistoryEntry] = []
    for event in events:
        actor = people.get(event.actor.username, event.actor.username) if event.actor else _("Someone")
        if event.kind == EventKind.CREATED:
            entries.append(HistoryEntry(at=event.at, actor=actor, kind="created"))
        elif event.kind == EventKind.DELETED:
            entries.append(HistoryEntry(at=event.at, actor=actor, kind="deleted"))
        elif event.field == "done_override":
            entries.append(HistoryEntry(at=event.at, actor=actor, kind="override", note=str(event.new or "")))
        elif event.field in FIELD_NOTES:
            last = entries[-1] if entries else None
            if last and last.kind == "note" and last.label == event.field and last.actor == actor:
                last.times += 1
                last.at = event.at
                continue
            entries.append(
                HistoryEntry(
                    at=event.at, actor=actor, kind="note", label=event.field, note=str(FIELD_NOTES[event.field])
                )
            )
        else:
            entries.append(
                HistoryEntry(
                    at=event.at,
                    actor=actor,
                    kind="change",
                    label=str(FIELD_LABELS.get(event.field, event.field)),
                    old=words(event.field, event.old),
                    new=words(event.field, event.new),
                )
            )
    return entries


@dataclass
class LinkRow:
    link: ItemLink
    phrase: str
    other: BacklogItem


def link_rows(item: BacklogItem, links: Iterable[ItemLink]) -> list[LinkRow]:
    """Links as read from this item: "blocks SB-3" out, "is blocked by SB-7" in."""
    rows = []
    for link in links:
        if link.source_id == item.pk:
            rows.append(LinkRow(link=link, phrase=str(LinkKind(link.kind).label), other=link.target))
        else:
            rows.append(LinkRow(link=link, phrase=str(INVERSE_LINKS[LinkKind(link.kind)]), other=link.source))
    return rows


_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"^</?\s*([a-zA-Z0-9]+)")
# No mention links inside links or code.
_NO_MENTIONS_IN = {"a", "code", "pre"}


def link_mentions(html: str, usernames: set[str], href: Callable[[str], str]) -> str:
    """Turns ``@name`` in sanitized HTML into a link, for names that are members (the comment's mentions)."""
    if not usernames:
        return html
    parts = _TAG.split(html)
    inside = 0
    for i, part in enumerate(parts):
        if part.startswith("<"):
            match = _TAG_NAME.match(part)
            if match and match.group(1).lower() in _NO_MENTIONS_IN and not part.endswith("/>"):
                inside += -1 if part.startswith("</") else 1
            continue
        if inside <= 0:
            parts[i] = MENTION.sub(lambda m: _mention(m, usernames, href), part)
    return "".join(parts)


def _mention(match: re.Match, usernames: set[str], href: Callable[[str], str]) -> str:
    name = match.group(1)
    username = name.rstrip(".")
    if username not in usernames:
        return match.group(0)
    link = f'<a class="mention" href="{escape(href(username))}">@{escape(username)}</a>'
    return link + name[len(username) :]


def prepare_rows(rows: list[Any], *, project) -> list[Any]:
    """What each backlog row (a BacklogItem) shows, worked out once per page, not per row in the template.

    A page has hundreds of rows: URL reversing, choice labels and the estimate select's
    options cost little once, but add up to most of the page's time when done per row.
    """
    url = reverse("backlog:item", kwargs={"key": project.key, "item_key": "ITEM-KEY"})
    types = {value: str(label) for value, label in ItemType.choices}
    priorities = {value: str(label) for value, label in Priority.choices}
    options = {value: estimate_options(value) for value in ("", *DEFAULT_SCALE)}
    for item in rows:
        item.url = url.replace("ITEM-KEY", item.key)
        item.parent_url = url.replace("ITEM-KEY", item.parent.key) if item.parent else ""
        item.type_label = types.get(item.type, item.type)
        item.priority_label = priorities.get(item.priority, item.priority)
        item.estimate_options = options.get(item.estimate) or options[""]
    return rows


def estimate_options(selected: str) -> SafeString:
    """The ``<option>``s of a row's estimate select (the scale's values need no escaping)."""
    empty = format_html('<option value=""{}>{}</option>', " selected" if not selected else "", NO_ESTIMATE)
    values = "".join(
        f"<option selected>{value}</option>" if value == selected else f"<option>{value}</option>"
        for value in DEFAULT_SCALE
    )
    return mark_safe(empty + values)  # noqa: S308 - fixed scale values and an escaped dash
