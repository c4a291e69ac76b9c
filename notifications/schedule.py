"""Which reminders are due at an instant: reads only, so every rule can be tested at a frozen time.

Each rule is a window rather than one exact minute (a late or skipped tick still reminds)
with a fixed ``local_date`` in the outbox key, so a second tick inside the window, or a
second beat, writes nothing new. Times are the project's (or the member's own) local time.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from backlog.models import BacklogItem, StatusCategory
from notifications import selectors
from notifications.models import Kind, NotificationSettings
from projects.models import Project
from retrospectives.models import ActionItem
from roles.models import Membership, Permission
from sprints.models import Sprint, SprintState
from standups.models import DailyScrum, Entry, Impediment, ImpedimentState, MeetingState

SCRUM_MASTER = "scrum-master"
PRODUCT_OWNER = "product-owner"
# Reminders about dates already past look back this far, so a stopped beat catches up without
# sending about last year's items.
CATCH_UP = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Reminder:
    recipient: Any  # a user
    kind: str
    subject: str
    local_date: datetime.date
    project: Project
    url: str
    payload: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        return (self.recipient.pk, self.kind, self.subject, self.local_date)


def nudge_minutes() -> int:
    return int(getattr(settings, "DAILY_SCRUM_NUDGE_MINUTES", 60))


def escalation_hours() -> int:
    return int(getattr(settings, "BLOCKER_ESCALATION_HOURS", 24))


@dataclass
class _Team:
    """A project's active members, read once per tick."""

    project: Project
    members: list = field(default_factory=list)  # memberships, role and user loaded

    def users(self, *, permission: str | None = None) -> list:
        return [m.user for m in self.members if permission is None or permission in m.effective_permissions]

    def with_role(self, slug: str) -> list:
        return [m.user for m in self.members if m.role.slug == slug]

    def scrum_masters(self) -> list:
        return self.with_role(SCRUM_MASTER) or [m.user for m in self.members if m.is_admin]

    def product_owners(self) -> list:
        return self.with_role(PRODUCT_OWNER) or self.scrum_masters()


def _teams(project_ids: Iterable[int]) -> dict[int, _Team]:
    teams: dict[int, _Team] = {}
    memberships = (
        Membership.objects.filter(project_id__in=set(project_ids), user__is_active=True, project__archived=False)
        .select_related("user", "role", "project")
        .order_by("project_id", "user__username")
    )
    for membership in memberships:
        teams.setdefault(membership.project_id, _Team(membership.project)).members.append(membership)
    return teams


def _local(project: Project, now: datetime.datetime) -> datetime.datetime:
    return now.astimezone(project.tzinfo)


def _at(project: Project, day: datetime.date, time: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=project.tzinfo)


def _after_daily_scrum_time(project: Project, now: datetime.datetime) -> bool:
    """Day-level reminders go out from the daily scrum time (the team's morning) until midnight."""
    local = _local(project, now)
    return local >= _at(project, local.date(), project.daily_scrum_time)


def _sprint_url(sprint: Sprint) -> str:
    return reverse("sprints:board", kwargs={"key": sprint.project.key, "pk": sprint.pk})


def _active_sprints() -> list[Sprint]:
    return list(
        Sprint.objects.filter(state=SprintState.ACTIVE, project__archived=False)
        .select_related("project")
        .order_by("project__key")
    )


def daily_scrum_soon(now: datetime.datetime) -> Iterator[Reminder]:
    for due in selectors.daily_scrums_due(now):
        project = due.project
        url = reverse("standups:day", kwargs={"key": project.key, "date": due.day.isoformat()})
        payload = {
            "project": project.key,
            "date": due.day.isoformat(),
            "minutes": max(1, round((due.starts_at - now).total_seconds() / 60)),
            "time": due.starts_at.strftime("%H:%M"),
            "timezone": project.timezone,
        }
        for user in due.recipients:
            subject = f"standup:{project.key}:{due.day.isoformat()}"
            yield Reminder(user, Kind.DAILY_SCRUM_SOON, subject, due.day, project, url, payload)


