"""The demo project (key SB): a team with a member in every role, its backlog and its sprints.

Loading is idempotent: running it again leaves one demo project. The backlog and the sprint
history are written together, once, dated back from today, so the demo is always "now":
three completed sprints (velocity and forecast have data) and an active one in its second week.
"""

import datetime
import functools
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from backlog.models import BacklogItem, Status
from backlog.services import create_item, move_item, set_wip_limit, update_item
from notifications import demo as notifications_demo
from projects.models import Project
from projects.services import create_project
from retrospectives import demo as retrospectives_demo
from roadmap import demo as roadmap_demo
from roles.models import Role
from roles.services import add_member
from scrumboard import outbox
from sprints.models import GoalOutcome, Sprint
from sprints.services import (
    Unfinished,
    add_review_feedback,
    complete_sprint,
    create_sprint,
    record_goal_outcome,
    set_days_off,
    start_sprint,
)
from standups import demo as standups_demo

DEMO_KEY = "SB"
DEMO_PASSWORD = "scrumboard-demo"  # noqa: S105 (the published demo login, printed by `make run`)
DEMO_TIMEZONE = "Asia/Almaty"  # the project's (default) time zone: the history's clock times are local
DEMO_TZ = zoneinfo.ZoneInfo(DEMO_TIMEZONE)
# (username, first name, last name, role slug); the first is the project's administrator.
DEMO_TEAM = [
    ("aigerim", "Aigerim", "Sadykova", "scrum-master"),
    ("daniyar", "Daniyar", "Nurlanov", "product-owner"),
    ("madina", "Madina", "Omarova", "system-analyst"),
    ("arman", "Arman", "Bekov", "backend"),
    ("dana", "Dana", "Ivanova", "frontend"),
    ("timur", "Timur", "Akhmetov", "devops"),
    ("sergey", "Sergey", "Petrov", "stakeholder"),
]
SCRUM_MASTER, PRODUCT_OWNER = "aigerim", "daniyar"


def _user(username: str, first: str, last: str):
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@scrumboard.example"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def load_demo() -> Project:
    """The demo project, its team and history; loading it again adds nothing."""
    with outbox.held():  # around the commit, whose on_commit hooks publish
        return _load_demo()


@transaction.atomic
def _load_demo() -> Project:
    project = Project.objects.filter(key=DEMO_KEY).first()
    first_load = project is None or not BacklogItem.objects.filter(project=project).exists()
    calendar = DemoCalendar.ending_today()
    clock = _Clock()
    with clock.running(calendar.founded):  # a new project is dated from its founding too
        admin = _user(*DEMO_TEAM[0][:3])
        if project is None:
            project = create_project(
                key=DEMO_KEY,
                name="Scrumboard",
                by=admin,
                description="The team building Scrumboard itself, planned month by month.",
                product_goal="Release Scrumboard 1.0: every Scrum event in one place, fast on big backlogs.",
                definition_of_done="Code reviewed\nTests pass in CI\nDeployed to staging\nDocumentation updated",
                timezone=DEMO_TIMEZONE,
            )
        roles = {role.slug: role for role in Role.objects.filter(project=project)}
        for username, first, last, role_slug in DEMO_TEAM[1:]:
            user = _user(username, first, last)
            if not project.memberships.filter(user=user).exists():
                add_member(project=project, user=user, role=roles[role_slug])
        if first_load:
            _History(project, calendar, clock).write()
    return project


# --- the backlog ------------------------------------------------------------------------

