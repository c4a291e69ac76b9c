"""Reads: which reminders are due at an instant, the inbox, the unread count."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from notifications.models import Notification
from projects.models import Project
from roles.models import Membership
from sprints.models import Sprint, SprintState


@dataclass(frozen=True)
class DueDailyScrum:
    project: Project
    day: datetime.date  # the meeting's date in the project's time zone
    starts_at: datetime.datetime
    recipients: tuple  # users


def reminder_minutes() -> int:
    return int(getattr(settings, "DAILY_SCRUM_REMINDER_MINUTES", 10))


def daily_scrums_due(now: datetime.datetime | None = None) -> list[DueDailyScrum]:
    """Daily scrums whose reminder is due at ``now``: from N minutes before the start until it starts.

    A window rather than one exact minute, so a late or skipped tick still reminds; the
    outbox's unique key keeps a second tick in the window from reminding twice.
    """
    now = now or timezone.now()
    lead = datetime.timedelta(minutes=reminder_minutes())
    sprints = Sprint.objects.filter(state=SprintState.ACTIVE, project__archived=False).select_related("project")
    due = []
    for sprint in sprints.order_by("project__key"):
        project = sprint.project
        tz = project.tzinfo
        today = now.astimezone(tz).date()
        # The meeting may be tomorrow when it starts just after midnight.
        for day in (today, today + datetime.timedelta(days=1)):
            # Only the sprint's days: past its end date there is no daily scrum to go to.
            if day.isoweekday() not in project.working_days or not sprint.start_date <= day <= sprint.end_date:
                continue
            starts_at = datetime.datetime.combine(day, project.daily_scrum_time, tzinfo=tz)
            if starts_at - lead <= now < starts_at:
                due.append(DueDailyScrum(project=project, day=day, starts_at=starts_at, recipients=()))
    if not due:
        return []
    members: dict[int, list] = {}
    memberships = Membership.objects.filter(project__in=[d.project for d in due]).select_related("user")
    for membership in memberships.order_by("user__username"):
        if membership.user.is_active:
            members.setdefault(membership.project_id, []).append(membership.user)
    return [
        DueDailyScrum(
            project=d.project, day=d.day, starts_at=d.starts_at, recipients=tuple(members.get(d.project.pk, []))
        )
        for d in due
    ]


def inbox(user, *, unread_only: bool = False):
    notifications = Notification.objects.inbox(user).select_related("project")
    return notifications.unread() if unread_only else notifications


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.inbox(user).unread().count()
