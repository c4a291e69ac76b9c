"""The notifications benchmark: the once-a-minute reminder tick over 200 projects in four time zones.

    .venv/bin/python -m tests.bench.notifications [--quick] [--keep-db] [--output PATH]

Like the other benchmarks it runs against the configured database's kind (DATABASE_URL;
SQLite when unset) in a throwaway database (``scrumboard_bench`` on that PostgreSQL server, or
a SQLite file in a temporary directory), migrated and seeded anew. The data: 200 projects, a
quarter each in Asia/Almaty, Europe/Moscow, UTC and America/New_York, each with 8 members in
the default roles (the Scrum Master who created it, a Product Owner, six developers), a
completed sprint with its closed retrospective, an active sprint from Monday 2026-03-02 to
Friday 2026-03-13 (60 of the project's 300 items), a planned next sprint in every third
project; 5% of the items due in the past week with an assignee, two open impediments raised
three and five days ago (and one fresh, two resolved), retrospective actions due, today's
daily scrum with entries, and some members' quiet hours, working hours, languages and
switched-off e-mails. Rows go in with ``bulk_create``: seeding is the setup, not the subject.

The instant is Thursday 2026-03-12 09:50 in Almaty (04:50 UTC), the eve of the sprint's end.
Daily scrum times are set so that many rules are due: in each of the Almaty, Moscow and UTC
quarters half the projects meet in ten minutes (daily scrum soon, stand-up nudges) and half
met fifty minutes ago (sprint ends tomorrow, planning due, items overdue, actions due); the
New York quarter is asleep (00:50, its daily scrum at 09:30) and only has blockers escalated.

Measured in process, under a clock moved to the instant: ``schedule.due_reminders`` (median
of several calls); the first ``reminders.send_due_reminders`` (it writes the outbox rows; the
delivery published after commit is patched out, a broker is not the subject; repeated on an
emptied outbox); a second tick at the same instant (finds everything written); and
``services.deliver_notification`` per row, in-app and e-mail (locmem backend). Queries per
call are counted by an execute wrapper (Django's query log stops at 9,000) and broken down by
statement and table, which shows what grows with projects and rows. It reports figures and
never fails on them; the report is printed and written to ``var/bench/notifications-<vendor>.md``
with the plan of the slowest query of the rows that read.
"""

import contextlib
import datetime
import random
import re
import statistics
import sys
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Shared with the backlog benchmark: the report's header and Ctrl-C/SIGTERM handling.
from tests.bench import harness
from tests.bench.backlog import _load_average, report_head

PROJECTS = 200
ZONES = ["Asia/Almaty", "Europe/Moscow", "UTC", "America/New_York"]
ASLEEP_ZONE = "America/New_York"
ASLEEP_SCRUM = datetime.time(9, 30)
# The Scrum Master (the project's creator and administrator) comes first; then the rest of the team.
TEAM_ROLES = ["scrum-master", "product-owner", "backend", "backend", "frontend", "frontend", "devops", "backend"]
ITEMS, SPRINT_ITEMS = 300, 60
DUE_SHARE = 0.05  # items due in the past week, with an assignee
OLD_IMPEDIMENT_DAYS = (3, 5)  # open impediments raised this many days ago: past 2 x 24 h, so SM and PO
INSTANT = datetime.datetime(2026, 3, 12, 9, 50, tzinfo=zoneinfo.ZoneInfo("Asia/Almaty"))
SOON = datetime.timedelta(minutes=10)  # "meets in ten minutes"
MET = datetime.timedelta(minutes=50)  # "met fifty minutes ago"
SPRINT_START, SPRINT_END = datetime.date(2026, 3, 2), datetime.date(2026, 3, 13)
LAST_START, LAST_END = datetime.date(2026, 2, 16), datetime.date(2026, 2, 27)
NEXT_START, NEXT_END = datetime.date(2026, 3, 16), datetime.date(2026, 3, 27)
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
BATCH = 2000


@dataclass(frozen=True)
class Profile:
    warmups: int
    repeats: int
    row_budget: float  # seconds of timed calls per row, at most
    first_ticks: int  # first ticks timed, each on an emptied outbox
    deliveries: int  # rows delivered per channel (after the warm-ups)


