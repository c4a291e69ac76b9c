"""Velocity, the Monte Carlo forecast and sprint capacity."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from backlog.models import ItemType
from sprints import selectors, services
from sprints.models import Sprint, SprintState
from tests.factories import make_member

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
D = datetime.date.fromisoformat


def local(day: str, clock: str = "12:00") -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ALMATY)


def completed_sprints(project, *history: tuple[float, float, int]) -> list[Sprint]:
    """Past two-week sprints from Monday 2025-01-06 on, each (committed, completed, available days).

    Written directly: these tests are about reading a history, not about how it was made.
    """
    sprints = []
    taken = project.sprints.count()  # numbers after any sprint the test planned first
    for number, (committed, completed, days) in enumerate(history, start=taken + 1):
        start = datetime.date(2025, 1, 6) + datetime.timedelta(weeks=2 * (number - 1))
        end = start + datetime.timedelta(days=13)
        sprints.append(
            Sprint.objects.create(
                project=project,
                number=number,
                name=f"Sprint {number}",
                start_date=start,
                end_date=end,
                state=SprintState.COMPLETED,
                started_at=datetime.datetime.combine(start, datetime.time(9), tzinfo=ALMATY),
                completed_at=datetime.datetime.combine(end, datetime.time(17), tzinfo=ALMATY),
                committed_points=Decimal(str(committed)),
                completed_points=Decimal(str(completed)),
                available_days=days,
            )
        )
    return sprints


# --- velocity ---------------------------------------------------------------------------------


def test_velocity_has_a_row_per_completed_sprint_oldest_first(project, make_sprint, scrum_master, time_machine):
    past = completed_sprints(project, (20, 18, 10), (25, 25, 10), (30, 21.5, 8))
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    services.start_sprint(sprint=make_sprint(), by=scrum_master)  # active: not in the velocity yet
    make_sprint()  # planned: neither
    rows = selectors.velocity(project)
    assert [(row.sprint_id, row.number, row.name, row.end_date) for row in rows] == [
        (sprint.pk, sprint.number, sprint.name, sprint.end_date) for sprint in past
    ]
    assert [(row.committed, row.completed) for row in rows] == [(20.0, 18.0), (25.0, 25.0), (30.0, 21.5)]
    assert [row.number for row in selectors.velocity(project, limit=2)] == [2, 3]  # the latest two


@pytest.mark.parametrize("count", [3, 30])
def test_velocity_is_one_query_whatever_the_number_of_sprints(project, django_assert_num_queries, count):
    completed_sprints(project, *[(10, 10, 10)] * count)
    with django_assert_num_queries(1):
        rows = selectors.velocity(project)
    assert len(rows) == count


@pytest.mark.parametrize(
    ("completed", "average"),
    [([5, 10, 20, 30], 20.0), ([10, 11], 10.5), ([6], 6.0), ([], None), ([1, 2, 2], 1.7)],
)
def test_average_velocity_is_of_the_last_three_completed_sprints(project, completed, average):
    completed_sprints(project, *[(40, points, 10) for points in completed])
    assert selectors.average_velocity(selectors.velocity(project)) == average


# --- Monte Carlo -------------------------------------------------------------------------------


def test_monte_carlo_gives_the_same_answer_for_the_same_history():
    history = [12.0, 7.0, 15.0, 9.0, 11.0]
    first = selectors.monte_carlo(history, 100)
    assert first == selectors.monte_carlo(list(history), 100)
    assert first == selectors.monte_carlo(history, 100, runs=selectors.FORECAST_RUNS)


def test_monte_carlo_p85_is_never_sooner_than_p50():
    for history, remaining in [([5, 10, 15], 30), ([1, 20], 57), ([3, 3, 8, 13, 2], 250), ([40], 1)]:
        p50, p85 = selectors.monte_carlo(history, remaining)
        fastest, slowest = -(-remaining // max(history)), -(-remaining // min(history))
        assert fastest <= p50 <= p85 <= slowest


def test_monte_carlo_with_a_constant_velocity_is_exact():
    assert selectors.monte_carlo([10.0, 10.0, 10.0], 95) == (10, 10)
    assert selectors.monte_carlo([10.0], 100) == (10, 10)
    assert selectors.monte_carlo([10.0, 10.0], 101) == (11, 11)


def test_monte_carlo_needs_a_history_that_finishes_something():
    assert selectors.monte_carlo([], 50) is None
    assert selectors.monte_carlo([0.0, 0.0, 0.0], 50) is None


def test_monte_carlo_with_nothing_left_is_zero_sprints():
    assert selectors.monte_carlo([10.0], 0) == (0, 0)
    assert selectors.monte_carlo([], 0) == (0, 0)
    assert selectors.monte_carlo([0.0], -3) == (0, 0)


def test_monte_carlo_ends_even_when_most_sprints_finished_nothing():
    p50, p85 = selectors.monte_carlo([0.0, 0.0, 0.0, 0.0, 1.0], 3)
    assert 3 <= p50 <= p85


# --- forecast dates -----------------------------------------------------------------------------


@pytest.fixture
def steady_team(project, make_sprint, scrum_master, time_machine):
    """Three completed sprints of exactly 10 points; an active sprint 2026-03-02..15; today 2026-03-10."""
    completed_sprints(project, (10, 10, 10), (12, 10, 10), (10, 10, 10))
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    active = make_sprint("2026-03-02", "2026-03-15")
    services.start_sprint(sprint=active, by=scrum_master)
    time_machine.move_to(local("2026-03-10"), tick=False)
    return active


def test_forecast_counts_the_running_sprint_as_the_first_then_whole_sprints(project, steady_team):
    result = selectors.forecast(project, remaining=95)
    assert (result.p50_sprints, result.p85_sprints) == (10, 10)
    # The running sprint (ends Sunday 15 March), then nine two-week sprints: the last ends on Sunday 19 July.
    assert result.p50_date == result.p85_date == D("2026-07-19")
    assert (result.remaining_points, result.history, result.runs) == (95, 3, selectors.FORECAST_RUNS)
    one = selectors.forecast(project, remaining=10)
    assert (one.p50_sprints, one.p50_date) == (1, D("2026-03-15"))


def test_forecast_defaults_to_the_unfinished_backlog(project, steady_team, make_item, set_status, done):
    for title, points in [("A", "8"), ("B", "5"), ("C", "3"), ("Finished", "13")]:
        make_item(title, estimate=points)
    make_item("Epic", type=ItemType.EPIC, estimate="100")
    make_item("Unestimated")
    set_status(project.items.get(title="Finished"), done)
    result = selectors.forecast(project)
    assert result.remaining_points == 16.0
    assert (result.p50_sprints, result.p50_date) == (2, D("2026-03-29"))


def test_forecast_counts_from_the_running_sprint_even_after_a_longer_one_completed_early(
    project, make_sprint, scrum_master, time_machine
):
    time_machine.move_to(local("2026-03-02", "09:00"), tick=False)
    long_sprint = make_sprint("2026-03-02", "2026-03-29")  # planned for four weeks ...
    services.start_sprint(sprint=long_sprint, by=scrum_master)
    time_machine.move_to(local("2026-03-13", "17:00"), tick=False)
    services.complete_sprint(sprint=long_sprint, by=scrum_master)  # ... done after two
    Sprint.objects.filter(pk=long_sprint.pk).update(completed_points=10)
    running = make_sprint("2026-03-16", "2026-03-27")
    time_machine.move_to(local("2026-03-16", "09:00"), tick=False)
    services.start_sprint(sprint=running, by=scrum_master)
    time_machine.move_to(local("2026-03-18"), tick=False)
    result = selectors.forecast(project, remaining=20)
    assert result.p50_sprints == 2
    # The running one, which ends on Friday 27 March, and one more.
    assert result.p50_date == D("2026-03-27") + datetime.timedelta(days=14)


def test_without_a_running_sprint_the_forecast_starts_today(project, time_machine):
    completed_sprints(project, (10, 10, 10), (10, 10, 10))
    time_machine.move_to(local("2026-03-11"), tick=False)
    result = selectors.forecast(project, remaining=25)
    assert (result.p50_sprints, result.p85_sprints) == (3, 3)
    assert result.p50_date == D("2026-03-11") + datetime.timedelta(days=3 * 14 - 1)


def test_forecast_draws_from_the_last_ten_sprints(project, time_machine):
    completed_sprints(project, (500, 500, 10), (500, 500, 10), *[(10, 10, 10)] * 10)
    time_machine.move_to(local("2026-03-11"), tick=False)
    result = selectors.forecast(project, remaining=95)
    assert (result.p50_sprints, result.p85_sprints, result.history) == (10, 10, 10)


def test_forecast_is_none_without_a_useful_history(project, time_machine):
    time_machine.move_to(local("2026-03-11"), tick=False)
    assert selectors.forecast(project, remaining=50) is None
    completed_sprints(project, (10, 0, 10), (10, 0, 10))
    assert selectors.forecast(project, remaining=50) is None


def test_forecast_with_nothing_left_is_done_today(project, steady_team):
    result = selectors.forecast(project, remaining=0)
    assert (result.p50_sprints, result.p85_sprints) == (0, 0)
    assert result.p50_date == result.p85_date == D("2026-03-10")


# --- capacity --------------------------------------------------------------------------------------


@pytest.fixture
def frontend(project):
    return make_member(project, "frontend").user


@pytest.fixture
def planning(project, make_sprint, frontend, developer, scrum_master, time_machine):
    """A planned two-week sprint (ten working days); the developer is off two days, the Scrum Master three."""
    time_machine.move_to(local("2026-02-27"), tick=False)
    sprint = make_sprint("2026-03-02", "2026-03-15")
    services.set_days_off(sprint=sprint, by=scrum_master, user=developer, days=2)
    services.set_days_off(sprint=sprint, by=scrum_master, user=scrum_master, days=3)
    return sprint


def test_available_days_are_working_days_minus_days_off_per_developer(planning, frontend):
    capacity = selectors.sprint_capacity(planning)
    assert capacity.working_days == 10
    # Only roles that estimate do the sprint's work: the Scrum Master's days off change nothing.
    assert [(m.membership.user.username, m.days_off, m.available) for m in capacity.members] == [
        ("dev", 2, 8),
        (frontend.username, 0, 10),
    ]
    assert capacity.available_days == 18


def test_capacity_points_come_from_the_last_three_completed_sprints(project, planning):
    # (committed, completed, available days): the oldest is outside the window.
    completed_sprints(project, (100, 100, 10), (25, 20, 20), (30, 30, 20), (45, 40, 20))
    capacity = selectors.sprint_capacity(planning)
    assert capacity.average_velocity == 30.0
    assert capacity.points_per_day == 1.5  # 90 points over 60 person-days
    assert capacity.capacity_points == 27.0  # 18 available days


def test_planned_points_per_role_against_each_roles_capacity(project, planning, make_item, plan, developer, frontend):
    completed_sprints(project, (25, 20, 20), (30, 30, 20), (45, 40, 20))
    split = make_item("Split", role_points={"backend": "8", "frontend": "5"})
    backend_work = make_item("Backend work", estimate="13", assignee=developer)
    unassigned = make_item("Unassigned", estimate="5")
    unestimated = make_item("Unestimated", assignee=frontend)
    plan(planning, split, backend_work, unassigned, unestimated)
    capacity = selectors.sprint_capacity(planning)
    assert (capacity.planned_points, capacity.planned_items, capacity.unestimated_items) == (31.0, 4, 1)
    assert [(r.slug, r.available_days, r.capacity_points, r.planned_points, r.over) for r in capacity.roles] == [
        ("backend", 8, 12.0, 21.0, True),  # Split's 8 and the whole of the developer's 13
        ("frontend", 10, 15.0, 5.0, False),
    ]
    assert capacity.over_velocity and capacity.over_capacity  # 31 against 30 and 27: a warning, not a block


def test_a_sprint_within_velocity_and_capacity_raises_no_warning(project, planning, make_item, plan):
    completed_sprints(project, (25, 20, 20), (30, 30, 20), (45, 40, 20))
    plan(planning, make_item("Small", role_points={"backend": "5", "frontend": "3"}), make_item(estimate="13"))
    capacity = selectors.sprint_capacity(planning)
    assert capacity.planned_points == 21.0
    assert not capacity.over_velocity and not capacity.over_capacity
    assert not any(role.over for role in capacity.roles)


def test_without_history_capacity_has_days_but_no_points(project, planning, make_item, plan):
    plan(planning, make_item(estimate="100"))
    capacity = selectors.sprint_capacity(planning)
    assert capacity.available_days == 18
    assert (capacity.average_velocity, capacity.points_per_day, capacity.capacity_points) == (None, None, None)
    assert not capacity.over_velocity and not capacity.over_capacity
    assert all(role.capacity_points is None and not role.over for role in capacity.roles)


def test_a_completed_sprints_capacity_looks_only_at_the_sprints_before_it(project):
    first, _second, third, _fourth = completed_sprints(project, (10, 10, 10), (20, 20, 10), (30, 30, 10), (40, 40, 10))
    assert selectors.sprint_capacity(third).average_velocity == 15.0
    assert selectors.sprint_capacity(first).average_velocity is None
    assert selectors.recent_velocity(project) == (30.0, 3.0)


def test_a_forecast_beyond_the_horizon_says_so_quickly_instead_of_simulating_for_ever():
    import time

    started = time.perf_counter()
    assert selectors.monte_carlo([1, 0, 0], 1_000_000) == (selectors.FORECAST_HORIZON + 1,) * 2
    p50, p85 = selectors.monte_carlo([1, 1, 0], 300)  # within reach of the best sprints, not of the usual ones
    assert p50 == p85 == selectors.FORECAST_HORIZON + 1
    assert time.perf_counter() - started < 5  # bounded: runs times horizon draws at most
