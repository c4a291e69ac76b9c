"""Notification fixtures: SB (Asia/Almaty) and NY (America/New_York), each with an active sprint
from Monday 2026-03-02 to Friday 2026-03-13 (US daylight saving starts Sunday 2026-03-08),
daily scrum at 10:00 local, and a frozen clock."""

import datetime
import zoneinfo

import pytest

from scrumboard import outbox
from sprints import services as sprint_services
from tests.factories import UserFactory, make_member, make_project

START = datetime.date(2026, 3, 2)
END = datetime.date(2026, 3, 13)


def utc(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.UTC)


def local(stamp: str, tz: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=zoneinfo.ZoneInfo(tz))


@pytest.fixture(autouse=True)
def _broker_up():
    """A broker failure pauses publishing process-wide: no test inherits another's pause."""
    outbox.resume()
    yield
    outbox.resume()


@pytest.fixture
def at(time_machine):
    """``at(instant)`` freezes the clock at an aware datetime."""

    def move(instant: datetime.datetime) -> None:
        time_machine.move_to(instant, tick=False)

    move(local("2026-03-02T08:00", "Asia/Almaty"))
    return move


@pytest.fixture
def sprint(project, scrum_master, at):
    sprint = sprint_services.create_sprint(project=project, by=scrum_master, start_date=START, end_date=END)
    return sprint_services.start_sprint(sprint=sprint, by=scrum_master)


@pytest.fixture
def new_york(at):
    """Project NY in New York: an administrator and one developer, an active sprint."""
    admin = UserFactory(username="ny-admin")
    project = make_project(admin=admin, key="NY", name="New York", timezone="America/New_York")
    make_member(project, "backend", user=UserFactory(username="ny-dev"))
    sprint = sprint_services.create_sprint(project=project, by=admin, start_date=START, end_date=END)
    sprint_services.start_sprint(sprint=sprint, by=admin)
    return project
