"""The export's meetings and plans: daily scrums, impediments, retrospectives, the roadmap."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import Model

from integrations.exporting.refs import (
    Attendance,
    Ref,
    constant,
    date_text,
    key_number,
    lookup,
    map_retro_summary,
    map_scrum_summary,
    pairs,
    to_int,
)
from projects.models import Project
from retrospectives.models import ActionItem, Card, CardGroup, DiscussionNote, HealthRating, Retrospective, Vote
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from standups.models import DailyScrum, Entry, Impediment


class MeetingsExport:
    """Part of the exporter (``document._Exporter``): what needs items, sprints and people already named."""

    # Provided by the exporter.
    project: Project
    sprint_ref: Ref
    item_ref: Ref
    user: Callable[[int | None], Any]
    time: Callable[[datetime.datetime | None], str | None]
    rows: Callable[..., list[dict]]

    # --- the daily scrum ---

    def standups(self) -> dict:
        project = self.project
        impediments = self.rows(Impediment.objects.filter(project=project), *_IMPEDIMENT_FIELDS)
        impediment_refs = {row["pk"]: n for n, row in enumerate(impediments, start=1)}
        impediment_ref = lookup(impediment_refs)
        meetings = self.rows(DailyScrum.objects.filter(project=project), *_MEETING_FIELDS)
        meeting_dates = {m["pk"]: date_text(m["date"]) for m in meetings}
        impediment_items = pairs(Impediment.items.through.objects.filter(impediment__project=project), "backlogitem_id")
        entry_items = pairs(Entry.items.through.objects.filter(entry__meeting__project=project), "backlogitem_id")
        entries: dict[int, list[dict]] = defaultdict(list)
        entry_rows = Entry.objects.filter(meeting__project=project).order_by("pk")
        for e in entry_rows.values(
            "pk", "meeting_id", "user_id", "done", "next", "blockers", "impediment_id", "created_at", "updated_at"
        ):
            entries[e["meeting_id"]].append(
                {
                    "user": self.user(e["user_id"]),
                    "done": e["done"],
                    "next": e["next"],
                    "blockers": e["blockers"],
                    "items": sorted((self.item_ref(i) for i in entry_items[e["pk"]]), key=key_number),
                    "impediment": impediment_ref(e["impediment_id"]),
                    "created_at": self.time(e["created_at"]),
                    "updated_at": self.time(e["updated_at"]),
                }
            )
        return {
            "meetings": [
                {
                    "date": date_text(m["date"]),
                    "sprint": self.sprint_ref(m["sprint_id"]),
                    "state": m["state"],
                    "started_at": self.time(m["started_at"]),
                    "ended_at": self.time(m["ended_at"]),
                    "facilitator": self.user(m["facilitator_id"]),
                    "speaking_order": [self.user(u) for u in map(to_int, m["speaking_order"] or []) if u is not None],
                    "attendance": Attendance(
                        (self.user(to_int(u)), bool(present))
                        for u, present in (m["attendance"] or {}).items()
                        if to_int(u) is not None
                    ),
                    "summary": map_scrum_summary(m["summary"], impediment=impediment_ref),
                    "entries": entries[m["pk"]],
                    "created_at": self.time(m["created_at"]),
                    "updated_at": self.time(m["updated_at"]),
                }
                for m in sorted(meetings, key=lambda row: row["date"])
            ],
            "impediments": [
                {
                    "ref": impediment_refs[i["pk"]],
                    "description": i["description"],
                    "state": i["state"],
                    "raised_by": self.user(i["raised_by_id"]),
                    "owner": self.user(i["owner_id"]),
                    "raised_on": date_text(i["raised_on"]),
                    "raised_in": meeting_dates.get(i["raised_in_id"]),
                    "resolved_at": self.time(i["resolved_at"]),
                    "resolved_by": self.user(i["resolved_by_id"]),
                    "resolved_on": date_text(i["resolved_on"]),
                    "items": sorted((self.item_ref(x) for x in impediment_items[i["pk"]]), key=key_number),
                    "created_at": self.time(i["created_at"]),
                    "updated_at": self.time(i["updated_at"]),
                }
                for i in impediments
            ],
        }

    # --- retrospectives ---

    def retrospectives(self) -> list[dict]:
        project = self.project
        retros = self.rows(Retrospective.objects.filter(project=project), *_RETRO_FIELDS)
        by_retro: dict[str, dict[int, list[dict]]] = {}
        for name, model, fields in _RETRO_PARTS:
            grouped: dict[int, list[dict]] = defaultdict(list)
            for row in self.rows(
                model._default_manager.filter(retrospective__project=project), "retrospective_id", *fields
            ):
                grouped[row["retrospective_id"]].append(row)
            by_retro[name] = grouped
        rows = []
        for ref, r in enumerate(retros, start=1):
            pk = r["pk"]
            groups = {g["pk"]: n for n, g in enumerate(by_retro["groups"][pk], start=1)}
            cards = {c["pk"]: n for n, c in enumerate(by_retro["cards"][pk], start=1)}
            card_ref, group_ref = lookup(cards), lookup(groups)
            anonymous = r["anonymous"]
            rows.append(
                {
                    "ref": ref,
                    "sprint": self.sprint_ref(r["sprint_id"]),
                    "title": r["title"],
                    "template": r["template"],
                    "columns": r["columns"],
                    "phase": r["phase"],
                    "anonymous": anonymous,
                    "votes_per_member": r["votes_per_member"],
                    "facilitator": self.user(r["facilitator_id"]),
                    "health_check": r["health_check"],
                    "summary": map_retro_summary(
                        r["summary"],
                        retro=constant(ref),
                        sprint=self.sprint_ref,
                        card=card_ref,
                        group=group_ref,
                    ),
                    "created_at": self.time(r["created_at"]),
                    "updated_at": self.time(r["updated_at"]),
                    "closed_at": self.time(r["closed_at"]),
                    "groups": [
                        {
                            "ref": groups[g["pk"]],
                            "title": g["title"],
                            "column": g["column"],
                            "created_at": self.time(g["created_at"]),
                            "updated_at": self.time(g["updated_at"]),
                        }
                        for g in by_retro["groups"][pk]
                    ],
                    # An anonymous retrospective's cards name no author, here as on every page.
                    "cards": [
                        {
                            "ref": cards[c["pk"]],
                            "column": c["column"],
                            "text": c["text"],
                            "author": None if anonymous else self.user(c["author_id"]),
                            "group": group_ref(c["group_id"]),
                            "created_at": self.time(c["created_at"]),
                            "updated_at": self.time(c["updated_at"]),
                        }
                        for c in by_retro["cards"][pk]
                    ],
                    "votes": [
                        {
                            "card": card_ref(v["card_id"]),
                            "group": group_ref(v["group_id"]),
                            "voter": self.user(v["voter_id"]),
                            "created_at": self.time(v["created_at"]),
                        }
                        for v in by_retro["votes"][pk]
                    ],
                    "notes": [
                        {
                            "card": card_ref(n["card_id"]),
                            "group": group_ref(n["group_id"]),
                            "text": n["text"],
                            "author": self.user(n["author_id"]),
                            "created_at": self.time(n["created_at"]),
                        }
                        for n in by_retro["notes"][pk]
                    ],
                    "action_items": [
                        {
                            "text": a["text"],
                            "owner": self.user(a["owner_id"]),
                            "due_date": date_text(a["due_date"]),
                            "backlog_item": self.item_ref(a["backlog_item_id"]),
                            "done": a["done"],
                            "created_at": self.time(a["created_at"]),
                            "updated_at": self.time(a["updated_at"]),
                        }
                        for a in by_retro["action_items"][pk]
                    ],
                    "health": [
                        {"member": self.user(h["member_id"]), "statement": h["statement"], "score": h["score"]}
                        for h in by_retro["health"][pk]
                    ],
                }
            )
        return rows

    # --- the roadmap ---

    def roadmap(self) -> dict:
        project = self.project
        phases = self.rows(Phase.objects.filter(project=project), *_PHASE_FIELDS)
        phase_refs = {p["pk"]: n for n, p in enumerate(phases, start=1)}
        phase_items = pairs(Phase.items.through.objects.filter(phase__project=project), "backlogitem_id")
        release_items: dict[int, list[dict]] = defaultdict(list)
        links = ReleaseItem.objects.filter(release__project=project).order_by("pk")
        for link in links.values("release_id", "item_id", "released"):
            release_items[link["release_id"]].append(
                {"item": self.item_ref(link["item_id"]), "released": link["released"]}
            )
        milestones = self.rows(Milestone.objects.filter(project=project), *_MILESTONE_FIELDS)
        releases = self.rows(Release.objects.filter(project=project), *_RELEASE_FIELDS)
        return {
            "phases": [
                {
                    "ref": phase_refs[p["pk"]],
                    "name": p["name"],
                    "goal": p["goal"],
                    "start_date": date_text(p["start_date"]),
                    "end_date": date_text(p["end_date"]),
                    "order": p["order"],
                    "status": p["status"],
                    "items": sorted((self.item_ref(i) for i in phase_items[p["pk"]]), key=key_number),
                    "created_at": self.time(p["created_at"]),
                    "updated_at": self.time(p["updated_at"]),
                }
                for p in phases
            ],
            "milestones": [
                {
                    "name": m["name"],
                    "date": date_text(m["date"]),
                    "done": m["done"],
                    "phase": phase_refs.get(m["phase_id"]),
                    "created_at": self.time(m["created_at"]),
                    "updated_at": self.time(m["updated_at"]),
                }
                for m in milestones
            ],
            "releases": [
                {
                    "version": r["version"],
                    "name": r["name"],
                    "phase": phase_refs.get(r["phase_id"]),
                    "target_date": date_text(r["target_date"]),
                    "status": r["status"],
                    "released_on": date_text(r["released_on"]),
                    "released_by": self.user(r["released_by_id"]),
                    "notes": r["notes"],
                    "notes_edited": r["notes_edited"],
                    "items": release_items[r["pk"]],
                    "created_at": self.time(r["created_at"]),
                    "updated_at": self.time(r["updated_at"]),
                }
                for r in releases
            ],
        }


_MEETING_FIELDS = (
    "date", "sprint_id", "state", "started_at", "ended_at", "facilitator_id", "speaking_order", "attendance",
    "summary", "created_at", "updated_at",
)  # fmt: skip
_IMPEDIMENT_FIELDS = (
    "description", "state", "raised_by_id", "owner_id", "raised_on", "raised_in_id", "resolved_at",
    "resolved_by_id", "resolved_on", "created_at", "updated_at",
)  # fmt: skip
_RETRO_FIELDS = (
    "sprint_id", "title", "template", "columns", "phase", "anonymous", "votes_per_member", "facilitator_id",
    "health_check", "summary", "created_at", "updated_at", "closed_at",
)  # fmt: skip
_RETRO_PARTS: list[tuple[str, type[Model], tuple[str, ...]]] = [
    ("groups", CardGroup, ("title", "column", "created_at", "updated_at")),
    ("cards", Card, ("column", "text", "author_id", "group_id", "created_at", "updated_at")),
    ("votes", Vote, ("card_id", "group_id", "voter_id", "created_at")),
    ("notes", DiscussionNote, ("card_id", "group_id", "text", "author_id", "created_at")),
    (
        "action_items",
        ActionItem,
        ("text", "owner_id", "due_date", "backlog_item_id", "done", "created_at", "updated_at"),
    ),
    ("health", HealthRating, ("member_id", "statement", "score")),
]
_PHASE_FIELDS = ("name", "goal", "start_date", "end_date", "order", "status", "created_at", "updated_at")
_MILESTONE_FIELDS = ("name", "date", "done", "phase_id", "created_at", "updated_at")
_RELEASE_FIELDS = (
    "version", "name", "phase_id", "target_date", "status", "released_on", "released_by_id", "notes",
    "notes_edited", "created_at", "updated_at",
)  # fmt: skip
