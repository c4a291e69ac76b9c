"""The export's document: the project, its people, backlog and sprints (meetings: ``meetings.py``)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from backlog.models import BacklogItem, Comment, ItemCounter, ItemEvent, ItemLink, Label, Status
from integrations.exporting.meetings import MeetingsExport
from integrations.exporting.refs import (
    Attendance,
    Names,
    UserRef,
    date_text,
    decimal_text,
    key_number,
    lookup,
    map_event_values,
    map_sprint_report,
    pairs,
)
from projects.models import Project
from roles.models import Membership, Role
from sprints.models import CommittedItem, DaysOff, Sprint

FORMAT = "scrumboard-export"
VERSION = 1
# Project settings carried over by a restore (the name stays the new project's own).
PROJECT_FIELDS = (
    "description",
    "product_goal",
    "timezone",
    "sprint_length_days",
    "daily_scrum_time",
    "daily_scrum_minutes",
    "working_days",
    "definition_of_done",
    "definition_of_ready",
)


class _Exporter(MeetingsExport):
    """Builds the document: one query per table, rows grouped in Python, people named last."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.tz = project.tzinfo
        self.user_ids: set[int] = set()
        self.usernames: dict[int, str] = {}

    # Users are collected while the document is built and named at the end (one query).
    def user(self, user_id: int | None) -> Any:
        if user_id is None:
            return None
        self.user_ids.add(user_id)
        return UserRef(user_id)

    def time(self, value: datetime.datetime | None) -> str | None:
        return None if value is None else value.astimezone(self.tz).isoformat()

    def rows(self, queryset: QuerySet, *fields: str) -> list[dict]:
        return list(queryset.order_by("pk").values("pk", *fields))

    def build(self) -> dict:
        project = self.project
        statuses = self.rows(Status.objects.filter(project=project), "name", "category", "order", "wip_limit")
        status_names = {s["pk"]: s["name"] for s in statuses}
        items = self.rows(BacklogItem.objects.filter(project=project), *_ITEM_FIELDS)
        item_keys = {i["pk"]: f"{project.key}-{i['number']}" for i in items}
        sprints = self.rows(Sprint.objects.filter(project=project), *_SPRINT_FIELDS)
        sprint_numbers = {s["pk"]: s["number"] for s in sprints}
        self.status_ref, self.sprint_ref = lookup(status_names), lookup(sprint_numbers)
        self.item_ref = lookup(item_keys)
        counter = ItemCounter.objects.filter(project=project).values_list("last_number", flat=True).first()
        document = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().astimezone(self.tz).isoformat(),
            "project": {
                "key": project.key,
                "name": project.name,
                **{name: _setting(getattr(project, name)) for name in PROJECT_FIELDS},
                "last_item_number": counter or 0,
                "created_at": self.time(project.created_at),
            },
            "roles": [
                {k: r[k] for k in ("slug", "name", "permissions", "order", "estimates_points")}
                for r in self.rows(Role.objects.filter(project=project), *_ROLE_FIELDS)
            ],
            "members": self.members(),
            "people": [],
            "statuses": [{k: s[k] for k in ("name", "category", "order", "wip_limit")} for s in statuses],
            "labels": [{"name": name} for name in Label.objects.filter(project=project).values_list("name", flat=True)],
            **self.items(items),
            "sprints": self.sprints(sprints),
            "standups": self.standups(),
            "retrospectives": self.retrospectives(),
            "roadmap": self.roadmap(),
        }
        return self.name_people(document)

    def members(self) -> list[dict]:
        memberships = (
            Membership.objects.filter(project=self.project)
            .select_related("user", "role")
            .order_by("role__order", "user__username")
        )
        rows = []
        for m in memberships:
            self.usernames[m.user_id] = m.user.get_username()
            rows.append(
                {
                    "username": m.user.get_username(),
                    "email": m.user.email,
                    "name": m.user.get_full_name(),
                    "role": m.role.slug,
                    "is_admin": m.is_admin,
                    "joined_at": self.time(m.joined_at),
                }
            )
        return rows

    # --- the backlog ---

    def items(self, items: list[dict]) -> dict:
        project = self.project
        labels = dict(Label.objects.filter(project=project).values_list("pk", "name"))
        item_labels = pairs(BacklogItem.labels.through.objects.filter(backlogitem__project=project), "label_id")
        watchers = pairs(BacklogItem.watchers.through.objects.filter(backlogitem__project=project), "user_id")
        links: dict[int, list[dict]] = defaultdict(list)
        for link in self.rows(ItemLink.objects.filter(source__project=project), "source_id", "target_id", "kind"):
            links[link["source_id"]].append({"kind": link["kind"], "target": self.item_ref(link["target_id"])})
        mentions = pairs(
            Comment.mentions.through.objects.filter(comment__item__project=project), "user_id", "comment_id"
        )
        comments: dict[int, list[dict]] = defaultdict(list)
        comment_rows = Comment.objects.filter(item__project=project).order_by("created_at", "pk")
        for c in comment_rows.values("pk", "item_id", "author_id", "body", "created_at", "edited_at"):
            comments[c["item_id"]].append(
                {
                    "author": self.user(c["author_id"]),
                    "body": c["body"],
                    "mentions": Names(self.user(u) for u in mentions[c["pk"]]),
                    "created_at": self.time(c["created_at"]),
                    "edited_at": self.time(c["edited_at"]),
                }
            )
        history: dict[int, list[dict]] = defaultdict(list)
        deleted_numbers: dict[int, int] = {}
        events = ItemEvent.objects.filter(project=project).order_by("at", "pk")
        for e in events.values("item_id", "item_number", "actor_id", "at", "kind", "field", "old", "new"):
            old, new = map_event_values(
                e["kind"], e["field"], e["old"], e["new"], status=self.status_ref, sprint=self.sprint_ref
            )
            history[e["item_id"]].append(
                {
                    "actor": self.user(e["actor_id"]),
                    "at": self.time(e["at"]),
                    "kind": e["kind"],
                    "field": e["field"],
                    "old": old,
                    "new": new,
                }
            )
            if self.item_ref(e["item_id"]) is None:
                deleted_numbers[e["item_id"]] = e["item_number"]
        rows = []
        for i in sorted(items, key=lambda row: row["number"]):
            pk = i["pk"]
            rows.append(
                {
                    "key": self.item_ref(pk),
                    "number": i["number"],
                    "type": i["type"],
                    "title": i["title"],
                    "description": i["description"],
                    "acceptance_criteria": i["acceptance_criteria"],
                    "status": self.status_ref(i["status_id"]),
                    "priority": i["priority"],
                    "labels": sorted(labels[label] for label in item_labels[pk]),
                    "assignee": self.user(i["assignee_id"]),
                    "reporter": self.user(i["reporter_id"]),
                    "parent": self.item_ref(i["parent_id"]),
                    "sprint": self.sprint_ref(i["sprint_id"]),
                    "estimate": i["estimate"],
                    "points": decimal_text(i["points"]),
                    "role_points": i["role_points"],
                    "due_date": date_text(i["due_date"]),
                    "ready": i["ready"],
                    "impeded": i["impeded"],
                    "done_checklist": i["done_checklist"],
                    "watchers": Names(self.user(u) for u in watchers[pk]),
                    "rank": i["rank"],
                    "created_at": self.time(i["created_at"]),
                    "updated_at": self.time(i["updated_at"]),
                    "links": sorted(links[pk], key=lambda link: (link["kind"], key_number(link["target"]))),
                    "comments": comments[pk],
                    "history": history[pk],
                }
            )
        # Deleted items keep their history (reports replay it) and their place in past commitments.
        deleted = [
            {"number": number, "history": history[pk]}
            for pk, number in sorted(deleted_numbers.items(), key=lambda pair: pair[1])
        ]
        self.deleted_keys = {pk: f"{project.key}-{number}" for pk, number in deleted_numbers.items()}
        return {"items": rows, "deleted_items": deleted}

    def any_item(self, pk: int) -> str | None:
        """An item's key, deleted ones included (commitments keep them)."""
        return self.item_ref(pk) or self.deleted_keys.get(pk)

    # --- sprints ---

    def sprints(self, sprints: list[dict]) -> list[dict]:
        project = self.project
        feedback = pairs(Sprint.feedback_items.through.objects.filter(sprint__project=project), "backlogitem_id")
        commitment: dict[int, list[dict]] = defaultdict(list)
        committed = CommittedItem.objects.filter(sprint__project=project).order_by("item_number", "pk")
        for c in committed.values("sprint_id", "item_id", "item_number", "title", "points", "role_points", "assignee"):
            commitment[c["sprint_id"]].append(
                {
                    "item": self.any_item(c["item_id"]) or f"{project.key}-{c['item_number']}",
                    "title": c["title"],
                    "points": decimal_text(c["points"]),
                    "role_points": c["role_points"],
                    "assignee": c["assignee"],
                }
            )
        days_off: dict[int, list[dict]] = defaultdict(list)
        for d in self.rows(DaysOff.objects.filter(sprint__project=project), "sprint_id", "user_id", "days"):
            days_off[d["sprint_id"]].append({"user": self.user(d["user_id"]), "days": d["days"]})
        rows = []
        for s in sorted(sprints, key=lambda row: row["number"]):
            pk = s["pk"]
            rows.append(
                {
                    "number": s["number"],
                    "name": s["name"],
                    "goal": s["goal"],
                    "start_date": date_text(s["start_date"]),
                    "end_date": date_text(s["end_date"]),
                    "state": s["state"],
                    "started_at": self.time(s["started_at"]),
                    "started_by": self.user(s["started_by_id"]),
                    "completed_at": self.time(s["completed_at"]),
                    "completed_by": self.user(s["completed_by_id"]),
                    "goal_outcome": s["goal_outcome"],
                    "goal_note": s["goal_note"],
                    "report": map_sprint_report(s["report"], sprint=self.sprint_ref),
                    "committed_points": decimal_text(s["committed_points"]),
                    "completed_points": decimal_text(s["completed_points"]),
                    "available_days": s["available_days"],
                    "feedback_items": sorted((self.item_ref(i) for i in feedback[pk]), key=key_number),
                    "commitment": commitment[pk],
                    "days_off": days_off[pk],
                    "created_at": self.time(s["created_at"]),
                    "updated_at": self.time(s["updated_at"]),
                }
            )
        return rows

    # --- people ---

    def name_people(self, document: dict) -> dict:
        """Replaces the collected user references by usernames; lists non-members under ``people``."""
        others = self.user_ids - set(self.usernames)
        if others:
            users = get_user_model().objects.filter(pk__in=others).order_by(get_user_model().USERNAME_FIELD)
            for user in users:
                self.usernames[user.pk] = user.get_username()
                document["people"].append(
                    {"username": user.get_username(), "email": user.email, "name": user.get_full_name()}
                )
        return resolve_users(document, self.usernames)


