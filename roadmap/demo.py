"""The demo project's roadmap: agenda entries that scrumboard/demo.py plays in time order.

The Product Owner starts the roadmap from the three-month template on the founding day, with the
first sprint's Monday as its start, and links each epic to its month and all three to release 1.0.0.
Each phase turns "in progress" on its first day; Month 1 is done, with its milestone, on its last.
"""

import datetime

from backlog.models import BacklogItem, ItemType
from roadmap import services
from roadmap.models import Milestone, Phase, PhaseStatus, Release, ReleaseStatus
from sprints.models import one_month_after

PLANNER = "daniyar"  # the Product Owner
# The demo backlog's epics, in the template's month order.
EPICS = ["Architecture and technology stack", "Minimum viable product", "Testing and release 1.0"]


def demo_agenda(history) -> list:
    """(moment, order, action) entries; history is scrumboard.demo._History (project, users, calendar)."""
    project = history.project
    tz = project.tzinfo
    planner = history.users[PLANNER]
    start = history.calendar.starts[0]

    def at(day: datetime.date, time: str) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.fromisoformat(time), tzinfo=tz)

    def phases() -> list[Phase]:
        return list(Phase.objects.filter(project=project).order_by("order"))

    def plan() -> None:
        created = services.apply_template(project=project, by=planner, start=start)
        epics = {epic.title: epic for epic in BacklogItem.objects.filter(project=project, type=ItemType.EPIC)}
        for phase, title in zip(created, EPICS, strict=True):
            services.link_items(target=phase, by=planner, add=[epics[title]])
        release = Release.objects.get(project=project, version=services.TEMPLATE_VERSION)
        services.link_items(target=release, by=planner, add=[epics[title] for title in EPICS])

    def begin(index: int) -> None:
        phase = phases()[index]
        services.update_phase(phase=phase, by=planner, status=PhaseStatus.ACTIVE)
        if index == 1:  # the product takes shape: the release is being worked on
            release = Release.objects.get(project=project, version=services.TEMPLATE_VERSION)
            services.update_release(release=release, by=planner, status=ReleaseStatus.IN_PROGRESS)

    def finish_first() -> None:
        phase = phases()[0]
        services.update_phase(phase=phase, by=planner, status=PhaseStatus.DONE)
        for milestone in Milestone.objects.filter(phase=phase):
            services.update_milestone(milestone=milestone, by=planner, done=True)

    # The template's months, as apply_template will lay them out (needed now, to date the entries).
    firsts, day = [], start
    for _month in services.TEMPLATE:
        firsts.append(day)
        day = one_month_after(day)
    first_end = firsts[1] - datetime.timedelta(days=1)
    founded = history.calendar.founded
    return [
        (founded.replace(hour=17, minute=0), 0, plan),
        (at(firsts[0], "09:05"), 0, lambda: begin(0)),
        (at(first_end, "17:30"), 0, finish_first),
        (at(firsts[1], "09:05"), 0, lambda: begin(1)),
        (at(firsts[2], "09:05"), 0, lambda: begin(2)),
    ]