# Epic title -> [(type, title, estimate, labels, assignee)]. Statuses come from the sprints below.
DEMO_BACKLOG: dict[str, list[tuple[str, str, str, list[str], str]]] = {
    "Architecture and technology stack": [
        ("spike", "Choose the database and ORM", "3", ["architecture"], "madina"),
        ("story", "Design the data model for projects, roles and backlog", "5", ["architecture", "db"], "madina"),
        ("task", "Set up the Django project, settings and CI", "3", ["devops"], "timur"),
        ("task", "Kubernetes manifests for dev, stage and prod", "5", ["devops", "k8s"], "timur"),
        ("task", "Secrets in HashiCorp Vault", "3", ["devops", "security"], "timur"),
        ("story", "Role-based permissions for every action", "8", ["security"], "arman"),
        ("task", "Grafana dashboards and Sentry alerts", "3", ["devops", "observability"], "timur"),
    ],
    "Minimum viable product": [
        ("story", "Sign-in page and password reset", "2", ["team", "ux"], "dana"),
        ("story", "Product backlog with drag-and-drop ranking", "8", ["backlog", "ux"], "dana"),
        ("story", "Create and edit backlog items", "5", ["backlog"], "arman"),
        ("story", "Estimate stories in points per role", "5", ["backlog", "estimation"], "arman"),
        ("story", "Sprint planning with capacity and velocity", "8", ["sprints"], "arman"),
        ("story", "Sprint board with columns per status", "5", ["sprints", "ux"], "dana"),
        ("task", "WIP limit per board column", "2", ["sprints", "ux"], "dana"),
        ("task", "Swimlanes by assignee on the board", "2", ["sprints"], "arman"),
        ("story", "Daily scrum with a 15-minute timer", "3", ["meetings"], "dana"),
        ("story", "Burndown and burnup charts", "5", ["reports"], "arman"),
        ("task", "Velocity chart on the review page", "2", ["reports"], "arman"),
        ("story", "Sprint review report for stakeholders", "5", ["reports"], "madina"),
        ("story", "Retrospective board with voting", "8", ["meetings", "ux"], "dana"),
        ("story", "Invite team members by e-mail", "3", ["team"], "arman"),
        ("story", "Interface in Kazakh and Russian", "5", ["i18n"], "dana"),
        ("bug", "Drag handle hard to grab on touch screens", "2", ["ux", "mobile"], "dana"),
        ("task", "REST API documentation with examples", "3", ["api", "docs"], "madina"),
        ("story", "Personal API tokens for integrations", "3", ["api", "security"], "arman"),
        ("story", "Reminders before the daily scrum", "5", ["notifications"], "arman"),
        ("story", "Import a backlog from a Jira CSV export", "8", ["integrations"], "arman"),
        ("bug", "Search ignores Cyrillic capital letters", "2", ["search", "i18n"], "arman"),
        ("story", "Roadmap timeline by month", "8", ["roadmap"], "dana"),
        ("story", "Webhooks for item and sprint changes", "5", ["api", "integrations"], "arman"),
        ("story", "Calendar feed of the Scrum events", "3", ["meetings", "api"], "arman"),
        ("story", "Export the whole project as JSON", "5", ["api", "integrations"], "arman"),
    ],
    "Testing and release 1.0": [
        ("task", "Load test the backlog with 50,000 items", "3", ["performance"], "timur"),
        ("task", "Browser journeys for every page", "5", ["testing"], "dana"),
        ("task", "Security review and dependency audit", "3", ["security"], "timur"),
        ("story", "Release notes generated from done items", "3", ["roadmap"], "madina"),
        ("task", "Stage deployment smoke tests", "2", ["devops", "testing"], "timur"),
        ("story", "Stakeholder demo of release 1.0", "2", ["review"], "daniyar"),
        ("spike", "Accessibility audit of the board", "3", ["ux", "a11y"], "dana"),
        ("task", "Write the operations runbook", "3", ["docs", "devops"], "timur"),
    ],
}
# Stories estimated per role: the points are their sum.
DEMO_ROLE_POINTS = {
    "Product backlog with drag-and-drop ranking": {"backend": "3", "frontend": "5"},
    "Estimate stories in points per role": {"backend": "3", "frontend": "2"},
    "Sprint planning with capacity and velocity": {"backend": "5", "frontend": "3"},
    "Sprint board with columns per status": {"backend": "2", "frontend": "3"},
}


# --- the sprints ------------------------------------------------------------------------


class Step(NamedTuple):
    """Something that happened on working day ``day`` (1-10) of a sprint, at ``time`` (local)."""

    day: int
    time: str  # "HH:MM"
    action: str  # progress | review | done | reopen | estimate | remove | add | wip
    title: str  # the item's (wip: the status's)
    # done: an override reason; estimate: the new one; add: (type, estimate, labels, assignee); wip: the limit
    value: Any = None


