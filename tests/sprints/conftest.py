"""Sprint fixtures: the workflow's statuses, and builders for items and sprints through the real services.

Builders are fixtures returning functions, so tests read as the story they tell:
``sprint = make_sprint("2026-03-02", "2026-03-15")``, ``plan(sprint, a, b)``, ``set_status(a, done)``.
"""

import datetime

import pytest

from backlog import services as backlog_services
from backlog.models import BacklogItem, Status, StatusCategory
from sprints import services
from sprints.models import Sprint


def _date(value: str | datetime.date | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


@pytest.fixture
def todo(project) -> Status:
    return project.statuses.get(name="To Do")


@pytest.fixture
def in_progress(project) -> Status:
    return project.statuses.get(name="In Progress")


@pytest.fixture
def done(project) -> Status:
    return project.statuses.get(category=StatusCategory.DONE)


@pytest.fixture
def make_item(project, product_owner):
    """A new backlog item (bottom of the backlog), by the Product Owner unless ``by`` says otherwise."""

    def make(title: str = "Story", *, by=None, **fields) -> BacklogItem:
        return backlog_services.create_item(
            project=fields.pop("project", project), by=by or product_owner, title=title, **fields
        )

    return make


@pytest.fixture
def make_sprint(project, scrum_master):
    """A new planned sprint; dates as ISO strings, or None for the defaults."""

    def make(start=None, end=None, *, by=None, **fields) -> Sprint:
        return services.create_sprint(
            project=fields.pop("project", project),
            by=by or scrum_master,
            start_date=_date(start),
            end_date=_date(end),
            **fields,
        )

    return make


@pytest.fixture
def plan(scrum_master):
    """Moves items into a sprint (None: back to the backlog), keeping their ranks."""

    def move(sprint: Sprint | None, *items: BacklogItem, by=None) -> list[BacklogItem]:
        for item in items:
            backlog_services.move_item(item=item, by=by or scrum_master, sprint=sprint)
        return list(items)

    return move


@pytest.fixture
def set_status(scrum_master):
    def change(item: BacklogItem, status: Status, *, by=None) -> BacklogItem:
        return backlog_services.update_item(item=item, by=by or scrum_master, status=status)

    return change


@pytest.fixture
def estimate(developer):
    """Re-estimates an item, as a Developer does."""

    def change(item: BacklogItem, value: str, *, by=None) -> BacklogItem:
        return backlog_services.update_item(item=item, by=by or developer, estimate=value)

    return change
