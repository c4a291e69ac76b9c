"""The sprints benchmark: board, burndown, review report, velocity and forecast on big sprints.

    .venv/bin/python -m tests.bench.sprints [--quick] [--keep-db] [--output PATH]

Like the backlog benchmark it runs against the configured database's kind (DATABASE_URL;
SQLite when unset) in a throwaway database (``scrumboard_bench`` on that PostgreSQL server, or
a SQLite file in a temporary directory), migrated and seeded anew. Two projects:

- BOARD: an active sprint of 300 items (a card per item, in every status, with assignees,
  labels and parent stories for the swimlanes) and 12,000 activity events behind it;
- BENCH: 50 completed sprints (40 items each, with their history), an active sprint of
  500 items with 20,000 activity events over its two weeks, and 3,000 unfinished items in
  the product backlog (the forecast's remaining points).

The activity log is written as the services write it (the JSON of ``backlog.services``'
``_snapshot``, ``history_event`` and ``move_item``): items created before the sprint or in
it, planned in, added and removed mid-sprint, taken through the statuses (some re-opened),
re-estimated, re-ranked, edited, their Definition of Done checked. Rows go in with
``bulk_create``: seeding is the setup, not the subject.

Measured in process (median of several calls, queries per call): the selectors
(``sprint_board``, ``board_version``, ``sprint_burndown``, ``sprint_report``, ``sprint_capacity``,
``velocity``, ``forecast``, a completion rolled back) and the endpoints through Django's test
client with the whole middleware stack (API, and the pages where they exist). It reports
figures and never fails on them; the report is printed and written to
``var/bench/sprints-<vendor>.md`` with the plan of each row's slowest query.
"""

import datetime
import random
import sys
import zoneinfo
from dataclasses import dataclass, field

# Shared with the backlog benchmark: the report's header and Ctrl-C/SIGTERM handling.
from tests.bench import harness
from tests.bench.backlog import _load_average, report_head

BOARD_KEY, BOARD_ITEMS, BOARD_EVENTS = "BOARD", 300, 12_000
REPORT_KEY, REPORT_ITEMS, REPORT_EVENTS = "BENCH", 500, 20_000
COMPLETED_SPRINTS, COMPLETED_ITEMS = 50, 40
BACKLOG_ITEMS = 3_000
FORECAST_POINTS = 500  # "when is this release done?": the roadmap's question
TZ = zoneinfo.ZoneInfo("Asia/Almaty")  # the projects' (default) time zone
SCALE, SCALE_WEIGHTS = ["1", "2", "3", "5", "8", "13"], [10, 20, 25, 25, 15, 5]
BATCH = 2000
_UNSET = object()


@dataclass(frozen=True)
class Profile:
    warmups: int
    repeats: int
    row_budget: float  # seconds of timed calls per row, at most


FULL = Profile(warmups=2, repeats=15, row_budget=15)
QUICK = Profile(warmups=1, repeats=5, row_budget=5)


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_args("sprints", __doc__, argv)
    profile = QUICK if args.quick else FULL
    return harness.main(
        "sprints",
        args,
        what="sprints",
        seed=seed_sprints,
        measure=lambda bench: measure(bench, profile),
        rows_of=lambda rows: (row for _scenario, row in rows),
        render=lambda run: render(run, profile),
    )


# --- seeding ------------------------------------------------------------------------------


@dataclass
class SprintsBench:
    board_project: object
    board_sprint: object
    report_project: object
    report_sprint: object
    owner: object
    token: str
    session_cookie: str
    counts: dict[str, int] = field(default_factory=dict)


