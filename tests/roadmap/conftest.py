"""Roadmap fixtures: a frozen today, statuses, items through the backlog services, a scripted velocity."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from backlog import services as backlog_services
from backlog.models import BacklogItem, ItemType, Status, StatusCategory
from sprints.models import Sprint, SprintState

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
TODAY = datetime.date(2026, 3, 2)  # a Monday
D = datetime.date.fromisoformat


def local(day: str, clock: str = "12:00") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ALMATY)


@pytest.fixture(autouse=True)
def today(time_machine) -> datetime.date:
    """Every roadmap test runs on Monday 2026-03-02, noon in Almaty (the project's timezone)."""
    time_machine.move_to(local(TODAY.isoformat()), tick=False)
    return TODAY


@pytest.fixture
def todo(project) -> Status:
    return project.statuses.get(name="To Do")


@pytest.fixture
def done(project) -> Status:
    return project.statuses.filter(category=StatusCategory.DONE).first()


@pytest.fixture
def make_item(project, product_owner):
    """A backlog item by the Product Owner; ``done=True`` creates it in the Done status."""

    def make(title: str = "Story", *, done: bool = False, by=None, **fields) -> BacklogItem:
        target = fields.pop("project", project)
        if done:
            fields["status"] = target.statuses.filter(category=StatusCategory.DONE).first()
        return backlog_services.create_item(project=target, by=by or product_owner, title=title, **fields)

    return make


@pytest.fixture
def make_epic(make_item):
    def make(title: str = "Epic", **fields) -> BacklogItem:
        return make_item(title, type=ItemType.EPIC, **fields)

    return make


def velocity_history(project, *completed: float) -> list[Sprint]:
    """Completed two-week sprints before today, oldest first, with these completed points.

    Written directly: the forecast reads a history, it does not care how it was made.
    """
    sprints = []
    first = TODAY - datetime.timedelta(weeks=2 * len(completed))
    taken = project.sprints.count()
    for index, points in enumerate(completed):
        start = first + datetime.timedelta(weeks=2 * index)
        end = start + datetime.timedelta(days=13)
        sprints.append(
            Sprint.objects.create(
                project=project,
                number=taken + index + 1,
                name=f"Sprint {taken + index + 1}",
                start_date=start,
                end_date=end,
                state=SprintState.COMPLETED,
                started_at=datetime.datetime.combine(start, datetime.time(9), tzinfo=ALMATY),
                completed_at=datetime.datetime.combine(end, datetime.time(17), tzinfo=ALMATY),
                committed_points=Decimal(str(points)),
                completed_points=Decimal(str(points)),
                available_days=10,
            )
        )
    return sprints