@dataclass(frozen=True)
class DemoSprint:
    goal: str
    committed: list[str]  # moved in at planning (items carried over from the last sprint are in already)
    steps: list[Step]
    days_off: dict[str, int] = field(default_factory=dict)
    outcome: tuple[str, str] | None = None  # the goal's verdict at the review; None: the sprint is active
    feedback: tuple[str, str] | None = None  # stakeholder feedback captured at the review


def _step(day: int, time: str, action: str, title: str, value: Any = None) -> Step:
    return Step(day, time, action, title, value)


# Committed 26/30/28 points, completed 21/27/29: a carry-over, a removal and an addition.
DEMO_SPRINTS = [
    DemoSprint(
        goal="Walking skeleton: a team signs in, has roles and permissions, and the app runs on stage.",
        committed=[
            "Choose the database and ORM",
            "Set up the Django project, settings and CI",
            "Sign-in page and password reset",
            "Design the data model for projects, roles and backlog",
            "Role-based permissions for every action",
            "Kubernetes manifests for dev, stage and prod",
        ],
        steps=[
            _step(1, "11:00", "progress", "Choose the database and ORM"),
            _step(1, "11:05", "progress", "Set up the Django project, settings and CI"),
            _step(1, "11:10", "progress", "Sign-in page and password reset"),
            _step(2, "16:00", "done", "Choose the database and ORM"),
            _step(2, "16:30", "progress", "Design the data model for projects, roles and backlog"),
            _step(3, "11:00", "progress", "Role-based permissions for every action"),
            _step(3, "15:00", "done", "Set up the Django project, settings and CI"),
            _step(3, "16:00", "progress", "Kubernetes manifests for dev, stage and prod"),
            _step(4, "17:00", "done", "Sign-in page and password reset"),
            _step(6, "16:00", "done", "Design the data model for projects, roles and backlog"),
            _step(8, "15:00", "review", "Role-based permissions for every action"),
            _step(9, "12:00", "done", "Role-based permissions for every action"),
        ],
        outcome=(
            GoalOutcome.PARTLY,
            "Sign-in and permissions work; the stage cluster came late, so the Kubernetes manifests carry over.",
        ),
    ),
    DemoSprint(
        goal="The product backlog works end to end: create, rank and estimate items, invite the team.",
        committed=[
            "Create and edit backlog items",
            "Product backlog with drag-and-drop ranking",
            "Secrets in HashiCorp Vault",
            "Personal API tokens for integrations",
            "Invite team members by e-mail",
            "Grafana dashboards and Sentry alerts",
        ],
        steps=[
            _step(1, "11:00", "progress", "Create and edit backlog items"),
            _step(1, "11:05", "progress", "Product backlog with drag-and-drop ranking"),
            _step(2, "15:00", "done", "Kubernetes manifests for dev, stage and prod"),
            _step(3, "12:00", "progress", "Secrets in HashiCorp Vault"),
            _step(3, "16:00", "done", "Create and edit backlog items"),
            _step(3, "16:30", "progress", "Personal API tokens for integrations"),
            _step(4, "17:00", "done", "Secrets in HashiCorp Vault"),
            _step(5, "15:00", "done", "Personal API tokens for integrations"),
            # Waiting for the monitoring contract: back to the backlog, taken up next sprint.
            _step(6, "12:00", "remove", "Grafana dashboards and Sentry alerts"),
            _step(6, "13:00", "progress", "Invite team members by e-mail"),
            # Re-opened: a token was shown again on the next page load.
            _step(7, "10:30", "reopen", "Personal API tokens for integrations"),
            _step(7, "16:00", "review", "Product backlog with drag-and-drop ranking"),
            _step(8, "11:00", "done", "Personal API tokens for integrations"),
            _step(9, "12:00", "done", "Invite team members by e-mail"),
            _step(9, "17:00", "done", "Product backlog with drag-and-drop ranking"),
        ],
        outcome=(GoalOutcome.MET, "Backlog ranking by drag and drop demoed to the stakeholders."),
    ),
    DemoSprint(
        goal="Plan a sprint against the team's capacity and velocity, in Kazakh, Russian and English.",
        committed=[
            "Search ignores Cyrillic capital letters",
            "Interface in Kazakh and Russian",
            "Grafana dashboards and Sentry alerts",
            "Estimate stories in points per role",
            "REST API documentation with examples",
            "Sprint planning with capacity and velocity",
            "Drag handle hard to grab on touch screens",
        ],
        days_off={"timur": 1},
        steps=[
            _step(1, "11:00", "progress", "Search ignores Cyrillic capital letters"),
            _step(1, "11:05", "progress", "Interface in Kazakh and Russian"),
            _step(1, "11:10", "progress", "Grafana dashboards and Sentry alerts"),
            _step(2, "15:00", "done", "Search ignores Cyrillic capital letters"),
            _step(2, "15:30", "progress", "Estimate stories in points per role"),
            _step(3, "11:00", "progress", "REST API documentation with examples"),
            _step(3, "16:00", "done", "Grafana dashboards and Sentry alerts"),
            _step(4, "10:00", "add", "Invitation e-mails land in spam", ("bug", "1", ["devops", "email"], "timur")),
            _step(4, "10:30", "progress", "Invitation e-mails land in spam"),
            _step(5, "12:00", "done", "Invitation e-mails land in spam"),
            _step(5, "17:00", "done", "Estimate stories in points per role"),
            _step(5, "17:10", "progress", "Sprint planning with capacity and velocity"),
            _step(6, "16:00", "done", "REST API documentation with examples"),
            _step(6, "16:10", "progress", "Drag handle hard to grab on touch screens"),
            _step(7, "14:00", "done", "Drag handle hard to grab on touch screens"),
            _step(8, "17:00", "done", "Interface in Kazakh and Russian"),
            _step(9, "16:00", "review", "Sprint planning with capacity and velocity"),
            _step(10, "11:00", "done", "Sprint planning with capacity and velocity"),
        ],
        outcome=(GoalOutcome.MET, "Planned Sprint 4 in the app itself, in Kazakh."),
        feedback=(
            "Export the sprint report as PDF for the steering committee",
            "Sergey asked at the Sprint 3 review: the steering committee reads PDF, not CSV.",
        ),
    ),
    DemoSprint(
        goal="Run a sprint on the board, with WIP limits and a live burndown.",
        committed=[
            "Sprint board with columns per status",
            "Burndown and burnup charts",
            "Stage deployment smoke tests",
            "WIP limit per board column",
            "Load test the backlog with 50,000 items",
            "Daily scrum with a 15-minute timer",
            "Swimlanes by assignee on the board",
            "Security review and dependency audit",
        ],
        days_off={"dana": 2},
        steps=[
            _step(1, "11:00", "progress", "Sprint board with columns per status"),
            _step(1, "11:05", "progress", "Burndown and burnup charts"),
            _step(1, "11:10", "progress", "Stage deployment smoke tests"),
            _step(2, "10:30", "progress", "Load test the backlog with 50,000 items"),
            _step(
                2, "16:00", "done", "Stage deployment smoke tests", "A test-only change: no documentation to update."
            ),
            _step(3, "11:00", "add", "Board cards overflow on narrow screens", ("bug", "1", ["ux", "mobile"], "dana")),
            _step(3, "11:30", "progress", "WIP limit per board column"),
            _step(3, "16:30", "done", "WIP limit per board column"),
            _step(3, "17:00", "wip", "In Progress", 3),  # the team tries its new feature at once
            # Re-estimated: the burnup needs the activity log replayed per day, not a count.
            _step(4, "10:30", "estimate", "Burndown and burnup charts", "8"),
            _step(4, "11:00", "progress", "Board cards overflow on narrow screens"),
            _step(4, "14:00", "done", "Board cards overflow on narrow screens"),
            _step(4, "16:00", "progress", "Daily scrum with a 15-minute timer"),
            _step(5, "12:00", "progress", "Swimlanes by assignee on the board"),
            _step(5, "16:00", "done", "Load test the backlog with 50,000 items"),
            _step(6, "11:00", "review", "Sprint board with columns per status"),
            _step(6, "11:30", "progress", "Security review and dependency audit"),
            _step(6, "15:00", "done", "Swimlanes by assignee on the board"),
            _step(7, "12:00", "done", "Sprint board with columns per status"),
            _step(7, "17:00", "review", "Daily scrum with a 15-minute timer"),
            _step(8, "11:00", "done", "Daily scrum with a 15-minute timer"),
            _step(8, "15:00", "review", "Burndown and burnup charts"),
            _step(9, "14:00", "done", "Security review and dependency audit"),
        ],
    ),
]