class _Item:
    """One item's life, simulated forward in time; its events come out as the services write them."""

    def __init__(self, builder: "_ProjectBuilder", *, number: int, type_: str, title: str, assignee: str | None):
        rng = builder.rng
        self.builder = builder
        self.number = number
        self.state: dict = {
            "type": type_,
            "title": title,
            "description": _seed()._description(rng),
            "acceptance_criteria": [{"text": "Works on a phone", "done": False}] if rng.random() < 0.5 else [],
            "status": builder.status_value("To Do"),
            "priority": rng.choice(["highest", "high", "medium", "medium", "low"]),
            "assignee": assignee,
            "parent": None,
            "estimate": rng.choices(SCALE, weights=SCALE_WEIGHTS)[0] if type_ != "epic" else "",
            "role_points": {},
            "due_date": None,
            "ready": rng.random() < 0.6,
            "done_checklist": [{"text": text, "done": False} for text in builder.definition_of_done],
            "labels": sorted(set(rng.choices(_seed().LABELS, k=rng.choice([0, 1, 1, 2, 3])))),
            "rank": "",
            "sprint": None,
        }
        if type_ != "epic" and rng.random() < 0.1:  # estimated per role: the points are the sum
            backend, frontend = rng.choice([("1", "1"), ("2", "1"), ("3", "2"), ("5", "3")])
            self.state["role_points"] = {"backend": backend, "frontend": frontend}
            self.state["estimate"] = str(int(backend) + int(frontend))
        self.events: list[tuple[datetime.datetime, str, str, object, object]] = []  # at, kind, field, old, new
        self.start_points: object = _UNSET  # the points when the sprint started
        self.parent_number: int | None = None

    @property
    def points(self) -> float | None:
        estimate = self.state["estimate"]
        return float(estimate) if estimate and estimate != "?" else None

    def snapshot(self) -> dict:
        skip = ("description", "done_checklist", "labels", "rank", "sprint")
        tracked = {name: value for name, value in self.state.items() if name not in skip}
        return {
            **tracked,
            "labels": list(self.state["labels"]),
            "rank": self.state["rank"],
            "sprint": self.state["sprint"],
        }

    def create(self, at: datetime.datetime, rank: str, sprint: dict | None = None) -> None:
        self.state["rank"], self.state["sprint"] = rank, sprint
        self.events.append((at, "created", "", None, self.snapshot()))

    def change(self, at: datetime.datetime, name: str, new) -> None:
        old = self.state.get(name)
        if old == new and name != "done_override":
            return
        if name != "done_override":
            self.state[name] = new
        else:
            old = None
        self.events.append((at, "changed", name, old, new))

    def set_status(self, at: datetime.datetime, name: str) -> None:
        status = self.builder.status_value(name)
        if status["category"] == "done" and self.state["status"]["category"] != "done":
            # update_item checks the Definition of Done: the checklist ticked in the same write, or a reason.
            if self.builder.rng.random() < 0.05:
                self.change(at, "status", status)
                self.change(at, "done_override", "Agreed with the Product Owner at the daily scrum.")
                return
            self.change(at, "status", status)
            self.change(at, "done_checklist", [{**entry, "done": True} for entry in self.state["done_checklist"]])
            return
        self.change(at, "status", status)

    def edit(self, at: datetime.datetime) -> None:
        """One everyday edit, of the kind and weight a team makes them."""
        rng, builder = self.builder.rng, self.builder
        kind = rng.choices(
            ["rank", "description", "labels", "priority", "assignee", "estimate", "title", "criteria", "ready"],
            weights=[30, 14, 8, 5, 7, 10, 4, 7, 5],
        )[0]
        if kind == "rank":
            self.reorder(at)
        elif kind == "description":
            self.change(at, "description", self.state["description"] + "\n\n" + _seed()._description(rng))
        elif kind == "labels":
            self.change(at, "labels", sorted(set(rng.choices(_seed().LABELS, k=rng.choice([1, 2, 3])))))
        elif kind == "priority":
            self.change(at, "priority", rng.choice(["highest", "high", "medium", "low", "lowest"]))
        elif kind == "assignee":
            self.change(at, "assignee", rng.choice(builder.usernames))
        elif kind == "estimate" and self.state["role_points"]:
            # update_item records the role points; the estimate (their sum) follows without an event of its own.
            points = {**self.state["role_points"], "backend": rng.choice(["1", "2", "3", "5"])}
            self.change(at, "role_points", points)
            self.state["estimate"] = str(sum(int(value) for value in points.values()))
        elif kind == "estimate":
            index = SCALE.index(self.state["estimate"]) if self.state["estimate"] in SCALE else 2
            self.change(at, "estimate", SCALE[max(0, min(len(SCALE) - 1, index + rng.choice([-1, 1])))])
        elif kind == "title":
            self.change(at, "title", self.state["title"].rstrip(".") + rng.choice([" (v2)", " (API)", " — UI"]))
        elif kind == "criteria":
            criteria = [*self.state["acceptance_criteria"], {"text": "Covered by tests", "done": False}]
            self.change(at, "acceptance_criteria", criteria[-4:])
        else:
            self.change(at, "ready", not self.state["ready"])

    def reorder(self, at: datetime.datetime) -> None:
        """A drag in the backlog or on the board that ends where the item now is: a rank event, no other change."""
        rank = self.state["rank"]
        self.events.append((at, "changed", "rank", rank + self.builder.rng.choice("0123456789"), rank))


