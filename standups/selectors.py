"""Reads of the daily scrum: the day's board, history, streaks, impediments, export."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet

from backlog.models import BacklogItem, StatusCategory
from projects.models import Project
from roles.models import Membership
from standups.models import DailyScrum, Entry, Impediment, ImpedimentState
from standups.services import team_memberships


@dataclass
class MemberRow:
    membership: Membership
    entry: Entry | None
    cards: list[BacklogItem] = field(default_factory=list)
    present: bool | None = None

    @property
    def user(self):
        return self.membership.user


def entries_of(meeting: DailyScrum) -> QuerySet[Entry]:
    return (
        Entry.objects.filter(meeting=meeting)
        .select_related("user", "impediment")
        .prefetch_related(Prefetch("items", queryset=BacklogItem.objects.select_related("project")))
    )


def day_board(meeting: DailyScrum) -> list[MemberRow]:
    """Every team member with their entry and their unfinished cards of the meeting's sprint (constant queries).

    In speaking order once the meeting has started, else in role order.
    """
    team = team_memberships(meeting.project)
    entries = {entry.user_id: entry for entry in entries_of(meeting)}
    cards: dict[int, list[BacklogItem]] = {}
    sprint_items = (
        BacklogItem.objects.filter(sprint_id=meeting.sprint_id, assignee_id__in=[m.user_id for m in team])
        .exclude(status__category=StatusCategory.DONE)
        .select_related("project", "status")
        .order_by("rank")
    )
    for item in sprint_items:
        if item.assignee_id is not None:
            cards.setdefault(item.assignee_id, []).append(item)
    rows = [
        MemberRow(
            membership=m,
            entry=entries.get(m.user_id),
            cards=cards.get(m.user_id, []),
            present=meeting.attendance.get(str(m.user_id)),
        )
        for m in team
    ]
    if meeting.speaking_order:
        position = {user_id: i for i, user_id in enumerate(meeting.speaking_order)}
        rows.sort(key=lambda row: position.get(row.user.pk, len(position)))
    return rows


def previous_meeting(meeting: DailyScrum) -> DailyScrum | None:
    return DailyScrum.objects.filter(project_id=meeting.project_id, date__lt=meeting.date).order_by("-date").first()


def suggested_done(meeting: DailyScrum, user) -> str:
    """The member's "next" at the previous daily scrum: the prompt for today's "done"."""
    return (
        Entry.objects.filter(meeting__project_id=meeting.project_id, meeting__date__lt=meeting.date, user=user)
        .order_by("-meeting__date")
        .values_list("next", flat=True)
        .first()
        or ""
    )


def meeting_history(project: Project) -> QuerySet[DailyScrum]:
    return (
        DailyScrum.objects.filter(project=project)
        .select_related("sprint")
        .annotate(entry_count=Count("entries"))
        .order_by("-date")
    )


def streak(project: Project, user, *, today: datetime.date) -> int:
    """Consecutive daily scrums, latest first, with the member's entry; today's does not break it while open."""
    meetings = DailyScrum.objects.filter(project=project, date__lte=today).order_by("-date")
    wrote = set(Entry.objects.filter(meeting__project=project, user=user).values_list("meeting_id", flat=True))
    count = 0
    for meeting_id, date, state in meetings.values_list("pk", "date", "state"):
        if meeting_id in wrote:
            count += 1
        elif date == today and state == "open":
            continue
        else:
            break
    return count


def impediments(project: Project, *, state: str | None = None) -> QuerySet[Impediment]:
    found = (
        Impediment.objects.filter(project=project)
        .select_related("owner", "raised_by", "resolved_by")
        .prefetch_related(Prefetch("items", queryset=BacklogItem.objects.select_related("project")))
    )
    if state:
        found = found.filter(state=state)
    return found


def open_impediments(project: Project) -> QuerySet[Impediment]:
    return impediments(project, state=ImpedimentState.OPEN).order_by("raised_on", "pk")


EXPORT_FIELDS = ["date", "member", "done", "next", "blockers", "items"]


def export_rows(project: Project, *, start: datetime.date, end: datetime.date) -> list[dict]:
    """One row per entry of the daily scrums from ``start`` to ``end``, oldest first."""
    entries = (
        Entry.objects.filter(meeting__project=project, meeting__date__range=(start, end))
        .select_related("meeting", "user")
        .prefetch_related(Prefetch("items", queryset=BacklogItem.objects.select_related("project")))
        .order_by("meeting__date", "user__username")
    )
    return [
        {
            "date": entry.meeting.date.isoformat(),
            "member": entry.user.username,
            "done": entry.done,
            "next": entry.next,
            "blockers": entry.blockers,
            "items": [item.key for item in entry.items.all()],
        }
        for entry in entries
    ]