def _next_meeting_day(project: Project, sprint: Sprint, since: datetime.datetime) -> datetime.date | None:
    """The first daily scrum of the sprint starting at or after ``since`` (a working day), if any."""
    day = since.astimezone(project.tzinfo).date()
    for _offset in range(8):
        if (
            day.isoweekday() in project.working_days
            and sprint.start_date <= day
            and _at(project, day, project.daily_scrum_time) >= since
        ):
            return day if day <= sprint.end_date else None
        day += datetime.timedelta(days=1)
    return None


def standup_nudges(now: datetime.datetime, sprints: list[Sprint], teams: dict[int, _Team]) -> Iterator[Reminder]:
    """Members with no entry yet for their next daily scrum.

    Members who set working hours are nudged from the start of their own working day (their time
    zone and days) about the first daily scrum from then on: a member in New York on an Almaty
    project hears at 09:00 New York about Almaty's next morning, once. Everyone else is nudged
    from N minutes (60) before the project's daily scrum until it starts.
    """
    candidates = []  # (project, day, user)
    member_ids = {m.user_id for s in sprints if s.project_id in teams for m in teams[s.project_id].members}
    own_hours = {
        row.user_id: row for row in NotificationSettings.objects.filter(user_id__in=member_ids, work_from__isnull=False)
    }
    lead = datetime.timedelta(minutes=nudge_minutes())
    for sprint in sprints:
        project = sprint.project
        team = teams.get(project.pk)
        if team is None:
            continue
        today = _local(project, now).date()
        meets_today = today.isoweekday() in project.working_days and sprint.start_date <= today <= sprint.end_date
        starts_at = _at(project, today, project.daily_scrum_time)
        for user in team.users(permission=Permission.COMMENT):
            own = own_hours.get(user.pk)
            day_start = own.working_day_start(now, default_days=project.working_days) if own is not None else None
            if day_start is not None:
                day = _next_meeting_day(project, sprint, day_start)
                if day is not None:
                    candidates.append((project, day, user))
            elif (own is None or not own.has_working_hours) and meets_today and starts_at - lead <= now < starts_at:
                candidates.append((project, today, user))
    if not candidates:
        return
    meetings = {
        (m.project_id, m.date): m
        for m in DailyScrum.objects.filter(
            project_id__in={p.pk for p, _d, _u in candidates}, date__in={d for _p, d, _u in candidates}
        )
    }
    reported = set(Entry.objects.filter(meeting__in=list(meetings.values())).values_list("meeting_id", "user_id"))
    for project, day, user in candidates:
        meeting = meetings.get((project.pk, day))
        if meeting is not None and (meeting.state == MeetingState.CLOSED or (meeting.pk, user.pk) in reported):
            continue
        url = reverse("standups:day", kwargs={"key": project.key, "date": day.isoformat()})
        payload = {"project": project.key, "date": day.isoformat()}
        yield Reminder(user, Kind.STANDUP_NUDGE, f"standup:{project.key}:{day.isoformat()}", day, project, url, payload)


