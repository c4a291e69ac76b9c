"""Reading a Scrumboard export: every field checked and converted, every reference resolved.

``read_document(raw)`` turns the decoded JSON into a :class:`Document` whose values are Python
values (dates, aware datetimes, Decimals; item keys as item numbers), or raises ImportFileError
naming the place (``items[3].created_at``) and the problem. Whatever passes here, the restore
can write without breaking a constraint of the database.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backlog import ranking
from backlog.models import DEFAULT_SCALE, EventKind, ItemType, LinkKind, Priority, StatusCategory
from integrations.exporting import PROJECT_FIELDS
from integrations.importing.records import ImportFileError
from projects.models import Project
from retrospectives.models import Phase as RetroPhase
from retrospectives.models import Template
from roadmap.models import SEMVER, PhaseStatus, ReleaseStatus
from roles.models import Permission
from sprints.models import GoalOutcome, SprintState
from standups.models import ImpedimentState, MeetingState

CHOICES = {
    "item_type": ItemType.values,
    "priority": Priority.values,
    "category": StatusCategory.values,
    "link": LinkKind.values,
    "event": EventKind.values,
    "sprint_state": SprintState.values,
    "outcome": [*GoalOutcome.values, ""],
    "meeting_state": MeetingState.values,
    "impediment_state": ImpedimentState.values,
    "retro_phase": RetroPhase.values,
    "template": Template.values,
    "phase_status": PhaseStatus.values,
    "release_status": ReleaseStatus.values,
}
MAX_INT = 2**31 - 1

# Field specs: a kind per field ("?" allows null); a list holds the spec of its entries.
STAMPS = {"created_at": "datetime", "updated_at": "datetime"}
HISTORY = [
    {"actor": "user?", "at": "datetime", "kind": "choice:event", "field": "str:32", "old": "json", "new": "json"}
]
PROJECT = {
    "key": "str:10", "name": "str:200", "description": "text", "product_goal": "text", "timezone": "str:64",
    "sprint_length_days": "int", "daily_scrum_time": "time", "daily_scrum_minutes": "int", "working_days": "json",
    "definition_of_done": "text", "definition_of_ready": "text", "last_item_number": "int",
    "created_at": "datetime?",
}  # fmt: skip
PERSON = {"username": "str:150", "email": "str:254", "name": "text"}
ROLE = {
    "slug": "str:50",
    "name": "str:100",
    "permissions": "permissions",
    "order": "int:32767",
    "estimates_points": "bool",
}
STATUS = {"name": "str:50", "category": "choice:category", "order": "int:32767", "wip_limit": "int?:32767"}
ITEM = {
    "number": "int", "type": "choice:item_type", "title": "str:255", "description": "text",
    "acceptance_criteria": "checklist", "status": "str:50", "priority": "choice:priority", "labels": ["str:50"],
    "assignee": "user?", "reporter": "user?", "parent": "key?", "sprint": "int?", "estimate": "str:8",
    "points": "decimal?", "role_points": "role_points", "due_date": "date?", "ready": "bool", "impeded": "bool",
    "done_checklist": "checklist", "watchers": ["user"], "rank": "rank", **STAMPS,
    "links": [{"kind": "choice:link", "target": "key"}],
    "comments": [
        {"author": "user?", "body": "text", "mentions": ["user"], "created_at": "datetime", "edited_at": "datetime?"}
    ],
    "history": HISTORY,
}  # fmt: skip
SPRINT = {
    "number": "int", "name": "str:100", "goal": "text", "start_date": "date", "end_date": "date",
    "state": "choice:sprint_state", "started_at": "datetime?", "started_by": "user?", "completed_at": "datetime?",
    "completed_by": "user?", "goal_outcome": "choice:outcome", "goal_note": "text", "report": "object?",
    "committed_points": "decimal?", "completed_points": "decimal?", "available_days": "int?",
    "feedback_items": ["key"],
    "commitment": [
        {"item": "key", "title": "str:255", "points": "decimal?", "role_points": "role_points", "assignee": "str:150"}
    ],
    "days_off": [{"user": "user", "days": "int:32767"}], **STAMPS,
}  # fmt: skip
MEETING = {
    "date": "date", "sprint": "int", "state": "choice:meeting_state", "started_at": "datetime?",
    "ended_at": "datetime?", "facilitator": "user?", "speaking_order": ["user"], "attendance": "attendance",
    "summary": "object?",
    "entries": [
        {
            "user": "user", "done": "text", "next": "text", "blockers": "text", "items": ["key"],
            "impediment": "int?", **STAMPS,
        }
    ],
    **STAMPS,
}  # fmt: skip
IMPEDIMENT = {
    "ref": "int", "description": "text", "state": "choice:impediment_state", "raised_by": "user?", "owner": "user?",
    "raised_on": "date", "raised_in": "date?", "resolved_at": "datetime?", "resolved_by": "user?",
    "resolved_on": "date?", "items": ["key"], **STAMPS,
}  # fmt: skip
RETRO = {
    "ref": "int", "sprint": "int?", "title": "str:200", "template": "choice:template", "columns": "columns",
    "phase": "choice:retro_phase", "anonymous": "bool", "votes_per_member": "int:32767", "facilitator": "user?",
    "health_check": "bool", "summary": "object?", **STAMPS, "closed_at": "datetime?",
    "groups": [{"ref": "int", "title": "str:200", "column": "str:40", **STAMPS}],
    "cards": [{"ref": "int", "column": "str:40", "text": "text", "author": "user?", "group": "int?", **STAMPS}],
    "votes": [{"card": "int?", "group": "int?", "voter": "user", "created_at": "datetime"}],
    "notes": [{"card": "int?", "group": "int?", "text": "text", "author": "user?", "created_at": "datetime"}],
    "action_items": [
        {"text": "str:255", "owner": "user?", "due_date": "date?", "backlog_item": "key?", "done": "bool", **STAMPS}
    ],
    "health": [{"member": "user", "statement": "str:20", "score": "int:5"}],
}  # fmt: skip
PHASE = {
    "ref": "int", "name": "str:200", "goal": "text", "start_date": "date", "end_date": "date", "order": "int:32767",
    "status": "choice:phase_status", "items": ["key"], **STAMPS,
}  # fmt: skip
MILESTONE = {"name": "str:200", "date": "date", "done": "bool", "phase": "int?", **STAMPS}
RELEASE = {
    "version": "str:64", "name": "str:200", "phase": "int?", "target_date": "date?", "status": "choice:release_status",
    "released_on": "date?", "released_by": "user?", "notes": "text", "notes_edited": "bool",
    "items": [{"item": "key", "released": "bool"}], **STAMPS,
}  # fmt: skip
DOCUMENT = {
    "project": PROJECT, "roles": [ROLE],
    "members": [{**PERSON, "role": "str:50", "is_admin": "bool", "joined_at": "datetime?"}],
    "people": [PERSON], "statuses": [STATUS], "labels": [{"name": "str:50"}], "items": [ITEM],
    "deleted_items": [{"number": "int", "history": HISTORY}], "sprints": [SPRINT],
    "standups": {"meetings": [MEETING], "impediments": [IMPEDIMENT]}, "retrospectives": [RETRO],
    "roadmap": {"phases": [PHASE], "milestones": [MILESTONE], "releases": [RELEASE]},
}  # fmt: skip


class _Bad(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, problem


class _Reader:
    def __init__(self, key: str) -> None:
        self.key = re.compile(rf"^{re.escape(key)}-([1-9][0-9]{{0,9}})$")
        self.usernames: set[str] = set()

    def record(self, value: Any, spec: dict, where: str) -> dict:
        if not isinstance(value, dict):
            raise _Bad(where, _("expected an object"))
        out = {}
        for name, kind in spec.items():
            place = f"{where}.{name}" if where else name
            if name not in value:
                raise _Bad(place, _("missing"))
            out[name] = self.value(value[name], kind, place)
        return out

    def value(self, value: Any, kind: Any, where: str) -> Any:
        if isinstance(kind, dict):
            return self.record(value, kind, where)
        if isinstance(kind, list):
            if not isinstance(value, list):
                raise _Bad(where, _("expected a list"))
            return [self.value(entry, kind[0], f"{where}[{n}]") for n, entry in enumerate(value)]
        name, _sep, arg = kind.partition(":")
        nullable = name.endswith("?") or arg.startswith("?") or name == "json"
        name, arg = name.rstrip("?"), arg.lstrip("?")
        if value is None:
            if nullable:
                return None
            raise _Bad(where, _("must not be null"))
        try:
            return getattr(self, f"_{name}")(value, arg)
        except (TypeError, ValueError, InvalidOperation, ranking.RankError):
            raise _Bad(where, _("not a valid value: %(value)s") % {"value": str(value)[:60]}) from None

    def _str(self, value: Any, arg: str) -> str:
        if not isinstance(value, str) or (arg and len(value) > int(arg)):
            raise ValueError
        return value

    def _text(self, value: Any, arg: str) -> str:
        return self._str(value, "")

    def _user(self, value: Any, arg: str) -> str:
        self.usernames.add(self._str(value, "150"))
        return value

    def _int(self, value: Any, arg: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= int(arg or MAX_INT):
            raise ValueError
        return value

    def _bool(self, value: Any, arg: str) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value

    def _date(self, value: Any, arg: str) -> datetime.date:
        return datetime.date.fromisoformat(self._str(value, "10"))

    def _time(self, value: Any, arg: str) -> datetime.time:
        return datetime.time.fromisoformat(self._str(value, "15"))

    def _datetime(self, value: Any, arg: str) -> datetime.datetime:
        moment = datetime.datetime.fromisoformat(self._str(value, "40"))
        if moment.tzinfo is None:
            raise ValueError
        return moment

    def _decimal(self, value: Any, arg: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) >= 10**6 or number != number.quantize(Decimal("0.1")):
            raise ValueError
        return number.quantize(Decimal("0.1"))

    def _choice(self, value: Any, arg: str) -> str:
        if value not in CHOICES[arg]:
            raise ValueError
        return value

    def _json(self, value: Any, arg: str) -> Any:
        return value

    def _object(self, value: Any, arg: str) -> dict:
        """Frozen reports and summaries: written by the app, kept as they are; an object at least."""
        if not isinstance(value, dict):
            raise ValueError
        return value

    def _checklist(self, value: Any, arg: str) -> list[dict]:
        if not isinstance(value, list) or any(
            not isinstance(entry, dict)
            or not isinstance(entry.get("text"), str)
            or not isinstance(entry.get("done"), bool)
            for entry in value
        ):
            raise ValueError
        return value

    def _role_points(self, value: Any, arg: str) -> dict[str, str]:
        if not isinstance(value, dict) or any(v not in DEFAULT_SCALE or len(k) > 50 for k, v in value.items()):
            raise ValueError
        return value

    def _columns(self, value: Any, arg: str) -> list[dict]:
        if not isinstance(value, list) or any(
            not isinstance(c, dict) or not isinstance(c.get("key"), str) or not isinstance(c.get("title"), str)
            for c in value
        ):
            raise ValueError
        return value

    def _key(self, value: Any, arg: str) -> int:
        match = self.key.match(self._str(value, "21"))
        if not match or int(match.group(1)) > MAX_INT:
            raise ValueError
        return int(match.group(1))

    def _rank(self, value: Any, arg: str) -> str:
        ranking.validate_key(self._str(value, "255"))
        return value

    def _permissions(self, value: Any, arg: str) -> list[str]:
        if not isinstance(value, list) or any(p not in Permission.values for p in value) or "view" not in value:
            raise ValueError
        return value

    def _attendance(self, value: Any, arg: str) -> dict[str, bool]:
        if not isinstance(value, dict) or any(not isinstance(v, bool) for v in value.values()):
            raise ValueError
        for name in value:
            self._user(name, "")
        return value


@dataclass
class Document:
    project: dict
    roles: list[dict]
    members: list[dict]
    people: list[dict]
    statuses: list[dict]
    labels: list[str]
    items: list[dict]
    deleted_items: list[dict]
    sprints: list[dict]
    meetings: list[dict]
    impediments: list[dict]
    retrospectives: list[dict]
    phases: list[dict]
    milestones: list[dict]
    releases: list[dict]
    usernames: set[str]

    @property
    def last_item_number(self) -> int:
        numbers = [i["number"] for i in self.items] + list(self.deleted_numbers())
        return max([self.project["last_item_number"], *numbers])

    def deleted_numbers(self) -> set[int]:
        """Numbers of items gone from the project but named by history or commitments."""
        live = {i["number"] for i in self.items}
        named = {d["number"] for d in self.deleted_items}
        named |= {c["item"] for s in self.sprints for c in s["commitment"]}
        return named - live

    def histories(self) -> Iterator[tuple[int, list[dict]]]:
        for item in self.items:
            yield item["number"], item["history"]
        for gone in self.deleted_items:
            yield gone["number"], gone["history"]

    def left_out(self, missing: set[str]) -> dict[str, int]:
        """Rows that cannot exist without their person, for the people in ``missing``."""
        return {
            "standup_entries": sum(1 for m in self.meetings for e in m["entries"] if e["user"] in missing),
            "votes": sum(1 for r in self.retrospectives for v in r["votes"] if v["voter"] in missing),
            "days_off": sum(1 for s in self.sprints for d in s["days_off"] if d["user"] in missing),
            "health_ratings": sum(1 for r in self.retrospectives for h in r["health"] if h["member"] in missing),
        }

    def counts(self) -> dict[str, int]:
        retros = self.retrospectives
        return {
            "items": len(self.items),
            "comments": sum(len(i["comments"]) for i in self.items),
            "history_events": sum(len(history) for _n, history in self.histories()),
            "labels": len(self.labels),
            "sprints": len(self.sprints),
            "committed_items": sum(len(s["commitment"]) for s in self.sprints),
            "daily_scrums": len(self.meetings),
            "standup_entries": sum(len(m["entries"]) for m in self.meetings),
            "impediments": len(self.impediments),
            "retrospectives": len(retros),
            "cards": sum(len(r["cards"]) for r in retros),
            "votes": sum(len(r["votes"]) for r in retros),
            "action_items": sum(len(r["action_items"]) for r in retros),
            "phases": len(self.phases),
            "milestones": len(self.milestones),
            "releases": len(self.releases),
        }


def people_of(doc: Document) -> dict[str, str]:
    """Every username the document names, with its e-mail when the document gives one."""
    emails = dict.fromkeys(doc.usernames, "")
    for person in doc.members + doc.people:
        emails[person["username"]] = person["email"]
    return emails


def _unique(values: list, where: str, what: str) -> None:
    repeated = [value for value, count in Counter(values).items() if count > 1]
    if repeated:
        raise _Bad(where, _("%(what)s “%(value)s” appears twice") % {"what": what, "value": repeated[0]})


def _known(value: Any, known: set | dict, where: str) -> None:
    if value is not None and value not in known:
        raise _Bad(where, _("refers to “%(value)s”, which the export does not contain") % {"value": value})


def _check_settings(doc: Document) -> None:
    """The project's settings pass the model's own validators (time zone, lengths, working days)."""
    settings = {name: doc.project[name] for name in PROJECT_FIELDS}
    try:
        Project(key="XX", name="x", **settings).full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise _Bad(f"project.{field}", errors[0].rstrip(".")) from None


def _check(doc: Document) -> None:
    """References resolve and what the database keeps unique is unique."""
    _check_settings(doc)
    _unique([r["slug"] for r in doc.roles], "roles", _("role"))
    _unique([s["name"] for s in doc.statuses], "statuses", _("status"))
    if not doc.statuses:
        raise _Bad("statuses", _("the workflow needs at least one status"))
    _unique(doc.labels, "labels", _("label"))
    numbers = {i["number"] for i in doc.items}
    _unique([i["number"] for i in doc.items], "items", _("item number"))
    _unique([i["rank"] for i in doc.items], "items", _("rank"))
    _unique([d["number"] for d in doc.deleted_items], "deleted_items", _("item number"))
    for n, gone in enumerate(doc.deleted_items):
        if gone["number"] in numbers:
            raise _Bad(f"deleted_items[{n}].number", _("item %(number)d is not deleted") % {"number": gone["number"]})
    sprints = {s["number"] for s in doc.sprints}
    _unique([s["number"] for s in doc.sprints], "sprints", _("sprint number"))
    if sum(1 for s in doc.sprints if s["state"] == SprintState.ACTIVE) > 1:
        raise _Bad("sprints", _("more than one sprint is active"))
    statuses, labels = {s["name"] for s in doc.statuses}, set(doc.labels)
    for n, item in enumerate(doc.items):
        where = f"items[{n}]"
        _known(item["status"], statuses, f"{where}.status")
        for label in item["labels"]:
            _known(label, labels, f"{where}.labels")
        _known(item["parent"], numbers, f"{where}.parent")
        _known(item["sprint"], sprints, f"{where}.sprint")
        _unique([(link["kind"], link["target"]) for link in item["links"]], f"{where}.links", _("link"))
        for link in item["links"]:
            _known(link["target"], numbers - {item["number"]}, f"{where}.links")
    for n, sprint in enumerate(doc.sprints):
        where = f"sprints[{n}]"
        if sprint["end_date"] < sprint["start_date"]:
            raise _Bad(where, _("the sprint ends before it starts"))
        for key in sprint["feedback_items"]:
            _known(key, numbers, f"{where}.feedback_items")
        _unique([c["item"] for c in sprint["commitment"]], f"{where}.commitment", _("item"))
    _unique([m["date"] for m in doc.meetings], "standups.meetings", _("date"))
    refs = {i["ref"] for i in doc.impediments}
    _unique([i["ref"] for i in doc.impediments], "standups.impediments", _("ref"))
    dates = {m["date"] for m in doc.meetings}
    for n, meeting in enumerate(doc.meetings):
        _known(meeting["sprint"], sprints, f"standups.meetings[{n}].sprint")
        for entry in meeting["entries"]:
            _known(entry["impediment"], refs, f"standups.meetings[{n}].entries")
            for key in entry["items"]:
                _known(key, numbers, f"standups.meetings[{n}].entries")
    for n, impediment in enumerate(doc.impediments):
        _known(impediment["raised_in"], dates, f"standups.impediments[{n}].raised_in")
        for key in impediment["items"]:
            _known(key, numbers, f"standups.impediments[{n}].items")
    _check_retrospectives(doc, sprints, numbers)
    _check_roadmap(doc, numbers)


def _check_retrospectives(doc: Document, sprints: set[int], numbers: set[int]) -> None:
    _unique([r["ref"] for r in doc.retrospectives], "retrospectives", _("ref"))
    _unique([r["sprint"] for r in doc.retrospectives if r["sprint"] is not None], "retrospectives", _("sprint"))
    for n, retro in enumerate(doc.retrospectives):
        where = f"retrospectives[{n}]"
        _known(retro["sprint"], sprints, f"{where}.sprint")
        groups, cards = {g["ref"] for g in retro["groups"]}, {c["ref"] for c in retro["cards"]}
        _unique([g["ref"] for g in retro["groups"]], f"{where}.groups", _("ref"))
        _unique([c["ref"] for c in retro["cards"]], f"{where}.cards", _("ref"))
        for card in retro["cards"]:
            _known(card["group"], groups, f"{where}.cards")
        for name in ("votes", "notes"):
            for entry in retro[name]:
                _known(entry["card"], cards, f"{where}.{name}")
                _known(entry["group"], groups, f"{where}.{name}")
        if any((v["card"] is None) == (v["group"] is None) for v in retro["votes"]):
            raise _Bad(f"{where}.votes", _("a vote is for a card or for a group"))
        for action in retro["action_items"]:
            _known(action["backlog_item"], numbers, f"{where}.action_items")
        if any(not 1 <= h["score"] <= 5 for h in retro["health"]):
            raise _Bad(f"{where}.health", _("scores go from 1 to 5"))


def _check_roadmap(doc: Document, numbers: set[int]) -> None:
    phases = {p["ref"] for p in doc.phases}
    _unique([p["ref"] for p in doc.phases], "roadmap.phases", _("ref"))
    for n, phase in enumerate(doc.phases):
        if phase["end_date"] < phase["start_date"]:
            raise _Bad(f"roadmap.phases[{n}]", _("the phase ends before it starts"))
        for key in phase["items"]:
            _known(key, numbers, f"roadmap.phases[{n}].items")
    for n, milestone in enumerate(doc.milestones):
        _known(milestone["phase"], phases, f"roadmap.milestones[{n}].phase")
    _unique([r["version"] for r in doc.releases], "roadmap.releases", _("version"))
    for n, release in enumerate(doc.releases):
        where = f"roadmap.releases[{n}]"
        if not SEMVER.match(release["version"]):
            raise _Bad(f"{where}.version", _("not a semantic version"))
        if (release["status"] == ReleaseStatus.RELEASED) != (release["released_on"] is not None):
            raise _Bad(where, _("a release has a release date when, and only when, it is released"))
        _known(release["phase"], phases, f"{where}.phase")
        _unique([link["item"] for link in release["items"]], f"{where}.items", _("item"))
        for link in release["items"]:
            _known(link["item"], numbers, f"{where}.items")


def read_document(raw: dict) -> Document:
    project = raw.get("project")
    key = project.get("key") if isinstance(project, dict) else None
    if not isinstance(key, str) or not key:
        raise ImportFileError(_("The export names no project key."))
    reader = _Reader(key)
    try:
        data = reader.record(raw, DOCUMENT, "")
        doc = Document(
            project=data["project"],
            roles=data["roles"],
            members=data["members"],
            people=data["people"],
            statuses=data["statuses"],
            labels=[label["name"] for label in data["labels"]],
            items=data["items"],
            deleted_items=data["deleted_items"],
            sprints=data["sprints"],
            meetings=data["standups"]["meetings"],
            impediments=data["standups"]["impediments"],
            retrospectives=data["retrospectives"],
            phases=data["roadmap"]["phases"],
            milestones=data["roadmap"]["milestones"],
            releases=data["roadmap"]["releases"],
            usernames=reader.usernames,
        )
        _check(doc)
    except _Bad as bad:
        raise ImportFileError(
            _("The export is not valid at %(where)s: %(problem)s.") % {"where": bad.where, "problem": bad.problem}
        ) from None
    return doc