def resolve_users(value: Any, usernames: dict[int, str]) -> Any:
    if isinstance(value, UserRef):
        return usernames.get(int(value))
    if isinstance(value, Names):
        return sorted(name for name in (usernames.get(int(v)) for v in value) if name)
    if isinstance(value, Attendance):
        return dict(sorted((usernames[int(u)], present) for u, present in value if int(u) in usernames))
    if isinstance(value, dict):
        return {k: resolve_users(v, usernames) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_users(v, usernames) for v in value]
    return value


def _setting(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.time) else value


_ROLE_FIELDS = ("slug", "name", "permissions", "order", "estimates_points")
_ITEM_FIELDS = (
    "number", "type", "title", "description", "acceptance_criteria", "status_id", "priority", "assignee_id",
    "reporter_id", "parent_id", "sprint_id", "estimate", "points", "role_points", "due_date", "ready", "impeded",
    "done_checklist", "rank", "created_at", "updated_at",
)  # fmt: skip
_SPRINT_FIELDS = (
    "number", "name", "goal", "start_date", "end_date", "state", "started_at", "started_by_id", "completed_at",
    "completed_by_id", "goal_outcome", "goal_note", "report", "committed_points", "completed_points",
    "available_days", "created_at", "updated_at",
)  # fmt: skip


def export_project(project: Project) -> dict:
    """The project as a JSON-ready document (see the package's docstring)."""
    return _Exporter(project).build()


def export_filename(project: Project) -> str:
    return f"{project.key}-{timezone.localdate(timezone=project.tzinfo).isoformat()}.json"