def blocker_escalations(now: datetime.datetime, teams: dict[int, _Team]) -> Iterator[Reminder]:
    """An impediment open N hours goes to the Scrum Master; open 2N hours, to the Product Owner too."""
    hours = escalation_hours()
    threshold = datetime.timedelta(hours=hours)
    impediments = (
        Impediment.objects.filter(state=ImpedimentState.OPEN, project__archived=False, created_at__lte=now - threshold)
        .select_related("project")
        .order_by("pk")
    )
    for impediment in impediments:
        project = impediment.project
        team = teams.get(project.pk)
        if team is None:
            continue
        age = now - impediment.created_at
        url = reverse("standups:impediments", kwargs={"key": project.key})
        payload = {
            "project": project.key,
            "impediment": impediment.pk,
            "hours": int(age.total_seconds() // 3600),
            "description": impediment.description[:500],
        }
        levels = [("sm", team.scrum_masters())]
        if age >= 2 * threshold:
            levels.append(("po", team.product_owners()))
        for level, users in levels:
            for user in users:
                subject = f"impediment:{impediment.pk}:{level}"
                yield Reminder(user, Kind.BLOCKER_ESCALATED, subject, impediment.raised_on, project, url, payload)


def _last_working_day_before(project: Project, day: datetime.date, floor: datetime.date) -> datetime.date | None:
    candidate = day - datetime.timedelta(days=1)
    while candidate >= floor:
        if candidate.isoweekday() in project.working_days:
            return candidate
        candidate -= datetime.timedelta(days=1)
    return None


def sprint_ends_tomorrow(now: datetime.datetime, sprints: list[Sprint], teams: dict[int, _Team]) -> Iterator[Reminder]:
    """On the last working day before the sprint's end, when items in it have not been started."""
    due = []
    for sprint in sprints:
        project = sprint.project
        today = _local(project, now).date()
        eve = _last_working_day_before(project, sprint.end_date, sprint.start_date)
        if eve == today and _after_daily_scrum_time(project, now) and project.pk in teams:
            due.append(sprint)
    if not due:
        return
    unstarted = {
        row["sprint_id"]: row
        for row in BacklogItem.objects.filter(sprint__in=due, status__category=StatusCategory.TODO)
        .order_by()
        .values("sprint_id")
        .annotate(count=Count("pk"))
    }
    for sprint in due:
        row = unstarted.get(sprint.pk)
        if not row or not row["count"]:
            continue
        project = sprint.project
        today = _local(project, now).date()
        payload = {"project": project.key, "sprint": sprint.name, "unstarted": row["count"]}
        for user in teams[project.pk].users():
            yield Reminder(
                user, Kind.SPRINT_ENDS_TOMORROW, f"sprint:{sprint.pk}", today, project, _sprint_url(sprint), payload
            )


def sprint_past_end(now: datetime.datetime, sprints: list[Sprint], teams: dict[int, _Team]) -> Iterator[Reminder]:
    """An active sprint whose end date is behind it: the Scrum Master completes it, then review and retro."""
    for sprint in sprints:
        project = sprint.project
        today = _local(project, now).date()
        if today <= sprint.end_date or not _after_daily_scrum_time(project, now) or project.pk not in teams:
            continue
        day_after = sprint.end_date + datetime.timedelta(days=1)
        payload = {"project": project.key, "sprint": sprint.name, "overdue": True}
        for user in teams[project.pk].scrum_masters():
            yield Reminder(
                user,
                Kind.RETROSPECTIVE_DUE,
                f"sprint:{sprint.pk}:overdue",
                day_after,
                project,
                _sprint_url(sprint),
                payload,
            )


def planning_due(now: datetime.datetime, sprints: list[Sprint], teams: dict[int, _Team]) -> Iterator[Reminder]:
    """From two days before the active sprint ends, while no next sprint is planned: SM and PO."""
    due = []
    for sprint in sprints:
        project = sprint.project
        today = _local(project, now).date()
        first = sprint.end_date - datetime.timedelta(days=2)
        if first <= today <= sprint.end_date and _after_daily_scrum_time(project, now) and project.pk in teams:
            due.append(sprint)
    if not due:
        return
    planned = set(
        Sprint.objects.filter(project__in=[s.project_id for s in due], state=SprintState.PLANNED).values_list(
            "project_id", flat=True
        )
    )
    for sprint in due:
        project = sprint.project
        if project.pk in planned:
            continue
        team = teams[project.pk]
        recipients = {user.pk: user for user in [*team.scrum_masters(), *team.product_owners()]}
        url = reverse("sprints:list", kwargs={"key": project.key})
        payload = {"project": project.key, "sprint": sprint.name, "end": sprint.end_date.isoformat()}
        first = sprint.end_date - datetime.timedelta(days=2)
        for user in recipients.values():
            yield Reminder(user, Kind.PLANNING_DUE, f"sprint:{sprint.pk}", first, project, url, payload)


def _today_bounds(now: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """Every project's local date lies between these (UTC-12 .. UTC+14)."""
    utc_day = now.astimezone(datetime.UTC).date()
    return utc_day - datetime.timedelta(days=1), utc_day + datetime.timedelta(days=1)


def items_overdue(now: datetime.datetime, teams: dict[int, _Team]) -> Iterator[Reminder]:
    """Items past their due date, not done, to their assignee: once per item and due date, the next morning."""
    earliest, latest = _today_bounds(now)
    items = (
        BacklogItem.objects.filter(
            due_date__gte=earliest - CATCH_UP,
            due_date__lt=latest,
            assignee__isnull=False,
            project__archived=False,
        )
        .exclude(status__category=StatusCategory.DONE)
        .exclude(retrospective_actions__isnull=False)
        .select_related("project", "assignee")
        .order_by("pk")
    )
    for item in items:
        project = item.project
        today = _local(project, now).date()
        member_ids = {m.user_id for m in teams[project.pk].members} if project.pk in teams else set()
        due = item.due_date
        if due is None or not (today - CATCH_UP <= due < today) or item.assignee_id not in member_ids:
            continue
        if not _after_daily_scrum_time(project, now):
            continue
        url = reverse("backlog:item", kwargs={"key": project.key, "item_key": item.key})
        payload = {"project": project.key, "item": item.key, "title": item.title, "due": due.isoformat()}
        yield Reminder(item.assignee, Kind.ITEM_OVERDUE, f"item:{item.pk}", due, project, url, payload)


def action_items_due(now: datetime.datetime, teams: dict[int, _Team]) -> Iterator[Reminder]:
    """Open retrospective actions on (or past) their due date, to their owner, else the Scrum Master."""
    earliest, latest = _today_bounds(now)
    actions = (
        ActionItem.objects.filter(
            done=False,
            due_date__gte=earliest - CATCH_UP,
            due_date__lte=latest,
            retrospective__project__archived=False,
        )
        .exclude(backlog_item__status__category=StatusCategory.DONE)
        .select_related("retrospective__project", "owner", "backlog_item__project")
        .order_by("pk")
    )
    for action in actions:
        project = action.retrospective.project
        team = teams.get(project.pk)
        today = _local(project, now).date()
        due = action.due_date
        if team is None or due is None or not (today - CATCH_UP <= due <= today):
            continue
        if not _after_daily_scrum_time(project, now):
            continue
        member_ids = {m.user_id for m in team.members}
        recipients = [action.owner] if action.owner_id in member_ids else team.scrum_masters()
        if action.backlog_item is not None:
            url = reverse("backlog:item", kwargs={"key": project.key, "item_key": action.backlog_item.key})
        else:
            url = reverse("retrospectives:detail", kwargs={"key": project.key, "pk": action.retrospective_id})
        payload = {"project": project.key, "text": action.text[:500], "due": due.isoformat()}
        for user in recipients:
            yield Reminder(user, Kind.ACTION_ITEM_DUE, f"action:{action.pk}", due, project, url, payload)


def due_reminders(now: datetime.datetime | None = None) -> list[Reminder]:
    """Every reminder due at ``now``, including those already written (the outbox key drops them)."""
    now = now or timezone.now()
    sprints = _active_sprints()
    earliest, latest = _today_bounds(now)
    # Only the projects some rule may concern: their teams are read once, in one query.
    impediment_projects = Impediment.objects.filter(
        state=ImpedimentState.OPEN, created_at__lte=now - datetime.timedelta(hours=escalation_hours())
    ).values_list("project_id", flat=True)
    item_projects = BacklogItem.objects.filter(
        due_date__gte=earliest - CATCH_UP, due_date__lt=latest, assignee__isnull=False
    ).values_list("project_id", flat=True)
    action_projects = ActionItem.objects.filter(
        done=False, due_date__gte=earliest - CATCH_UP, due_date__lte=latest
    ).values_list("retrospective__project_id", flat=True)
    project_ids = {s.project_id for s in sprints}
    for ids in (impediment_projects, item_projects, action_projects):
        project_ids |= set(ids.order_by().distinct())
    teams = _teams(project_ids)
    reminders: list[Reminder] = []
    for rule in (
        daily_scrum_soon(now),
        standup_nudges(now, sprints, teams),
        blocker_escalations(now, teams),
        sprint_ends_tomorrow(now, sprints, teams),
        sprint_past_end(now, sprints, teams),
        planning_due(now, sprints, teams),
        items_overdue(now, teams),
        action_items_due(now, teams),
    ):
        reminders.extend(rule)
    return reminders


def group_by_project(reminders: Iterable[Reminder]) -> dict[int, list[Reminder]]:
    grouped: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        grouped[reminder.project.pk].append(reminder)
    return grouped
