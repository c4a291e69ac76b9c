"""The tick's cost: finding what is due reads a fixed number of queries however large the teams
and backlogs; only writing a new row costs queries per row (notify's own)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from notifications import reminders, schedule
from notifications.models import Notification, NotificationSettings
from retrospectives import services as retro_services
from retrospectives.models import ActionItem
from standups import services as standup_services
from tests.factories import UserFactory, make_member
from tests.notifications.conftest import local

pytestmark = pytest.mark.django_db

# Thursday 2026-03-12 in Almaty, the eve of the sprint's end: sprint ends tomorrow, planning due,
# overdue items, action items and a blocker open for days; one member's own working hours add nudges.
DAY_LEVEL = local("2026-03-12T10:00", "Asia/Almaty")
# 09:55: the daily scrum is 5 minutes away and members are nudged.
MORNING = local("2026-03-13T09:55", "Asia/Almaty")
# A tick that finds everything written must stay under this, whatever the size.
NOTHING_NEW_MAX = 16
# notify per reminder, two channels: language, preferences, quiet hours, and get_or_create per channel.
PER_REMINDER_MAX = 12


def grow(project, sprint, by, retro, size: int, start: int = 0) -> None:
    """``size`` more developers, each with an overdue item, an unstarted sprint item, a due action
    item and an open impediment."""
    for number in range(start, start + size):
        user = make_member(project, "backend", user=UserFactory(username=f"dev{number}")).user
        backlog_services.create_item(
            project=project, by=by, title=f"Late {number}", assignee=user, due_date=datetime.date(2026, 3, 10)
        )
        backlog_services.create_item(project=project, by=by, title=f"Unstarted {number}", sprint=sprint)
        ActionItem.objects.create(
            retrospective=retro, text=f"Action {number}", owner=user, due_date=datetime.date(2026, 3, 12)
        )
        standup_services.raise_impediment(project=project, by=user, description=f"Blocked {number}")
        if number % 2 == 0:
            NotificationSettings.objects.create(
                user=user, timezone="Asia/Almaty", work_from=datetime.time(9), work_to=datetime.time(18)
            )


def queries(instant: datetime.datetime) -> tuple[int, int]:
    """(queries, rows written) of one tick at ``instant``."""
    with CaptureQueriesContext(connection) as captured:
        written = reminders.send_due_reminders(instant)
    return len(captured), written


@pytest.fixture
def world(project, sprint, scrum_master, at):
    at(local("2026-03-09T11:00", "Asia/Almaty"))  # the impediments are raised three days before
    retro = retro_services.create_retrospective(project=project, by=scrum_master)

    def build(size: int, start: int = 0) -> None:
        at(local("2026-03-09T11:00", "Asia/Almaty"))
        grow(project, sprint, scrum_master, retro, size, start)

    return build


@pytest.mark.parametrize("instant", [DAY_LEVEL, MORNING], ids=["day-level", "morning"])
def test_a_tick_with_nothing_new_costs_the_same_for_any_team_size(world, at, instant):
    counts = []
    for size, start in ((2, 0), (6, 2)):
        world(size, start)
        at(instant)
        _first, written = queries(instant)
        assert written > 0
        again, written_again = queries(instant)
        assert written_again == 0
        counts.append(again)
    assert counts[0] == counts[1], counts
    assert counts[1] <= NOTHING_NEW_MAX


@pytest.mark.parametrize("size", [2, 8])
def test_a_tick_with_nothing_new_stays_under_a_fixed_number_of_queries(world, at, size, django_assert_max_num_queries):
    world(size)
    at(DAY_LEVEL)
    reminders.send_due_reminders(DAY_LEVEL)
    with django_assert_max_num_queries(NOTHING_NEW_MAX):
        assert reminders.send_due_reminders(DAY_LEVEL) == 0


def test_finding_what_is_due_reads_a_fixed_number_of_queries(world, at):
    counts = []
    for size, start in ((1, 0), (7, 1)):
        world(size, start)
        with CaptureQueriesContext(connection) as captured:
            due = schedule.due_reminders(DAY_LEVEL)
        assert due
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_writing_costs_queries_per_new_row_only(world, at):
    world(5)
    at(DAY_LEVEL)
    count, written = queries(DAY_LEVEL)
    assert written == Notification.objects.count() > 0
    nothing_new, _ = queries(DAY_LEVEL)
    reminders_written = written // 2  # each reminder is one row per channel
    assert count <= nothing_new + PER_REMINDER_MAX * reminders_written, (count, nothing_new, reminders_written)
