"""Writing a checked export (``scrumboard_document.Document``) into an empty project, table by table.

Bulk inserts in batches, so the number of queries grows with the number of tables and batches,
not rows. Inserts cannot keep ``auto_now_add`` / ``auto_now`` times, so a second bulk update puts
the original ones back. Ids inside stored JSON become the new rows' ids; item keys inside it
take the new project's key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backlog.models import BacklogItem, Comment, ItemCounter, ItemEvent, ItemLink, Label, Status
from integrations.exporting import (
    PROJECT_FIELDS,
    map_event_values,
    map_retro_summary,
    map_scrum_summary,
    map_sprint_report,
)
from integrations.exporting.refs import constant
from integrations.importing.scrumboard_document import Document
from projects.models import Project
from retrospectives.models import ActionItem, Card, CardGroup, DiscussionNote, HealthRating, Retrospective, Vote
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from roles import policy
from roles.models import Permission, Role
from sprints.models import CommittedItem, DaysOff, Sprint
from standups.models import DailyScrum, Entry, Impediment

BATCH = 500
Progress = Callable[[int, int], None]


def _bulk(model, rows: list, *, timestamps: tuple[str, ...] = ()) -> list:
    """bulk_create, then the original times (auto_now_add / auto_now overwrite them on insert)."""
    originals = [{name: getattr(row, name) for name in timestamps} for row in rows]
    created = model.objects.bulk_create(rows, batch_size=BATCH)
    if timestamps and created:
        for row, values in zip(created, originals, strict=True):
            for name, value in values.items():
                setattr(row, name, value)
        model.objects.bulk_update(created, list(timestamps), batch_size=BATCH)
    return created


CREATED = ("created_at",)
STAMPED = ("created_at", "updated_at")


class Restore:
    def __init__(self, project: Project, doc: Document, people: Any, progress: Progress, *, actor=None) -> None:
        self.project = project
        self.doc = doc
        self.progress = progress
        self.people = people  # scrumboard_source.People: username -> member
        self.done = 0
        self.total = sum(doc.counts().values())
        # What the person restoring could not change by hand stays as it is (None: a system restore).
        self.may_configure = actor is None or policy.can(actor, project, Permission.MANAGE_PROJECT)
        self.may_add_roles = actor is None or policy.can(actor, project, policy.ADMINISTER)
        self.notes: list[str] = []
        old = re.escape(doc.project["key"])
        self._key = re.compile(rf"^{old}-(\d+)$")

    def step(self, count: int) -> None:
        self.done += count
        self.progress(min(self.done, self.total), self.total)

    def rekey(self, value: Any) -> Any:
        """Item keys inside stored JSON under the new project's key."""
        if isinstance(value, str):
            match = self._key.match(value)
            return f"{self.project.key}-{match.group(1)}" if match else value
        if isinstance(value, dict):
            return {k: self.rekey(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rekey(v) for v in value]
        return value

    def run(self) -> dict:
        self.progress(0, self.total)
        self.write_project()
        self.write_roles()
        self.write_workflow()
        self.write_sprints()
        self.write_items()
        self.write_item_parts()
        self.write_sprint_parts()
        self.write_standups()
        self.write_retrospectives()
        self.write_roadmap()
        self.progress(self.total, self.total)
        return {
            "created": len(self.doc.items),
            "updated": 0,
            "counts": self.doc.counts(),
            "people": {"matched": self.people.matched, "unmatched": self.people.unmatched},
            "skipped": self.doc.left_out(set(self.people.unmatched)),
            "notes": self.notes,
        }

    # --- the project, roles, workflow, labels ---

    def write_project(self) -> None:
        settings = {name: self.doc.project[name] for name in PROJECT_FIELDS}
        if not self.may_configure:
            settings = {}
            self.notes.append(_("The project's settings were kept: changing them takes “Manage project settings”."))
        for name, value in settings.items():  # checked by read_document
            setattr(self.project, name, value)
        created_at = self.doc.project["created_at"] or self.project.created_at
        Project.objects.filter(pk=self.project.pk).update(**settings, created_at=created_at)
        ItemCounter.objects.update_or_create(project=self.project, defaults={"last_number": self.doc.last_item_number})

    def write_roles(self) -> None:
        existing = set(Role.objects.filter(project=self.project).values_list("slug", flat=True))
        names = set(Role.objects.filter(project=self.project).values_list("name", flat=True))
        # Roles the project lacks are added (nobody holds them); existing ones keep their permissions.
        missing = [
            Role(project=self.project, **role)
            for role in self.doc.roles
            if role["slug"] not in existing and role["name"] not in names
        ]
        if missing and not self.may_add_roles:
            count = len(missing)
            self.notes.append(
                ngettext(
                    "%(count)d role was not added: adding roles takes an administrator.",
                    "%(count)d roles were not added: adding roles takes an administrator.",
                    count,
                )
                % {"count": count}
            )
            return
        _bulk(Role, missing)

    def write_workflow(self) -> None:
        current = {s.name: s for s in Status.objects.filter(project=self.project)}
        wanted = {s["name"] for s in self.doc.statuses}
        # The project is empty: statuses the export does not have can go.
        Status.objects.filter(project=self.project).exclude(name__in=wanted).delete()
        update: list[Status] = []
        create: list[Status] = []
        for row in self.doc.statuses:
            status = current.get(row["name"]) or Status(project=self.project, name=row["name"])
            status.category, status.order, status.wip_limit = row["category"], row["order"], row["wip_limit"]
            (update if status.pk else create).append(status)
        Status.objects.bulk_update(update, ["category", "order", "wip_limit"])
        Status.objects.bulk_create(create)
        self.statuses = {s.name: s.pk for s in Status.objects.filter(project=self.project)}
        have = set(Label.objects.filter(project=self.project).values_list("name", flat=True))
        Label.objects.bulk_create([Label(project=self.project, name=n) for n in self.doc.labels if n not in have])
        self.labels = dict(Label.objects.filter(project=self.project).values_list("name", "pk"))
        self.step(len(self.doc.statuses) + len(self.doc.labels))

    # --- sprints and items ---

    def write_sprints(self) -> None:
        user = self.people.pk
        rows = [
            Sprint(
                project=self.project,
                **{k: s[k] for k in _SPRINT_COPY},
                started_by_id=user(s["started_by"]),
                completed_by_id=user(s["completed_by"]),
                created_at=s["created_at"],
                updated_at=s["updated_at"],
            )
            for s in self.doc.sprints
        ]
        created = _bulk(Sprint, rows)
        self.sprints = {s.number: s.pk for s in created}
        sprint_id = self.sprints.get
        for sprint, source in zip(created, self.doc.sprints, strict=True):
            sprint.report = self.rekey(map_sprint_report(source["report"], sprint=sprint_id))
            sprint.created_at, sprint.updated_at = source["created_at"], source["updated_at"]
        Sprint.objects.bulk_update(created, ["report", "created_at", "updated_at"], batch_size=BATCH)
        self.step(len(rows))

    def write_items(self) -> None:
        user = self.people.pk
        rows = [
            BacklogItem(
                project=self.project,
                **{k: i[k] for k in _ITEM_COPY},
                status_id=self.statuses[i["status"]],
                assignee_id=user(i["assignee"]),
                reporter_id=user(i["reporter"]),
                sprint_id=self.sprints.get(i["sprint"]),
            )
            for i in self.doc.items
        ]
        created = BacklogItem.objects.bulk_create(rows, batch_size=BATCH)
        self.items = {item.number: item.pk for item in created}
        for item, source in zip(created, self.doc.items, strict=True):
            item.parent_id = self.items.get(source["parent"])
            item.created_at, item.updated_at = source["created_at"], source["updated_at"]
        BacklogItem.objects.bulk_update(created, ["parent", "created_at", "updated_at"], batch_size=BATCH)
        self.step(len(rows))
        # Deleted items: their history and commitments need an id no live item has, as they had.
        gone = sorted(self.doc.deleted_numbers())
        if gone:
            any_status = next(iter(self.statuses.values()))
            placeholders = BacklogItem.objects.bulk_create(
                [
                    BacklogItem(project=self.project, number=n, title="", status_id=any_status, rank=f"~deleted~{n}")
                    for n in gone
                ]
            )
            self.items.update({item.number: item.pk for item in placeholders})
            BacklogItem.objects.filter(pk__in=[item.pk for item in placeholders]).delete()

    def write_item_parts(self) -> None:
        doc, item, user = self.doc, self.items, self.people.pk
        label_rows, watcher_rows, links, comments, mentions, events = [], [], [], [], [], []
        status_pk = {name: pk for name, pk in self.statuses.items()}
        for source in doc.items:
            pk = item[source["number"]]
            label_rows += [
                BacklogItem.labels.through(backlogitem_id=pk, label_id=self.labels[n]) for n in source["labels"]
            ]
            watchers = {user(name) for name in source["watchers"]} - {None}
            watcher_rows += [BacklogItem.watchers.through(backlogitem_id=pk, user_id=u) for u in sorted(watchers)]
            links += [
                ItemLink(source_id=pk, target_id=item[link["target"]], kind=link["kind"]) for link in source["links"]
            ]
            for c in source["comments"]:
                comments.append(
                    Comment(
                        item_id=pk,
                        author_id=user(c["author"]),
                        body=c["body"],
                        created_at=c["created_at"],
                        edited_at=c["edited_at"],
                    )
                )
                mentions.append(sorted({user(name) for name in c["mentions"]} - {None}))
        for number, history in doc.histories():
            for e in history:
                old, new = map_event_values(
                    e["kind"], e["field"], e["old"], e["new"], status=status_pk.get, sprint=self.sprints.get
                )
                events.append(
                    ItemEvent(
                        project=self.project,
                        item_id=item[number],
                        item_number=number,
                        actor_id=user(e["actor"]),
                        at=e["at"],
                        kind=e["kind"],
                        field=e["field"],
                        old=self.rekey(old),
                        new=self.rekey(new),
                    )
                )
        BacklogItem.labels.through.objects.bulk_create(label_rows, batch_size=BATCH)
        BacklogItem.watchers.through.objects.bulk_create(watcher_rows, batch_size=BATCH)
        ItemLink.objects.bulk_create(links, batch_size=BATCH)
        created = _bulk(Comment, comments, timestamps=CREATED)
        Comment.mentions.through.objects.bulk_create(
            [
                Comment.mentions.through(comment_id=c.pk, user_id=u)
                for c, users in zip(created, mentions, strict=True)
                for u in users
            ],
            batch_size=BATCH,
        )
        self.step(len(comments) + len(links))
        # Ids in time order, as the original's were (history is read ordered by time, then id).
        events.sort(key=lambda event: event.at)
        for start in range(0, len(events), BATCH):
            ItemEvent.objects.bulk_create(events[start : start + BATCH])
            self.step(len(events[start : start + BATCH]))

    def write_sprint_parts(self) -> None:
        feedback, commitment, days_off = [], [], []
        for s in self.doc.sprints:
            pk = self.sprints[s["number"]]
            feedback += [
                Sprint.feedback_items.through(sprint_id=pk, backlogitem_id=self.items[n]) for n in s["feedback_items"]
            ]
            commitment += [
                CommittedItem(
                    sprint_id=pk,
                    item_id=self.items[c["item"]],
                    item_number=c["item"],
                    title=c["title"],
                    points=c["points"],
                    role_points=c["role_points"],
                    assignee=c["assignee"],
                )
                for c in s["commitment"]
            ]
            seen: set[int] = set()
            for d in s["days_off"]:
                user = self.people.pk(d["user"])
                if user is not None and user not in seen:
                    seen.add(user)
                    days_off.append(DaysOff(sprint_id=pk, user_id=user, days=d["days"]))
        Sprint.feedback_items.through.objects.bulk_create(feedback, batch_size=BATCH)
        CommittedItem.objects.bulk_create(commitment, batch_size=BATCH)
        DaysOff.objects.bulk_create(days_off, batch_size=BATCH)
        self.step(len(commitment))

    # --- the daily scrum ---

    def write_standups(self) -> None:
        user = self.people.pk
        meetings = _bulk(
            DailyScrum,
            [
                DailyScrum(
                    project=self.project,
                    sprint_id=self.sprints[m["sprint"]],
                    date=m["date"],
                    state=m["state"],
                    started_at=m["started_at"],
                    ended_at=m["ended_at"],
                    facilitator_id=user(m["facilitator"]),
                    speaking_order=[u for u in map(user, m["speaking_order"]) if u is not None],
                    attendance={str(user(name)): present for name, present in m["attendance"].items() if user(name)},
                )
                for m in self.doc.meetings
            ],
        )
        by_date = {m.date: m.pk for m in meetings}
        impediments = _bulk(
            Impediment,
            [
                Impediment(
                    project=self.project,
                    **{k: i[k] for k in ("description", "state", "raised_on", "resolved_at", "resolved_on")},
                    raised_by_id=user(i["raised_by"]),
                    owner_id=user(i["owner"]),
                    raised_in_id=by_date.get(i["raised_in"]),
                    resolved_by_id=user(i["resolved_by"]),
                    created_at=i["created_at"],
                    updated_at=i["updated_at"],
                )
                for i in self.doc.impediments
            ],
            timestamps=STAMPED,
        )
        refs = {i["ref"]: row.pk for i, row in zip(self.doc.impediments, impediments, strict=True)}
        Impediment.items.through.objects.bulk_create(
            [
                Impediment.items.through(impediment_id=refs[i["ref"]], backlogitem_id=self.items[n])
                for i in self.doc.impediments
                for n in i["items"]
            ],
            batch_size=BATCH,
        )
        entries, entry_items = [], []
        for meeting, source in zip(meetings, self.doc.meetings, strict=True):
            meeting.summary = map_scrum_summary(source["summary"], impediment=refs.get)
            meeting.created_at, meeting.updated_at = source["created_at"], source["updated_at"]
            seen: set[int] = set()
            for e in source["entries"]:
                who = user(e["user"])
                if who is None or who in seen:
                    continue
                seen.add(who)
                entries.append(
                    Entry(
                        meeting_id=meeting.pk,
                        user_id=who,
                        **{k: e[k] for k in ("done", "next", "blockers", "created_at", "updated_at")},
                        impediment_id=refs.get(e["impediment"]),
                    )
                )
                entry_items.append(e["items"])
        DailyScrum.objects.bulk_update(meetings, ["summary", "created_at", "updated_at"], batch_size=BATCH)
        created = _bulk(Entry, entries, timestamps=STAMPED)
        Entry.items.through.objects.bulk_create(
            [
                Entry.items.through(entry_id=entry.pk, backlogitem_id=self.items[n])
                for entry, numbers in zip(created, entry_items, strict=True)
                for n in numbers
            ],
            batch_size=BATCH,
        )
        self.step(len(meetings) + len(entries) + len(impediments))

    # --- retrospectives ---

    def write_retrospectives(self) -> None:
        user = self.people.pk
        retros = _bulk(
            Retrospective,
            [
                Retrospective(
                    project=self.project,
                    sprint_id=self.sprints.get(r["sprint"]),
                    **{k: r[k] for k in _RETRO_COPY},
                    facilitator_id=user(r["facilitator"]),
                )
                for r in self.doc.retrospectives
            ],
        )
        groups, cards = [], []
        for retro, r in zip(retros, self.doc.retrospectives, strict=True):
            groups += [
                CardGroup(
                    retrospective_id=retro.pk, **{k: g[k] for k in ("title", "column", "created_at", "updated_at")}
                )
                for g in r["groups"]
            ]
        groups = _bulk(CardGroup, groups, timestamps=STAMPED)
        group_ids: dict[tuple[int, int], int] = {}
        position = 0
        for retro, r in zip(retros, self.doc.retrospectives, strict=True):
            for g in r["groups"]:
                group_ids[(r["ref"], g["ref"])] = groups[position].pk
                position += 1
            cards += [
                Card(
                    retrospective_id=retro.pk,
                    **{k: c[k] for k in ("column", "text", "created_at", "updated_at")},
                    author_id=user(c["author"]),
                    group_id=group_ids.get((r["ref"], c["group"])),
                )
                for c in r["cards"]
            ]
        cards = _bulk(Card, cards, timestamps=STAMPED)
        card_ids: dict[tuple[int, int], int] = {}
        position = 0
        votes, notes, actions, health = [], [], [], []
        for retro, r in zip(retros, self.doc.retrospectives, strict=True):
            ref = r["ref"]
            for c in r["cards"]:
                card_ids[(ref, c["ref"])] = cards[position].pk
                position += 1
            card_id = lambda n, ref=ref: card_ids.get((ref, n))  # noqa: E731 (bound per retrospective)
            group_id = lambda n, ref=ref: group_ids.get((ref, n))  # noqa: E731
            votes += [
                Vote(
                    retrospective_id=retro.pk,
                    card_id=card_id(v["card"]),
                    group_id=group_id(v["group"]),
                    voter_id=user(v["voter"]),
                    created_at=v["created_at"],
                )
                for v in r["votes"]
                if user(v["voter"]) is not None
            ]
            notes += [
                DiscussionNote(
                    retrospective_id=retro.pk,
                    card_id=card_id(n["card"]),
                    group_id=group_id(n["group"]),
                    text=n["text"],
                    author_id=user(n["author"]),
                    created_at=n["created_at"],
                )
                for n in r["notes"]
            ]
            actions += [
                ActionItem(
                    retrospective_id=retro.pk,
                    **{k: a[k] for k in ("text", "due_date", "done", "created_at", "updated_at")},
                    owner_id=user(a["owner"]),
                    backlog_item_id=self.items.get(a["backlog_item"]),
                )
                for a in r["action_items"]
            ]
            seen: set[tuple[int, str]] = set()
            for h in r["health"]:
                member = user(h["member"])
                if member is not None and (member, h["statement"]) not in seen:
                    seen.add((member, h["statement"]))
                    health.append(
                        HealthRating(
                            retrospective_id=retro.pk, member_id=member, statement=h["statement"], score=h["score"]
                        )
                    )
            retro.summary = self.rekey(
                map_retro_summary(
                    r["summary"],
                    retro=constant(retro.pk),
                    sprint=self.sprints.get,
                    card=card_id,
                    group=group_id,
                )
            )
            retro.created_at, retro.updated_at = r["created_at"], r["updated_at"]
        Retrospective.objects.bulk_update(retros, ["summary", "created_at", "updated_at"], batch_size=BATCH)
        _bulk(Vote, votes, timestamps=CREATED)
        _bulk(DiscussionNote, notes, timestamps=CREATED)
        _bulk(ActionItem, actions, timestamps=STAMPED)
        HealthRating.objects.bulk_create(health, batch_size=BATCH)
        self.step(len(retros) + len(cards) + len(votes) + len(actions))

    # --- the roadmap ---

    def write_roadmap(self) -> None:
        doc = self.doc
        phases = _bulk(
            Phase,
            [Phase(project=self.project, **{k: p[k] for k in _PHASE_COPY}) for p in doc.phases],
            timestamps=STAMPED,
        )
        refs = {p["ref"]: row.pk for p, row in zip(doc.phases, phases, strict=True)}
        Phase.items.through.objects.bulk_create(
            [
                Phase.items.through(phase_id=refs[p["ref"]], backlogitem_id=self.items[n])
                for p in doc.phases
                for n in p["items"]
            ],
            batch_size=BATCH,
        )
        _bulk(
            Milestone,
            [
                Milestone(
                    project=self.project,
                    phase_id=refs.get(m["phase"]),
                    **{k: m[k] for k in ("name", "date", "done", "created_at", "updated_at")},
                )
                for m in doc.milestones
            ],
            timestamps=STAMPED,
        )
        releases = _bulk(
            Release,
            [
                Release(
                    project=self.project,
                    phase_id=refs.get(r["phase"]),
                    released_by_id=self.people.pk(r["released_by"]),
                    **{k: r[k] for k in _RELEASE_COPY},
                )
                for r in doc.releases
            ],
            timestamps=STAMPED,
        )
        ReleaseItem.objects.bulk_create(
            [
                ReleaseItem(release_id=release.pk, item_id=self.items[link["item"]], released=link["released"])
                for release, r in zip(releases, doc.releases, strict=True)
                for link in r["items"]
            ],
            batch_size=BATCH,
        )
        self.step(len(phases) + len(doc.milestones) + len(releases))


_SPRINT_COPY = (
    "number", "name", "goal", "start_date", "end_date", "state", "started_at", "completed_at", "goal_outcome",
    "goal_note", "committed_points", "completed_points", "available_days",
)  # fmt: skip
_ITEM_COPY = (
    "number", "type", "title", "description", "acceptance_criteria", "priority", "estimate", "points", "role_points",
    "due_date", "ready", "impeded", "done_checklist", "rank",
)  # fmt: skip
_RETRO_COPY = (
    "title", "template", "columns", "phase", "anonymous", "votes_per_member", "health_check", "closed_at",
    "created_at", "updated_at",
)  # fmt: skip
_PHASE_COPY = ("name", "goal", "start_date", "end_date", "order", "status", "created_at", "updated_at")
_RELEASE_COPY = (
    "version", "name", "target_date", "status", "released_on", "notes", "notes_edited", "created_at", "updated_at",
)  # fmt: skip
