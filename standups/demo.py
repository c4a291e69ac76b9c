"""The demo project's standups history: agenda entries that scrumboard/demo.py plays in time order.

Every past working day of the active sprint (from its second day) has a daily scrum: the team
writes entries before 10:00, the Scrum Master runs the meeting and ends it after twelve minutes.
Madina misses one day's entry; a stage-server blocker is raised and resolved the next day; a
blocker on the burndown charts is still open. Today's meeting has entries but has not run yet.
"""

import datetime
import functools

from django.utils import timezone

from standups import services
from standups.models import Impediment

SCRUM_MASTER = "aigerim"
WRITERS = ["aigerim", "daniyar", "madina", "arman", "dana", "timur"]
# (working day of the active sprint, member): entries that were not written.
MISSING = {(4, "madina")}
# What each member works on, for their entries; the next day's "done" follows from yesterday's "next".
WORK = {
    "aigerim": ["Set up the sprint board", "Check the WIP limits with the team", "Prepare the sprint review"],
    "daniyar": ["Refine the roadmap epics", "Write acceptance criteria for PDF export", "Talk to Sergey about PDF"],
    "madina": ["Model the burndown data", "Document the board API", "Review the daily scrum flows"],
    "arman": ["Burndown and burnup charts", "Load test with 50,000 items", "Security review and audit"],
    "dana": ["Board columns per status", "Narrow-screen card layout", "Swimlanes by assignee"],
    "timur": ["Stage deployment smoke tests", "Stage disk alerts", "Dependency audit in CI"],
}
RAISED: dict[int, tuple[str, str, str, int | None, str | None]] = {
    # day: (member, blocker, linked item title, resolved on day, resolver)
    2: ("timur", "The stage server is out of disk space", "Stage deployment smoke tests", 3, "timur"),
    4: ("arman", "Waiting for the chart colours from design", "Burndown and burnup charts", None, None),
}


def _local(day: datetime.date, time: str, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.fromisoformat(time), tzinfo=tz)


def demo_agenda(history) -> list:
    """(moment, order, action) entries; history is scrumboard.demo._History (users, items, sprints, clock)."""
    project = history.project
    tz = project.tzinfo
    start = history.calendar.starts[-1]
    dates = (start + datetime.timedelta(days=n) for n in range(project.sprint_length_days))
    working = [day for day in dates if day.isoweekday() in project.working_days]
    today = timezone.localtime(history.clock.real_now, tz).date()
    impediments: dict[int, Impediment] = {}

    def meeting(day: datetime.date):
        return services.meeting_for(project=project, by=history.users[SCRUM_MASTER], day=day)

    def write(number: int, day: datetime.date, username: str) -> None:
        tasks = WORK[username]
        blocker = RAISED.get(number)
        blocks = blocker is not None and blocker[0] == username
        item = history.items[blocker[2]] if blocker and blocks else None
        entry = services.save_entry(
            meeting=meeting(day),
            by=history.users[username],
            done=tasks[(number - 1) % len(tasks)],
            next=tasks[number % len(tasks)],
            blockers=blocker[1] if blocker and blocks else "",
            items=[item] if item else [],
        )
        if entry.impediment is not None:
            impediments[number] = entry.impediment

    def run(day: datetime.date) -> None:
        services.start_meeting(
            meeting=meeting(day), by=history.users[SCRUM_MASTER], order=services.SpeakingOrder.BY_ROLE
        )

    def end(day: datetime.date) -> None:
        services.end_meeting(meeting=meeting(day), by=history.users[SCRUM_MASTER])

    def resolve(raised_on: int, username: str) -> None:
        services.resolve_impediment(impediment=impediments[raised_on], by=history.users[username])

    agenda: list = []
    order = 1000
    # From the second working day: on the first, the sprint starts at 10:00, after the meeting's time.
    for number, day in enumerate(working, start=1):
        if number == 1 or day > today:
            continue
        for minute, username in enumerate(WRITERS):
            if (number, username) in MISSING:
                continue
            moment = _local(day, f"09:{30 + minute * 3:02d}", tz)
            agenda.append((moment, order, functools.partial(write, number, day, username)))
            order += 1
        if day < today:
            agenda.append((_local(day, "10:00", tz), order, functools.partial(run, day)))
            agenda.append((_local(day, "10:12", tz), order + 1, functools.partial(end, day)))
            order += 2
    for number, (_who, _text, _title, resolved_on, resolver) in RAISED.items():
        if resolved_on is not None and resolver is not None and resolved_on <= len(working):
            moment = _local(working[resolved_on - 1], "11:45", tz)
            agenda.append((moment, order, functools.partial(resolve, number, resolver)))
            order += 1
    return agenda