def _seed():
    from tests.bench import seed

    return seed


class _ProjectBuilder:
    """A project's team, statuses and ranks; items simulated, then written in bulk with their events."""

    def __init__(self, project, owner, members: list, rng: random.Random, total_items: int) -> None:
        from backlog import ranking
        from backlog.models import Status

        self.project = project
        self.owner = owner
        self.rng = rng
        self.usernames = [member.username for member in members]
        self.member_ids = {member.username: member.pk for member in members} | {owner.username: owner.pk}
        self.statuses = {status.name: status for status in Status.objects.filter(project=project)}
        self.definition_of_done = project.definition_of_done_items()
        self.ranks = iter(ranking.keys_between(None, None, total_items))
        self.number = 0
        self.items: list[_Item] = []

    def status_value(self, name: str) -> dict:
        status = self.statuses[name]
        return {"id": status.pk, "name": status.name, "category": status.category}

    def new_item(self, type_: str = "", assignee: str | None = "") -> _Item:
        rng = self.rng
        self.number += 1
        type_ = type_ or rng.choices(["story", "task", "bug", "spike"], weights=[50, 28, 17, 5])[0]
        if assignee == "":
            assignee = rng.choice(self.usernames) if rng.random() < 0.85 else None
        item = _Item(self, number=self.number, type_=type_, title=_seed()._title(rng), assignee=assignee)
        self.items.append(item)
        return item

    def write(self) -> dict[int, int]:
        """Inserts the items (with their final state), their labels and events; number -> pk."""
        from backlog.models import BacklogItem, ItemCounter, ItemEvent, Label

        Label.objects.bulk_create(
            [Label(project=self.project, name=name) for name in _seed().LABELS], ignore_conflicts=True
        )
        labels = dict(Label.objects.filter(project=self.project).values_list("name", "pk"))
        now = datetime.datetime.now(datetime.UTC)
        rows = []
        for item in self.items:
            state = item.state
            created = item.events[0][0] if item.events else now
            updated = item.events[-1][0] if item.events else now
            rows.append(
                BacklogItem(
                    project=self.project,
                    number=item.number,
                    type=state["type"],
                    title=state["title"][:255],
                    description=state["description"],
                    acceptance_criteria=state["acceptance_criteria"],
                    status=self.statuses[state["status"]["name"]],
                    priority=state["priority"],
                    assignee_id=self.member_ids.get(state["assignee"] or ""),
                    reporter=self.owner,
                    estimate=state["estimate"],
                    points=BacklogItem.points_for(state["estimate"]),
                    role_points=state["role_points"],
                    ready=state["ready"],
                    done_checklist=state["done_checklist"],
                    rank=state["rank"],
                    sprint_id=(state["sprint"] or {}).get("id"),
                    created_at=created,
                    updated_at=updated,
                )
            )
        created_rows = BacklogItem.objects.bulk_create(rows, batch_size=1000)
        pks = {row.number: row.pk for row in created_rows}
        parented = []
        for row, item in zip(created_rows, self.items, strict=True):
            if item.parent_number is not None:
                row.parent_id = pks[item.parent_number]
                parented.append(row)
        BacklogItem.objects.bulk_update(parented, ["parent"], batch_size=1000)
        through = BacklogItem.labels.through
        links = [
            through(backlogitem_id=pks[item.number], label_id=labels[name])
            for item in self.items
            for name in item.state["labels"]
        ]
        through.objects.bulk_create(links, batch_size=BATCH)
        ItemCounter.objects.update_or_create(project=self.project, defaults={"last_number": self.number})
        batch: list = []
        for item in self.items:
            for at, kind, name, old, new in item.events:
                actor = self.member_ids.get(item.state["assignee"] or "", self.owner.pk)
                batch.append(
                    ItemEvent(
                        project=self.project,
                        item_id=pks[item.number],
                        item_number=item.number,
                        actor_id=actor,
                        at=at,
                        kind=kind,
                        field=name,
                        old=old,
                        new=new,
                    )
                )
                if len(batch) == BATCH:
                    ItemEvent.objects.bulk_create(batch)
                    batch = []
        ItemEvent.objects.bulk_create(batch)
        return pks