@dataclass(frozen=True)
class DemoCalendar:
    """Two-week sprints starting on Mondays; the last one is in its second week today."""

    starts: list[datetime.date]  # one per DEMO_SPRINTS

    @classmethod
    def ending_today(cls) -> "DemoCalendar":
        today = timezone.localdate(timezone=DEMO_TZ)
        # The Monday 7 to 13 days ago: whatever the weekday, today is in the active sprint's second week.
        active = today - datetime.timedelta(days=today.weekday() + 7)
        count = len(DEMO_SPRINTS)
        return cls([active - datetime.timedelta(weeks=2 * (count - 1 - n)) for n in range(count)])

    @property
    def founded(self) -> datetime.datetime:
        """The project and its backlog were set up on the Monday before the first sprint."""
        return _local(self.starts[0] - datetime.timedelta(days=7), "09:00")


def _local(day: datetime.date, time: str) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.fromisoformat(time), tzinfo=DEMO_TZ)


class _Clock:
    """Stands in for ``django.utils.timezone.now`` while the history is written.

    The history goes through the real services, so its events, commitments and frozen
    reports have exactly the shapes the app writes, and each is dated when it happened:
    every service reads the time from ``timezone.now()``, which answers ``moment`` while
    the clock runs. (time-machine would do the same, but it is a development dependency.)
    Shifting timestamps afterwards would leave the frozen reports, computed at completion,
    describing the day of loading instead. Only ``loaddemo`` (a process of its own) runs it.
    """

    def __init__(self) -> None:
        self.real_now = timezone.now()
        self.moment = self.real_now

    def now(self) -> datetime.datetime:
        return self.moment

    @contextmanager
    def running(self, moment: datetime.datetime) -> Iterator["_Clock"]:
        self.moment = moment
        with mock.patch("django.utils.timezone.now", self.now):
            yield self