FULL = Profile(warmups=2, repeats=15, row_budget=15, first_ticks=3, deliveries=200)
QUICK = Profile(warmups=1, repeats=5, row_budget=5, first_ticks=1, deliveries=30)


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_args("notifications", __doc__, argv)
    profile = QUICK if args.quick else FULL
    return harness.main(
        "notifications",
        args,
        what=f"{PROJECTS} projects",
        seed=seed_projects,
        measure=lambda _counts: measure(profile),
        rows_of=lambda result: result.rows,
        render=lambda run: render(run, profile),
    )


# --- seeding ------------------------------------------------------------------------------


def _key(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"N{letters[index // 26]}{letters[index % 26]}"


def _zone(index: int) -> str:
    return ZONES[index % len(ZONES)]


def _meets_soon(index: int) -> bool:
    """Half of each waking quarter meets ten minutes after the instant; the other half met already."""
    return _zone(index) != ASLEEP_ZONE and (index // len(ZONES)) % 2 == 0


def _daily_scrum_time(index: int) -> datetime.time:
    zone = _zone(index)
    if zone == ASLEEP_ZONE:
        return ASLEEP_SCRUM
    local = INSTANT.astimezone(zoneinfo.ZoneInfo(zone))
    return (local + SOON if _meets_soon(index) else local - MET).time().replace(second=0, microsecond=0)


def _today(zone: str) -> datetime.date:
    return INSTANT.astimezone(zoneinfo.ZoneInfo(zone)).date()


def _at(zone: str, day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=zoneinfo.ZoneInfo(zone))


def _users(rng: random.Random) -> list:
    """Eight people per project, each in one team, with e-mail addresses (e-mail goes to all of them)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    User = get_user_model()
    unusable = make_password(None)
    rows = [
        User(
            username=f"{_key(index).lower()}-{position}-{role}",
            email=f"{_key(index).lower()}-{position}@bench.example",
            first_name=rng.choice(["Aigerim", "Daniyar", "Olga", "Timur", "Asel", "Sergei", "Madina", "Nurlan"]),
            password=unusable,
        )
        for index in range(PROJECTS)
        for position, role in enumerate(TEAM_ROLES)
    ]
    return User.objects.bulk_create(rows, batch_size=BATCH)


def _people_settings(users: list, rng: random.Random) -> dict[str, int]:
    """Some members set a language, quiet hours (22:00-07:00) or their own working hours; some turn e-mail off."""
    from notifications.models import Channel, Kind, NotificationPreference, NotificationSettings

    settings_rows, preferences = [], []
    for number, user in enumerate(users):
        index = number // len(TEAM_ROLES)
        zone = _zone(index)
        language = ["", "", "ru", "kk", "en"][number % 5]
        quiet = number % 4 == 0
        own_hours = number % 16 == 5
        if language or quiet or own_hours:
            settings_rows.append(
                NotificationSettings(
                    user=user,
                    timezone=zone,
                    language=language,
                    quiet_from=datetime.time(22) if quiet else None,
                    quiet_to=datetime.time(7) if quiet else None,
                    work_from=datetime.time(9) if own_hours else None,
                    work_to=datetime.time(18) if own_hours else None,
                )
            )
        if number % 7 == 3:
            kind = rng.choice([Kind.ITEM_OVERDUE, Kind.STANDUP_NUDGE, Kind.DAILY_SCRUM_SOON])
            preferences.append(NotificationPreference(user=user, kind=kind, channel=Channel.EMAIL, enabled=False))
    NotificationSettings.objects.bulk_create(settings_rows, batch_size=BATCH)
    NotificationPreference.objects.bulk_create(preferences, batch_size=BATCH)
    return {"notification settings": len(settings_rows), "e-mail switched off (kind)": len(preferences)}


def seed_projects() -> dict[str, int]:
    """The 200 projects and everything the reminder rules read; returns row counts for the report."""
    from django.db import transaction

    rng = random.Random(6)
    with transaction.atomic():
        users = _users(rng)
        counts = _people_settings(users, rng)
        projects = _projects(users)
        counts |= _memberships(projects, users)
        sprints = _sprints(projects, users)
        items = _items(projects, users, sprints, rng)
        counts |= _impediments(projects, users, rng)
        counts |= _retrospectives(projects, users, sprints, items)
        counts |= _daily_scrums(projects, users, sprints)
    from backlog.models import BacklogItem
    from notifications.models import NotificationSettings

    counts = {
        "projects": len(projects),
        "users": len(users),
        "items": BacklogItem.objects.count(),
        "items due in the past week, assigned": BacklogItem.objects.filter(
            due_date__gte=INSTANT.date() - datetime.timedelta(days=7),
            due_date__lt=INSTANT.date(),
            assignee__isnull=False,
        ).count(),
        **counts,
        "own working hours": NotificationSettings.objects.filter(work_from__isnull=False).count(),
    }
    return counts


def _projects(users: list) -> list:
    from projects.services import create_project

    projects = []
    for index in range(PROJECTS):
        owner = users[index * len(TEAM_ROLES)]
        projects.append(
            create_project(
                key=_key(index),
                name=f"Reminders {index + 1} ({_zone(index)})",
                by=owner,
                timezone=_zone(index),
                daily_scrum_time=_daily_scrum_time(index),
                definition_of_done="Code reviewed\nTests pass",
            )
        )
    return projects


def _memberships(projects: list, users: list) -> dict[str, int]:
    from roles.models import Membership, Role

    roles = {(role.project_id, role.slug): role for role in Role.objects.filter(project__in=projects)}
    rows = []
    for index, project in enumerate(projects):
        for position, slug in enumerate(TEAM_ROLES):
            if position == 0:
                continue  # the creator, already the project's Scrum Master and administrator
            user = users[index * len(TEAM_ROLES) + position]
            rows.append(Membership(project=project, user=user, role=roles[(project.pk, slug)]))
    Membership.objects.bulk_create(rows, batch_size=BATCH)
    return {"memberships": Membership.objects.count()}


def _sprints(projects: list, users: list) -> dict[int, dict[str, object]]:
    """Per project: the completed sprint, the active one and (every third project) the planned next one."""
    from sprints.models import Sprint, SprintState

    rows = []
    for index, project in enumerate(projects):
        zone = _zone(index)
        owner = users[index * len(TEAM_ROLES)]
        rows.append(
            Sprint(
                project=project,
                number=1,
                name="Sprint 1",
                start_date=LAST_START,
                end_date=LAST_END,
                state=SprintState.COMPLETED,
                started_at=_at(zone, LAST_START, 10),
                started_by=owner,
                completed_at=_at(zone, LAST_END, 16),
                completed_by=owner,
            )
        )
        rows.append(
            Sprint(
                project=project,
                number=2,
                name="Sprint 2",
                goal="The increment in front of the stakeholders on Friday.",
                start_date=SPRINT_START,
                end_date=SPRINT_END,
                state=SprintState.ACTIVE,
                started_at=_at(zone, SPRINT_START, 10),
                started_by=owner,
            )
        )
        if index % 3 == 0:
            rows.append(Sprint(project=project, number=3, name="Sprint 3", start_date=NEXT_START, end_date=NEXT_END))
    Sprint.objects.bulk_create(rows, batch_size=BATCH)
    sprints: dict[int, dict[str, object]] = {}
    for sprint in Sprint.objects.filter(project__in=projects):
        sprints.setdefault(sprint.project_id, {})[sprint.state] = sprint
    return sprints


def _items(projects: list, users: list, sprints: dict, rng: random.Random) -> dict[int, list]:
    """300 items a project, 60 of them in the active sprint; 5% due in the past week with an assignee."""
    from backlog import ranking
    from backlog.models import BacklogItem, ItemCounter, Status
    from sprints.models import SprintState
    from tests.bench import seed

    statuses = {(status.project_id, status.name): status for status in Status.objects.filter(project__in=projects)}
    ranks = ranking.keys_between(None, None, ITEMS)
    due_count = round(ITEMS * DUE_SHARE)
    rows = []
    for index, project in enumerate(projects):
        team = users[index * len(TEAM_ROLES) : (index + 1) * len(TEAM_ROLES)]
        today = _today(project.timezone)
        active = sprints[project.pk][SprintState.ACTIVE]
        due_numbers = set(rng.sample(range(1, ITEMS + 1), due_count))
        for number in range(1, ITEMS + 1):
            in_sprint = number <= SPRINT_ITEMS
            status = (
                rng.choices(["To Do", "In Progress", "In Review", "Done"], weights=[30, 30, 10, 30])[0]
                if in_sprint
                else "To Do"
            )
            due_date, assignee = None, rng.choice(team[1:]) if rng.random() < 0.6 else None
            if number in due_numbers:  # due 1-7 days ago, assigned; one in five done since
                due_date, assignee = today - datetime.timedelta(days=rng.randint(1, 7)), rng.choice(team[1:])
                status = "Done" if rng.random() < 0.2 else status
            elif rng.random() < 0.05:  # due later on, or long ago: no reminder
                due_date = today + datetime.timedelta(days=rng.choice([-40, -20, 3, 10, 30]))
            estimate = rng.choice(["1", "2", "3", "5", "8", ""])
            rows.append(
                BacklogItem(
                    project=project,
                    number=number,
                    type=rng.choices(["story", "task", "bug"], weights=[55, 30, 15])[0],
                    title=seed._title(rng),
                    description=seed._description(rng),
                    status=statuses[(project.pk, status)],
                    assignee=assignee,
                    reporter=team[0],
                    estimate=estimate,
                    points=BacklogItem.points_for(estimate),
                    rank=ranks[number - 1],
                    sprint=active if in_sprint else None,
                    due_date=due_date,
                )
            )
    BacklogItem.objects.bulk_create(rows, batch_size=BATCH)
    ItemCounter.objects.bulk_create([ItemCounter(project=project, last_number=ITEMS) for project in projects])
    items: dict[int, list] = {}
    for item in BacklogItem.objects.filter(project__in=projects).order_by("project_id", "number"):
        items.setdefault(item.project_id, []).append(item)
    return items


def _impediments(projects: list, users: list, rng: random.Random) -> dict[str, int]:
    """Two open impediments past 48 h (Scrum Master and Product Owner), one fresh, two resolved."""
    from standups.models import Impediment, ImpedimentState

    rows, created = [], []
    for index, project in enumerate(projects):
        zone = project.timezone
        team = users[index * len(TEAM_ROLES) : (index + 1) * len(TEAM_ROLES)]
        today = _today(zone)
        for days in OLD_IMPEDIMENT_DAYS:
            raised = today - datetime.timedelta(days=days)
            rows.append(
                Impediment(
                    project=project,
                    description="Waiting for the staging database credentials from the client's IT department.",
                    raised_by=rng.choice(team[2:]),
                    raised_on=raised,
                )
            )
            created.append(_at(zone, raised, 11))
        rows.append(
            Impediment(project=project, description="CI runner out of disk.", raised_by=team[3], raised_on=today)
        )
        created.append(INSTANT - datetime.timedelta(hours=2))
        for days in (6, 9):
            raised = today - datetime.timedelta(days=days)
            rows.append(
                Impediment(
                    project=project,
                    description="The payment sandbox was down.",
                    raised_by=team[4],
                    raised_on=raised,
                    state=ImpedimentState.RESOLVED,
                    resolved_at=_at(zone, raised + datetime.timedelta(days=1), 12),
                    resolved_by=team[0],
                    resolved_on=raised + datetime.timedelta(days=1),
                )
            )
            created.append(_at(zone, raised, 11))
    rows = Impediment.objects.bulk_create(rows, batch_size=BATCH)
    # auto_now_add stamps every row with the wall clock: set the times the impediments were raised.
    by_time: dict[datetime.datetime, list[int]] = {}
    for row, at in zip(rows, created, strict=True):
        by_time.setdefault(at, []).append(row.pk)
    for at, pks in by_time.items():
        Impediment.objects.filter(pk__in=pks).update(created_at=at)
    return {"impediments (open past 48 h)": len(projects) * len(OLD_IMPEDIMENT_DAYS), "impediments": len(rows)}


def _retrospectives(projects: list, users: list, sprints: dict, items: dict) -> dict[str, int]:
    """The last sprint's closed retrospective: five actions, three of them due (two became backlog items)."""
    from retrospectives.models import ActionItem, Phase, Retrospective
    from sprints.models import SprintState

    retrospectives = Retrospective.objects.bulk_create(
        [
            Retrospective(
                project=project,
                sprint=sprints[project.pk][SprintState.COMPLETED],
                title="Sprint 1 retrospective",
                phase=Phase.CLOSED,
                closed_at=_at(project.timezone, LAST_END, 17),
            )
            for project in projects
        ]
    )
    rows = []
    for index, (project, retrospective) in enumerate(zip(projects, retrospectives, strict=True)):
        team = users[index * len(TEAM_ROLES) : (index + 1) * len(TEAM_ROLES)]
        today = _today(project.timezone)
        backlog = items[project.pk]
        day = datetime.timedelta(days=1)
        rows += [
            ActionItem(retrospective=retrospective, text="Pair on the flaky test", owner=team[2], due_date=today - day),
            ActionItem(
                retrospective=retrospective,
                text="Split stories before planning",
                owner=team[1],
                due_date=today,
                backlog_item=backlog[-1],
            ),
            ActionItem(
                retrospective=retrospective,
                text="Ask IT for a staging database",
                owner=None,
                due_date=today - 3 * day,
                backlog_item=backlog[-2],
            ),
            ActionItem(
                retrospective=retrospective, text="Timebox the daily", owner=team[0], due_date=today - day, done=True
            ),
            ActionItem(retrospective=retrospective, text="Update the DoD", owner=team[3], due_date=today + 7 * day),
        ]
    ActionItem.objects.bulk_create(rows, batch_size=BATCH)
    return {"retrospective actions": len(rows)}


def _daily_scrums(projects: list, users: list, sprints: dict) -> dict[str, int]:
    """Today's meeting: closed where it has been held; open, with three entries, in every other project meeting soon."""
    from sprints.models import SprintState
    from standups.models import DailyScrum, Entry, MeetingState

    meetings, members = [], []
    for index, project in enumerate(projects):
        if _zone(index) == ASLEEP_ZONE:
            continue
        soon = _meets_soon(index)
        if soon and index % 8 >= 4:
            continue  # nobody has opened today's page yet
        team = users[index * len(TEAM_ROLES) : (index + 1) * len(TEAM_ROLES)]
        today = _today(project.timezone)
        meetings.append(
            DailyScrum(
                project=project,
                sprint=sprints[project.pk][SprintState.ACTIVE],
                date=today,
                state=MeetingState.OPEN if soon else MeetingState.CLOSED,
                ended_at=None if soon else INSTANT - datetime.timedelta(minutes=35),
            )
        )
        members.append(team[1:4] if soon else team)
    meetings = DailyScrum.objects.bulk_create(meetings)
    entries = [
        Entry(meeting=meeting, user=user, done="Finished the export.", next="Review the board.")
        for meeting, team in zip(meetings, members, strict=True)
        for user in team
    ]
    Entry.objects.bulk_create(entries, batch_size=BATCH)
    return {"daily scrums today": len(meetings), "entries": len(entries)}


# --- measuring ------------------------------------------------------------------------------

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([\w.]+)"?', re.IGNORECASE)


def statement_of(sql: str) -> str:
    """``SELECT notifications_notification``: the verb and the first table, for the breakdown."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return verb
    match = _TABLE.search(sql)
    return f"{verb} {match.group(1)}" if match else verb


class _Counted:
    """An execute wrapper: each statement's time and kind (every statement, however many)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.statements: Counter[str] = Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.append(time.perf_counter() - started)
            self.statements[statement_of(sql)] += 1


@dataclass
class Row:
    name: str
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    sql_seconds: list[float] = field(default_factory=list)
    query_counts: list[int] = field(default_factory=list)
    statements: Counter[str] = field(default_factory=Counter)  # of one call (the last)
    produced: list[int] = field(default_factory=list)  # reminders found / rows written, per call
    note: str = ""
    slowest_query: tuple[float, str] | None = None  # for the plan (reads only)

    def median_ms(self, values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f}" if values else "-"

    def p95_ms(self) -> str:
        from tests.bench.measure import percentile

        return f"{percentile(self.latencies, 0.95) * 1000:.1f}" if self.latencies else "-"

    def queries_text(self) -> str:
        if not self.query_counts:
            return "-"
        low, high = min(self.query_counts), max(self.query_counts)
        common = Counter(self.query_counts).most_common(1)[0][0]
        return f"{common:,}" if low == high else f"{common:,} ({low:,}-{high:,})"

    def produced_text(self) -> str:
        if not self.produced:
            return "-"
        low, high = min(self.produced), max(self.produced)
        return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def timed(row: Row, call: Callable[[], int | None], *, capture_sql: bool = False) -> None:
    """One timed call: wall and CPU time, SQL time, statements; ``call`` returns what it produced."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counted = _Counted()
    # Django's query log (for the plans) only where asked: it keeps 9,000 statements, a first tick runs more.
    connection.queries_log.clear()
    capture = CaptureQueriesContext(connection) if capture_sql else contextlib.nullcontext()
    with capture as captured, connection.execute_wrapper(counted):
        started, cpu_started = time.perf_counter(), time.thread_time()
        produced = call()
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    row.latencies.append(elapsed)
    row.cpu_seconds.append(cpu)
    row.sql_seconds.append(sum(counted.seconds))
    row.query_counts.append(len(counted.seconds))
    row.statements = counted.statements
    if produced is not None:
        row.produced.append(produced)
    logged = captured.captured_queries if captured is not None else []
    if logged and len(logged) == len(counted.seconds):  # the log keeps milliseconds: use our clock
        slowest = max(zip(counted.seconds, logged, strict=True), key=lambda pair: pair[0], default=None)
        if slowest is not None and (row.slowest_query is None or slowest[0] > row.slowest_query[0]):
            row.slowest_query = (slowest[0], slowest[1]["sql"])


def repeat(row: Row, call: Callable[[], int | None], profile: Profile, *, capture_sql: bool = False) -> Row:
    for _ in range(profile.warmups):
        call()
    deadline = time.perf_counter() + profile.row_budget
    for _ in range(profile.repeats):
        timed(row, call, capture_sql=capture_sql)
        if time.perf_counter() > deadline and len(row.latencies) >= 5:
            break
    return row


@dataclass
class Result:
    rows: list[Row]
    due_by_kind: Counter[str]
    written_by_kind: dict[tuple[str, str], int]
    pending_later: int  # e-mail rows held back by quiet hours
    published: int  # deliveries the first tick queued after commit (patched out)
    per_reminder: dict[str, float]  # statements of the first tick per reminder written


def measure(profile: Profile) -> Result:
    from unittest import mock

    import time_machine
    from django.db import connection
    from django.db.models import Count
    from django.test import override_settings
    from django.utils import timezone

    from notifications import reminders, schedule, services
    from notifications.models import Channel, Notification, State

    published: list[int] = []
    with (
        time_machine.travel(INSTANT, tick=True),
        mock.patch.object(services, "publish_many", published.extend),
        override_settings(EMAIL_BACKEND=LOCMEM),
    ):
        due = schedule.due_reminders(INSTANT)
        due_by_kind = Counter(reminder.kind for reminder in due)
        rows = [
            repeat(
                Row("schedule.due_reminders (reads)"),
                lambda: len(schedule.due_reminders(INSTANT)),
                profile,
                capture_sql=True,
            )
        ]

        first = Row("reminders.send_due_reminders, first tick (writes)")
        for attempt in range(profile.first_ticks):
            if attempt:  # the outbox emptied again, out of the timing
                Notification.objects.all().delete()
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("VACUUM ANALYZE notifications_notification")
                published.clear()
            timed(first, lambda: reminders.send_due_reminders(INSTANT))
        rows.append(first)
        published_count = len(published)
        per_reminder = {statement: count / len(due) for statement, count in first.statements.most_common()}

        rows.append(
            repeat(
                Row("reminders.send_due_reminders, second tick (nothing new)"),
                lambda: reminders.send_due_reminders(INSTANT),
                profile,
                capture_sql=True,
            )
        )
        written_by_kind = {
            (row["kind"], row["channel"]): row["n"]
            for row in Notification.objects.values("kind", "channel").annotate(n=Count("pk")).order_by("kind")
        }

        now = timezone.now()  # the moved clock has ticked on through the ticks above
        pending_later = Notification.objects.filter(state=State.PENDING, next_attempt_at__gt=now).count()
        for channel in (Channel.IN_APP, Channel.EMAIL):
            ids = iter(
                Notification.objects.filter(channel=channel, state=State.PENDING, next_attempt_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[: profile.warmups + profile.deliveries]
            )

            def deliver_next(ids=ids) -> int:
                row = services.deliver_notification(next(ids))
                return 1 if row is not None and row.state == State.SENT else 0

            delivery = Row(f"services.deliver_notification, one {channel} row")
            try:
                for _ in range(profile.warmups):
                    deliver_next()
                for _ in range(profile.deliveries):
                    timed(delivery, deliver_next, capture_sql=True)
            except StopIteration:  # fewer rows due than asked for: measure those there are
                pass
            if delivery.latencies:
                delivery.produced = [sum(delivery.produced)]  # rows sent in all
            else:
                delivery.note = "no pending row due"
            rows.append(delivery)
    return Result(
        rows=rows,
        due_by_kind=due_by_kind,
        written_by_kind=written_by_kind,
        pending_later=pending_later,
        published=published_count,
        per_reminder=per_reminder,
    )


# --- the report ---------------------------------------------------------------------------


def render(run: harness.Run, profile: Profile) -> str:
    result, plans, counts, database, version = run.result, run.plans, run.seeded, run.database, run.version
    setup, wall, load_before = run.setup, run.wall, run.load_before
    lines = [
        *report_head(
            f"Notifications benchmark: {database.vendor}",
            database,
            version,
            seeded="migrated and seeded anew",
            wall=wall,
            quick=profile is QUICK,
        ),
        f"- Load average at start {load_before}, at end {_load_average()}.",
        "- Data: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()) + ".",
        f"- Instant: {INSTANT:%Y-%m-%d %H:%M} Asia/Almaty ({INSTANT.astimezone(datetime.UTC):%H:%M} UTC), a"
        " Thursday, the eve of the sprint's end; the clock is moved there (time-machine, ticking).",
        "- Due at the instant: "
        + ", ".join(f"{kind} {count:,}" for kind, count in sorted(result.due_by_kind.items()))
        + f" ({sum(result.due_by_kind.values()):,} reminders).",
        "- Written by the first tick: "
        + ", ".join(f"{kind}/{channel} {count:,}" for (kind, channel), count in result.written_by_kind.items())
        + f"; {result.pending_later:,} e-mails wait for the end of quiet hours;"
        f" {result.published:,} deliveries queued after commit (publishing patched out).",
        "- Median and p95 are wall-clock per call; CPU ms is this thread's CPU time (on SQLite the database"
        " engine's too); SQL ms is the time inside the driver's execute calls; queries per call are counted by an"
        " execute wrapper (every statement, savepoints included; not the COMMITs). The first tick runs"
        f" {profile.first_ticks} time(s), each on an emptied outbox, without Django's query log (the other rows"
        " keep it, for the plans); a delivery row is one row, once.",
        "",
        f"## In process ({profile.warmups} warm-ups, then up to {profile.repeats} timed calls)",
        "",
        "| call | n | median ms | p95 ms | CPU ms | SQL ms | queries/call | reminders / rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result.rows:
        if not row.latencies:
            lines.append(f"| {row.name} | - | {row.note or 'no result'} | - | - | - | - | - |")
            continue
        lines.append(
            f"| {row.name} | {len(row.latencies)} | {row.median_ms(row.latencies)} | {row.p95_ms()} | "
            f"{row.median_ms(row.cpu_seconds)} | {row.median_ms(row.sql_seconds)} | {row.queries_text()} | "
            f"{row.produced_text()} |"
        )
    lines += [
        "",
        "The last column: reminders found (due_reminders), outbox rows written (ticks), rows sent in all (deliveries).",
        "",
        "## Statements per call, by kind and table",
        "",
        "| call | statements |",
        "|---|---|",
    ]
    for row in result.rows:
        text = ", ".join(f"{statement} x{count:,}" for statement, count in row.statements.most_common())
        lines.append(f"| {row.name} | {text or '-'} |")
    total = sum(result.due_by_kind.values())
    lines += ["", f"First tick, statements per reminder written ({total:,} reminders):", ""]
    lines += [f"- {statement}: {share:.2f}" for statement, share in result.per_reminder.items() if share >= 0.005]
    lines.append("- (the rest, a few statements per tick: below 0.005)")
    lines += ["", "## Setup (not measured above)", "", "| migrate s | seed s | VACUUM ANALYZE s |", "|---:|---:|---:|"]
    settle = f"{setup.get('settle', 0):.1f}" if database.vendor == "postgresql" else "-"
    lines.append(f"| {setup.get('migrate', 0):.1f} | {setup.get('seed', 0):.1f} | {settle} |")
    details = ["", "## Plans: the slowest query of a call of each reading row", ""]
    for name, seconds, sql, plan in plans:
        details += [f"### {name} ({seconds * 1000:.1f} ms)", "", "```sql", sql, "```", "", "```", plan, "```", ""]
    return "\n".join(lines) + "\n" + "\n".join(details)


if __name__ == "__main__":
    sys.exit(main())