def _uniform(rng: random.Random, start: datetime.datetime, end: datetime.datetime) -> datetime.datetime:
    """A moment between the two; over a span of days, in working hours on a working day (people work by day)."""
    moment = start + (end - start) * rng.random()
    if end - start > datetime.timedelta(days=2):
        local = moment.astimezone(TZ)
        if local.isoweekday() > 5:  # the weekend's work happened on Friday
            local -= datetime.timedelta(days=local.isoweekday() - 5)
        if not 9 <= local.hour < 19:
            local = local.replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59))
        moment = min(max(local.astimezone(datetime.UTC), start), end)
    return moment


@dataclass
class _SprintPlan:
    """The sprint's row and its window: planned before ``started``, worked on until ``until``."""

    sprint: object
    started: datetime.datetime
    until: datetime.datetime  # now (active), or the completion


def _simulate_sprint(
    builder: _ProjectBuilder, plan: _SprintPlan, *, items: int, events: int, done_share: float, completed: bool
) -> list[_Item]:
    """``items`` in the sprint at the end (a few more removed on the way), exactly ``events`` in all.

    Most items are committed at planning; in an active sprint some are added mid-sprint (moved
    in, or created in it) and a few removed (back to the backlog). Statuses walk To Do ->
    In Progress -> In Review -> Done, some re-opened; the other events are everyday edits
    spread over the items' lives, a few items drawing many. Completing moves what is not done
    back to the backlog.
    """
    rng = builder.rng
    value = {"id": plan.sprint.pk, "name": plan.sprint.name}
    started, until = plan.started, plan.until
    categories = ["committed"] * items
    if not completed:
        categories = [rng.choices(["committed", "added", "created_in"], weights=[85, 11, 4])[0] for _ in range(items)]
        categories += ["removed"] * (items // 25)
    lives: list[tuple[_Item, str]] = []
    for category in categories:
        item = builder.new_item()
        lives.append((item, category))
        if category == "created_in":
            item.create(_uniform(rng, started, until), next(builder.ranks), sprint=value)
            continue
        item.create(started - datetime.timedelta(days=rng.uniform(2, 120)), next(builder.ranks))
        if category == "added":
            item.change(_uniform(rng, started, until), "sprint", value)
        else:  # at planning, before the start
            item.change(started - datetime.timedelta(hours=rng.uniform(0.2, 72)), "sprint", value)

    def path() -> list[str]:
        roll = rng.random()
        if roll < done_share:
            reopened = rng.random() < 0.1
            return ["In Progress", "In Review", "Done"] + (["In Progress", "In Review", "Done"] if reopened else [])
        return rng.choice([["In Progress", "In Review"], ["In Progress"], ["In Progress"], []])

    paths = [path() for _ in lives]
    planned = sum(len(item.events) for item, _ in lives) + sum(len(p) + 1 for p in paths) + categories.count("removed")
    extra = max(0, int((events - planned) * 0.9))  # the rest is topped up with moves below, to the exact count
    weights = [rng.paretovariate(1.6) for _ in lives]
    share = [0] * len(lives)
    for index in rng.choices(range(len(lives)), weights=weights, k=extra):
        share[index] += 1
    for (item, category), statuses, edits in zip(lives, paths, share, strict=True):
        begin = max(item.events[-1][0], started)
        steps = [
            (at, "status", name)
            for at, name in zip(sorted(_uniform(rng, begin, until) for _ in statuses), statuses, strict=True)
        ]
        steps += [(_uniform(rng, item.events[0][0], until), "edit", "") for _ in range(edits)]
        if category == "removed":
            steps.append((_uniform(rng, begin, until), "out", ""))
        for at, what, name in sorted(steps, key=lambda step: step[0]):
            if at > started and item.start_points is _UNSET:
                item.start_points = item.points
            if what == "status":
                item.set_status(at, name)
            elif what == "out":
                item.change(at, "sprint", None)
            else:
                item.edit(at)
        if item.start_points is _UNSET:
            item.start_points = item.points
    if completed:
        for item, _ in lives:
            if item.state["status"]["name"] != "Done":
                item.change(until, "sprint", None)
    total = sum(len(item.events) for item, _ in lives)
    for item, _ in rng.choices(lives, k=max(0, events - total)):
        item.reorder(_uniform(rng, item.events[0][0], until))
    for item, _ in lives:
        item.events.sort(key=lambda event: event[0])
    return [item for item, _ in lives]


def _committed_rows(sprint, lives: list[_Item], pks: dict[int, int], started: datetime.datetime) -> list:
    """The commitment start_sprint would have recorded: the items in the sprint then, with their points then."""
    from sprints.models import CommittedItem

    rows = []
    for item in lives:
        entered = [
            at for at, _kind, name, _old, new in item.events if name == "sprint" and (new or {}).get("id") == sprint.pk
        ]
        if entered and min(entered) <= started:
            rows.append(
                CommittedItem(
                    sprint=sprint,
                    item_id=pks[item.number],
                    item_number=item.number,
                    title=item.state["title"][:255],
                    points=item.start_points,
                    role_points=item.state["role_points"],
                    assignee=item.state["assignee"] or "",
                )
            )
    return rows


def _team(key: str, name: str, owner):
    from django.contrib.auth import get_user_model

    from projects.services import create_project
    from roles.models import Role
    from roles.services import add_member

    project = create_project(
        key=key, name=name, by=owner, definition_of_done="Code reviewed\nTests pass\nDeployed to stage"
    )
    roles = {role.slug: role for role in Role.objects.filter(project=project)}
    members = []
    for username, role in _seed().TEAM:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@x.example"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        add_member(project=project, user=user, role=roles[role])
        members.append(user)
    return project, members


def _monday_two_weeks_back(today: datetime.date) -> datetime.date:
    """The active sprint began on the Monday 7-13 days ago: it is in its second week."""
    return today - datetime.timedelta(days=today.weekday() + 7)


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TZ).astimezone(datetime.UTC)