Agenda = list[tuple[datetime.datetime, int, Callable[[], object]]]


class _History:
    """Writes the backlog, then the sprints' days in time order, through the services, up to now."""

    def __init__(self, project: Project, calendar: DemoCalendar, clock: _Clock) -> None:
        self.project = project
        self.calendar = calendar
        self.clock = clock
        self.users = {user.username: user for user in get_user_model().objects.filter(memberships__project=project)}
        self.statuses = {status.name: status for status in Status.objects.filter(project=project)}
        self.items: dict[str, BacklogItem] = {}
        self.sprints: list[Sprint] = []

    def write(self) -> None:
        self._backlog()
        agenda: Agenda = []
        for number, (plan, start) in enumerate(zip(DEMO_SPRINTS, self.calendar.starts, strict=True)):
            agenda += self._sprint_agenda(number, plan, start)
        agenda += (
            standups_demo.demo_agenda(self) + retrospectives_demo.demo_agenda(self) + roadmap_demo.demo_agenda(self)
        )
        # What would happen later than now (the rest of the active sprint) stays in the future.
        for moment, _order, action in sorted(agenda, key=lambda entry: entry[:2]):
            if moment > self.clock.real_now:
                break
            self.clock.moment = moment
            action()
        notifications_demo.settle_history(self.project, self.clock.real_now)

    def _backlog(self) -> None:
        product_owner = self.users[PRODUCT_OWNER]
        minute = 0
        for epic_title, children in DEMO_BACKLOG.items():
            self.clock.moment = self.calendar.founded + datetime.timedelta(minutes=minute)
            epic = create_item(
                project=self.project, by=product_owner, title=epic_title, type="epic", labels=["roadmap"]
            )
            for item_type, title, estimate, labels, assignee in children:
                minute += 2
                self.clock.moment = self.calendar.founded + datetime.timedelta(minutes=minute)
                self.items[title] = create_item(
                    project=self.project,
                    by=product_owner,
                    title=title,
                    type=item_type,
                    estimate=estimate,
                    role_points=DEMO_ROLE_POINTS.get(title),
                    labels=labels,
                    assignee=self.users[assignee],
                    parent=epic,
                    description=f"**{title}.** Refined with the Product Owner; see the acceptance criteria below.",
                    acceptance_criteria=[f"{title} works on a laptop and a phone", "Covered by tests"],
                )

    def _sprint_agenda(self, number: int, plan: DemoSprint, start: datetime.date) -> Agenda:
        """(moment, order, action) for everything that happens to one sprint."""
        dates = (start + datetime.timedelta(days=n) for n in range(self.project.sprint_length_days))
        working = [day for day in dates if day.isoweekday() in self.project.working_days]
        sprint_master, product_owner = self.users[SCRUM_MASTER], self.users[PRODUCT_OWNER]

        def sprint() -> Sprint:  # created by the agenda's first entry
            return self.sprints[number]

        def create() -> None:
            self.sprints.append(create_sprint(project=self.project, by=sprint_master, goal=plan.goal, start_date=start))

        def planning() -> None:
            for username, days in plan.days_off.items():
                set_days_off(sprint=sprint(), by=sprint_master, user=self.users[username], days=days)
            for title in plan.committed:
                move_item(item=self.items[title], by=product_owner, sprint=sprint())

        # Created at the refinement on the Thursday before; planned and started on its first Monday.
        agenda: Agenda = [
            (_local(start - datetime.timedelta(days=4), "15:00"), 0, create),
            (_local(start, "09:30"), 0, planning),
            (_local(start, "10:00"), 0, lambda: start_sprint(sprint=sprint(), by=sprint_master)),
        ]
        for order, step in enumerate(plan.steps, start=1):
            moment = _local(working[step.day - 1], step.time)
            agenda.append((moment, order, functools.partial(self._apply, step, number)))
        if plan.outcome is not None:
            outcome, note = plan.outcome

            def review() -> None:  # on the last Friday afternoon
                complete_sprint(sprint=sprint(), by=sprint_master, unfinished=Unfinished.NEXT_SPRINT)
                record_goal_outcome(sprint=sprint(), by=sprint_master, outcome=outcome, note=note)
                if plan.feedback:
                    title, description = plan.feedback
                    add_review_feedback(sprint=sprint(), by=product_owner, title=title, description=description)

            agenda.append((_local(working[-1], "16:00"), 0, review))
        return agenda

    def _apply(self, step: Step, number: int) -> None:
        sprint = self.sprints[number]
        if step.action == "add":
            item_type, estimate, labels, assignee = step.value
            self.items[step.title] = create_item(
                project=self.project,
                by=self.users[PRODUCT_OWNER],
                title=step.title,
                type=item_type,
                estimate=estimate,
                labels=labels,
                assignee=self.users[assignee],
                sprint=sprint,
                position="top",
            )
            return
        if step.action == "wip":
            set_wip_limit(status=self.statuses[step.title], by=self.users[SCRUM_MASTER], limit=step.value)
            return
        item = self.items[step.title]
        item.refresh_from_db()  # a move writes the row, not this object
        worker = item.assignee
        if step.action == "remove":
            move_item(item=item, by=self.users[PRODUCT_OWNER], sprint=None, position="top")
        elif step.action == "estimate":
            update_item(item=item, by=worker, estimate=step.value)
        elif step.action == "done":
            # The Definition of Done: checked entry by entry, or skipped with the reason on record.
            changes: dict[str, Any] = {"status": self.statuses["Done"]}
            if step.value:
                changes["override_reason"] = step.value
            else:
                changes["done_checklist"] = [{**entry, "done": True} for entry in item.done_checklist]
            update_item(item=item, by=worker, **changes)
        elif step.action == "review":
            update_item(item=item, by=worker, status=self.statuses["In Review"])
        elif step.action in ("progress", "reopen"):
            update_item(item=item, by=worker, status=self.statuses["In Progress"])
        else:
            raise ValueError(f"unknown demo step {step.action!r}")
