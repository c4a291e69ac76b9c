"""Permission-matrix rows for the daily scrum's API routes (see tests/matrix.py).

Members read everything (stakeholders included). Every team role writes its own entry and
raises or resolves impediments ("comment"); stakeholders only watch. Starting, marking
attendance and ending the meeting need "run the daily scrum" (Scrum Master; administrators).
"""

import datetime

from backlog import services as backlog_services
from sprints import services as sprint_services
from sprints.models import Sprint
from standups import services
from standups.models import DailyScrum, Entry, Impediment
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, editors, manage, members


def todays_meeting(ctx: Ctx) -> DailyScrum:
    """Today's daily scrum of an active sprint, made directly: the matrix runs on any weekday."""
    project = ctx.project
    meeting = DailyScrum.objects.filter(project=project).first()
    if meeting is None:
        sprint = Sprint.objects.filter(project=project).first()
        if sprint is None:
            sprint = sprint_services.create_sprint(project=project, by=ctx.scrum_master)
            sprint_services.start_sprint(sprint=sprint, by=ctx.scrum_master)
        meeting = DailyScrum.objects.create(project=project, sprint=sprint, date=services.local_today(project))
    return meeting


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def project_with_meeting(ctx: Ctx) -> dict:
    todays_meeting(ctx)
    return project_key(ctx)


def day(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "date": todays_meeting(ctx).date.isoformat()}


def running_day(ctx: Ctx) -> dict:
    meeting = todays_meeting(ctx)
    meeting.project = ctx.project
    services.start_meeting(meeting=meeting, by=ctx.scrum_master)
    return day(ctx)


def impediment(ctx: Ctx) -> dict:
    found = services.raise_impediment(project=ctx.project, by=ctx.developer, description="VPN down")
    return {"key": ctx.project.key, "pk": found.pk}


STANDUPS_ROWS: list[Row] = [
    Row("api:standup-list", "GET", project_with_meeting, members(200)),
    Row("api:standup-list", "POST", project_with_meeting, editors(200), data=lambda ctx: {}),
    Row("api:standup-export", "GET", project_with_meeting, members(200)),
    Row("api:standup-detail", "GET", day, members(200)),
    Row("api:standup-start", "POST", day, manage(200), data=lambda ctx: {"order": "by_role"}),
    Row(
        "api:standup-attendance",
        "POST",
        running_day,
        manage(200),
        data=lambda ctx: {"member": ctx.developer.username, "present": False},
    ),
    Row("api:standup-end", "POST", day, manage(200)),
    Row("api:standup-entries", "GET", day, members(200)),
    Row("api:standup-entries", "POST", day, editors(201), data=lambda ctx: {"done": "Matrix", "next": "More"}),
    Row("api:standup-entries", "PUT", day, editors(201), data=lambda ctx: {"done": "Matrix", "blockers": "None"}),
    Row("api:impediment-list", "GET", project_key, members(200)),
    Row("api:impediment-list", "POST", project_key, editors(201), data=lambda ctx: {"description": "No server"}),
    Row("api:impediment-detail", "GET", impediment, members(200)),
    Row("api:impediment-detail", "PATCH", impediment, editors(200), data=lambda ctx: {"state": "resolved"}),
]

PAST_DAY = datetime.date(2026, 1, 5)


def _foreign_meeting(team) -> DailyScrum:
    """XX's daily scrum on a past Monday, while SB has none that day: a lookup by date alone finds theirs."""
    other = make_project(key="XX")
    owner = other.memberships.get().user
    sprint = sprint_services.create_sprint(
        project=other, by=owner, start_date=PAST_DAY, end_date=PAST_DAY + datetime.timedelta(days=11)
    )
    meeting = DailyScrum.objects.create(project=other, sprint=sprint, date=PAST_DAY)
    Entry.objects.create(meeting=meeting, user=owner, done="Theirs")
    return meeting


def _foreign_impediment(team) -> Impediment:
    services.raise_impediment(project=team.project, by=team.admin, description="Ours")
    other = make_project(key="XX")
    owner = other.memberships.get().user
    backlog_services.create_item(project=other, by=owner, title="Their card")
    return services.raise_impediment(project=other, by=owner, description="Theirs")


def _on_sb(team, meeting) -> dict:
    return {"key": team.project.key, "date": meeting.date.isoformat()}


def _meeting_state(meeting) -> tuple:
    fresh = DailyScrum.objects.filter(pk=meeting.pk).values().first()
    assert fresh is not None
    entries = tuple(Entry.objects.order_by("pk").values_list("meeting_id", "user_id", "done"))
    return fresh, entries, DailyScrum.objects.count()


FOREIGN = {
    "api:standup-detail": Foreign(_foreign_meeting, kwargs=_on_sb, state=_meeting_state),
    "api:standup-start": Foreign(_foreign_meeting, kwargs=_on_sb, state=_meeting_state),
    "api:standup-attendance": Foreign(
        _foreign_meeting, {"member": "admin", "present": False}, kwargs=_on_sb, state=_meeting_state
    ),
    "api:standup-end": Foreign(_foreign_meeting, kwargs=_on_sb, state=_meeting_state),
    "api:standup-entries": Foreign(_foreign_meeting, {"done": "Hijacked"}, kwargs=_on_sb, state=_meeting_state),
    "api:impediment-detail": Foreign(_foreign_impediment, {"state": "resolved"}),
}
