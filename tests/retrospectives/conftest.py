"""Retrospective fixtures: a completed sprint and builders that move a retrospective through the services."""

import datetime
import zoneinfo

import pytest

from backlog import services as backlog_services
from retrospectives import services
from retrospectives.models import PHASES, Phase, Retrospective
from sprints import services as sprint_services
from sprints.models import Sprint


def local(day: str, clock: str = "12:00", tz: str = "Asia/Almaty") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zoneinfo.ZoneInfo(tz))


@pytest.fixture
def completed_sprint(project, scrum_master, product_owner, time_machine) -> Sprint:
    """Sprint 1 (2026-03-02..13) with a done 3-point item and an unfinished 5-point one, completed."""
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = sprint_services.create_sprint(
        project=project,
        by=scrum_master,
        start_date=datetime.date(2026, 3, 2),
        end_date=datetime.date(2026, 3, 13),
        goal="Ship it",
    )
    done_item = backlog_services.create_item(project=project, by=product_owner, title="Done", estimate="3")
    open_item = backlog_services.create_item(project=project, by=product_owner, title="Open", estimate="5")
    for item in (done_item, open_item):
        backlog_services.move_item(item=item, by=scrum_master, sprint=sprint)
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-05"), tick=False)
    done_item.refresh_from_db()
    backlog_services.update_item(
        item=done_item,
        by=scrum_master,
        status=project.statuses.get(name="Done"),
        override_reason="Tested by hand",
    )
    time_machine.move_to(local("2026-03-13", "16:00"), tick=False)
    sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
    sprint.refresh_from_db()
    time_machine.move_to(local("2026-03-13", "16:30"), tick=False)
    return sprint


@pytest.fixture
def make_retro(project, scrum_master):
    """A retrospective by the Scrum Master, moved on to ``phase`` through the services."""

    def make(phase: str = Phase.REVIEW, *, by=None, **fields) -> Retrospective:
        retro = services.create_retrospective(project=fields.pop("project", project), by=by or scrum_master, **fields)
        return move_to(retro, phase, by=by or scrum_master)

    return make


def move_to(retro: Retrospective, phase: str, *, by) -> Retrospective:
    while retro.phase_index < PHASES.index(phase):
        retro = services.advance_phase(retro=retro, by=by)
    return retro


@pytest.fixture
def advance(scrum_master):
    def move(retro: Retrospective, phase: str, *, by=None) -> Retrospective:
        return move_to(retro, phase, by=by or scrum_master)

    return move