def _sprint(project, owner, number: int, first: datetime.date, **fields):
    from sprints.models import Sprint

    return Sprint.objects.create(
        project=project,
        number=number,
        name=f"Sprint {number}",
        goal=f"Increment {number} in front of the stakeholders.",
        start_date=first,
        end_date=first + datetime.timedelta(days=13),
        started_at=_at(first, 10),
        started_by=owner,
        **fields,
    )


def seed_sprints() -> SprintsBench:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client

    from backlog.models import ItemEvent, Status
    from integrations.models import TokenScope
    from integrations.services import create_token
    from sprints.models import CommittedItem, DaysOff, Sprint, SprintState

    rng = random.Random(4)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    start = _monday_two_weeks_back(now.astimezone(TZ).date())
    with transaction.atomic():
        owner = get_user_model()(username="bench-sm", email="bench-sm@example.com", first_name="Bench")
        owner.set_unusable_password()
        owner.save()

        # BOARD: the active sprint's 300 cards; most tasks sit under a story of the same sprint.
        board_project, members = _team(BOARD_KEY, "Benchmark board", owner)
        Status.objects.filter(project=board_project, name="In Progress").update(wip_limit=60)
        builder = _ProjectBuilder(board_project, owner, members, rng, total_items=BOARD_ITEMS * 2)
        board_sprint = _sprint(board_project, owner, 1, start, state=SprintState.ACTIVE)
        board_lives = _simulate_sprint(
            builder,
            _SprintPlan(board_sprint, _at(start, 10), now),
            items=BOARD_ITEMS,
            events=BOARD_EVENTS,
            done_share=0.45,
            completed=False,
        )
        epics = [builder.new_item("epic", None) for _ in range(20)]
        for epic in epics:
            epic.create(now - datetime.timedelta(days=200), next(builder.ranks))
        stories = [item for item in board_lives if item.state["type"] == "story" and item.state["sprint"]]
        for item in board_lives:
            if item.state["type"] == "task" and rng.random() < 0.8:
                item.parent_number = rng.choice(stories).number
            elif item.state["type"] != "task" and rng.random() < 0.6:
                item.parent_number = rng.choice(epics).number
        for _ in range(40):  # a little product backlog around it
            builder.new_item().create(now - datetime.timedelta(days=rng.uniform(1, 90)), next(builder.ranks))
        pks = builder.write()
        CommittedItem.objects.bulk_create(_committed_rows(board_sprint, board_lives, pks, _at(start, 10)))

        # BENCH: 50 completed sprints with their history, the active one of 500 items, a big backlog.
        project, members = _team(REPORT_KEY, "Benchmark sprints", owner)
        total = COMPLETED_SPRINTS * COMPLETED_ITEMS + REPORT_ITEMS * 2 + BACKLOG_ITEMS
        builder = _ProjectBuilder(project, owner, members, rng, total_items=total)
        developers = sum(1 for _name, role in _seed().TEAM if role in ("backend", "frontend", "devops"))
        history = []
        for number in range(1, COMPLETED_SPRINTS + 1):
            first = start - datetime.timedelta(weeks=2 * (COMPLETED_SPRINTS + 1 - number))
            done_at = _at(first + datetime.timedelta(days=11), 16)  # the review, on the last Friday
            sprint = _sprint(project, owner, number, first, state=SprintState.COMPLETED, completed_at=done_at)
            plan = _SprintPlan(sprint, _at(first, 10), done_at)
            lives = _simulate_sprint(
                builder, plan, items=COMPLETED_ITEMS, events=COMPLETED_ITEMS * 7, done_share=0.8, completed=True
            )
            history.append((sprint, plan, lives))
        report_sprint = _sprint(project, owner, COMPLETED_SPRINTS + 1, start, state=SprintState.ACTIVE)
        report_lives = _simulate_sprint(
            builder,
            _SprintPlan(report_sprint, _at(start, 10), now),
            items=REPORT_ITEMS,
            events=REPORT_EVENTS,
            done_share=0.5,
            completed=False,
        )
        for _ in range(BACKLOG_ITEMS):
            builder.new_item().create(now - datetime.timedelta(days=rng.uniform(1, 700)), next(builder.ranks))
        pks = builder.write()
        commitment = _committed_rows(report_sprint, report_lives, pks, _at(start, 10))
        for sprint, plan, lives in history:
            rows = _committed_rows(sprint, lives, pks, plan.started)
            commitment += rows
            # The columns complete_sprint fills from the frozen report (the report itself is left out).
            sprint.committed_points = sum(row.points or 0 for row in rows)
            sprint.completed_points = sum(item.points or 0 for item in lives if item.state["status"]["name"] == "Done")
            sprint.available_days = developers * 10 - rng.choice([0, 0, 1, 2, 3, 5])
            sprint.completed_by = owner
            sprint.goal_outcome = rng.choice(["met", "met", "partly", "not_met"])
        Sprint.objects.bulk_update(
            [sprint for sprint, _plan, _lives in history],
            ["committed_points", "completed_points", "available_days", "completed_by", "goal_outcome"],
        )
        CommittedItem.objects.bulk_create(commitment, batch_size=1000)
        DaysOff.objects.bulk_create([DaysOff(sprint=report_sprint, user=member, days=2) for member in members[1:3]])
        counts = {
            "board sprint items": board_sprint.items.count(),
            "board sprint events": sum(len(item.events) for item in board_lives),
            "report sprint items": report_sprint.items.count(),
            "report sprint events": sum(len(item.events) for item in report_lives),
            "BENCH project items": project.items.count(),
            "BENCH project events": ItemEvent.objects.filter(project=project).count(),
            "completed sprints": COMPLETED_SPRINTS,
        }
    _token, raw = create_token(user=owner, name="benchmark", scope=TokenScope.READ)
    client = Client()
    client.force_login(owner)
    return SprintsBench(
        board_project=board_project,
        board_sprint=board_sprint,
        report_project=project,
        report_sprint=report_sprint,
        owner=owner,
        token=raw,
        session_cookie=client.cookies[settings.SESSION_COOKIE_NAME].value,
        counts=counts,
    )


