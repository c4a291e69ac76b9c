"""Daily-scrum fixtures: an active sprint from Monday 2026-03-02 to Friday 2026-03-13, and a frozen clock."""

import datetime
import zoneinfo

import pytest

from backlog import services as backlog_services
from backlog.models import Status
from sprints import services as sprint_services
from standups import services

START = datetime.date(2026, 3, 2)
END = datetime.date(2026, 3, 13)


def local(day: str, clock: str = "09:00", tz: str = "Asia/Almaty") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zoneinfo.ZoneInfo(tz))


@pytest.fixture
def at(time_machine):
    """Moves the frozen clock: ``at("2026-03-03")`` is 09:00 that day in Almaty."""

    def move(day: str, clock: str = "09:00", tz: str = "Asia/Almaty") -> None:
        time_machine.move_to(local(day, clock, tz), tick=False)

    move("2026-03-02")
    return move


@pytest.fixture
def sprint(project, scrum_master, at):
    sprint = sprint_services.create_sprint(project=project, by=scrum_master, start_date=START, end_date=END)
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    return sprint


@pytest.fixture
def card(project, sprint, scrum_master, developer):
    """An in-progress card of the sprint, the developer's."""
    item = backlog_services.create_item(
        project=project, by=scrum_master, title="Login form", estimate="3", sprint=sprint, assignee=developer
    )
    in_progress = Status.objects.get(project=project, name="In Progress")
    return backlog_services.update_item(item=item, by=scrum_master, status=in_progress)


@pytest.fixture
def meeting(project, sprint, developer):
    return services.meeting_for(project=project, by=developer)