# --- measuring ------------------------------------------------------------------------------


class _Called:
    """What ``measure.run_row`` reads from a response, for a selector called directly."""

    status_code = 200
    content = b""


def _call(function):
    def request(_i: int):
        function()
        return _Called

    return request


def measure(bench: SprintsBench, profile: Profile) -> list[tuple[str, object]]:
    """(scenario, measure.RowResult) per row."""
    from django.conf import settings
    from django.db import transaction
    from django.test import Client
    from rest_framework.test import APIClient

    from sprints import selectors, services
    from sprints.models import Sprint
    from tests.bench.measure import run_row

    api = APIClient(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {bench.token}")
    browser = Client(SERVER_NAME="127.0.0.1")
    browser.cookies[settings.SESSION_COOKIE_NAME] = bench.session_cookie
    knobs = {"warmups": profile.warmups, "repeats": profile.repeats, "budget": profile.row_budget}
    board = Sprint.objects.select_related("project").get(pk=bench.board_sprint.pk)
    big = Sprint.objects.select_related("project").get(pk=bench.report_sprint.pk)
    project = big.project

    def api_path(sprint, tail: str) -> str:
        return f"/api/v1/projects/{sprint.project.key}/sprints/{sprint.pk}/{tail}"

    def page_path(sprint, tail: str) -> str:
        return f"/projects/{sprint.project.key}/sprints/{sprint.pk}/{tail}"

    def page(name: str, path: str):
        row = run_row(name, lambda _i: browser.get(path), **knobs)
        if row.status == 404 and not row.latencies:
            row.note = "not built yet"
        return row

    def complete_rolled_back() -> None:
        with transaction.atomic():
            services.complete_sprint(sprint=Sprint.objects.get(pk=big.pk), by=bench.owner)
            transaction.set_rollback(True)

    board_label = f"board, {BOARD_ITEMS}-item sprint"
    report_label = f"{REPORT_ITEMS} items, {bench.counts['report sprint events']:,} events"
    velocity_label = f"{COMPLETED_SPRINTS} completed sprints"
    rows: list[tuple[str, object]] = [
        (board_label, run_row("selector sprint_board", _call(lambda: selectors.sprint_board(board)), **knobs)),
        (
            board_label,
            run_row(
                "selector sprint_board, swimlanes by parent",
                _call(lambda: selectors.sprint_board(board, swimlanes="parent")),
                **knobs,
            ),
        ),
        (
            board_label,
            run_row("selector board_version (the poll)", _call(lambda: selectors.board_version(board)), **knobs),
        ),
        (board_label, run_row("GET api board/", lambda _i: api.get(api_path(board, "board/")), **knobs)),
        (
            board_label,
            run_row(
                "GET api board/?swimlanes=assignee",
                lambda _i: api.get(api_path(board, "board/?swimlanes=assignee")),
                **knobs,
            ),
        ),
        (board_label, page("board page (HTML)", page_path(board, "board/"))),
        (board_label, page("board version poll (page)", page_path(board, "board/version/"))),
        (report_label, run_row("selector sprint_burndown", _call(lambda: selectors.sprint_burndown(big)), **knobs)),
        (report_label, run_row("selector sprint_report", _call(lambda: selectors.sprint_report(big)), **knobs)),
        (report_label, run_row("selector sprint_capacity", _call(lambda: selectors.sprint_capacity(big)), **knobs)),
        (report_label, run_row("GET api burndown/", lambda _i: api.get(api_path(big, "burndown/")), **knobs)),
        (report_label, run_row("GET api report/", lambda _i: api.get(api_path(big, "report/")), **knobs)),
        (
            report_label,
            run_row("GET api report/?format=csv", lambda _i: api.get(api_path(big, "report/?format=csv")), **knobs),
        ),
        (report_label, page("review page (HTML)", page_path(big, "review/"))),
        (report_label, page("planning page (HTML)", page_path(big, "plan/"))),
        (
            report_label,
            run_row("complete_sprint (rolled back)", _call(complete_rolled_back), count_writes=True, **knobs),
        ),
        (velocity_label, run_row("selector velocity", _call(lambda: selectors.velocity(project)), **knobs)),
        (
            velocity_label,
            run_row("selector forecast (whole backlog)", _call(lambda: selectors.forecast(project)), **knobs),
        ),
        (
            velocity_label,
            run_row(
                f"selector forecast ({FORECAST_POINTS} points)",
                _call(lambda: selectors.forecast(project, remaining=FORECAST_POINTS)),
                **knobs,
            ),
        ),
        (
            velocity_label,
            run_row("GET api velocity/", lambda _i: api.get(f"/api/v1/projects/{project.key}/velocity/"), **knobs),
        ),
        (
            velocity_label,
            run_row(
                f"GET api velocity/?remaining={FORECAST_POINTS}",
                lambda _i: api.get(f"/api/v1/projects/{project.key}/velocity/?remaining={FORECAST_POINTS}"),
                **knobs,
            ),
        ),
        (velocity_label, page("velocity page (HTML)", f"/projects/{project.key}/sprints/velocity/")),
    ]
    return rows


# --- the report ---------------------------------------------------------------------------


def render(run: harness.Run, profile: Profile) -> str:
    rows, plans, bench, database, version = run.result, run.plans, run.seeded, run.database, run.version
    setup, wall, load_before = run.setup, run.wall, run.load_before

    lines = [
        *report_head(
            f"Sprints benchmark: {database.vendor}",
            database,
            version,
            seeded="migrated and seeded anew",
            wall=wall,
            quick=profile is QUICK,
        ),
        f"- Load average at start {load_before}, at end {_load_average()}.",
        "- Data: " + ", ".join(f"{name} {count:,}" for name, count in bench.counts.items()) + ".",
        "- Median and p95 are wall-clock per call; CPU ms is this thread's CPU time (on SQLite the database"
        " engine's too); SQL ms is the time inside the driver's execute calls; queries per call as"
        " django_assert_num_queries counts them (requests include BEGIN/COMMIT where they write). Selectors are"
        " called directly; the rest go through Django's test client and the whole middleware stack.",
        "",
        f"## In process ({profile.warmups} warm-ups, then up to {profile.repeats} timed calls)",
        "",
        "| data | call | n | median ms | p95 ms | CPU ms | SQL ms | queries/call | KB | writes/call |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scenario, row in rows:
        if not row.latencies:
            note = row.note or (f"HTTP {row.status}" if row.status else "no result")
            lines.append(f"| {scenario} | {row.name} | - | {note} | - | - | - | - | - | - |")
            continue
        size = "-" if not row.body_bytes else f"{row.body_bytes / 1024:.0f}"
        lines.append(
            f"| {scenario} | {row.name} | {len(row.latencies)} | {row.median_ms:.1f} | {row.p95_ms:.1f} | "
            f"{row.cpu_median_ms:.1f} | {row.sql_median_ms:.1f} | {row.queries_text()} | {size} | {row.writes_text()} |"
        )
    lines += ["", "## Setup (not measured above)", "", "| migrate s | seed s | VACUUM ANALYZE s |", "|---:|---:|---:|"]
    settle = f"{setup.get('settle', 0):.1f}" if database.vendor == "postgresql" else "-"
    lines.append(f"| {setup.get('migrate', 0):.1f} | {setup.get('seed', 0):.1f} | {settle} |")
    details = ["", "## Plans: the slowest query in a median call of each row", ""]
    for name, seconds, sql, plan in plans:
        details += [f"### {name} ({seconds * 1000:.1f} ms)", "", "```sql", sql, "```", "", "```", plan, "```", ""]
    return "\n".join(lines) + "\n" + "\n".join(details)


if __name__ == "__main__":
    sys.exit(main())
