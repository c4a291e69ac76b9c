"""The roadmap read: progress of phases, releases and epics, forecasts, the range, and its query count."""

import datetime

import pytest

from backlog.models import ItemType
from roadmap import selectors, services
from roadmap.selectors import Progress
from tests.roadmap.conftest import TODAY, D, velocity_history

TWO_WEEKS = datetime.timedelta(days=14)


@pytest.fixture
def phase(project, scrum_master):
    return services.create_phase(
        project=project, by=scrum_master, name="Month 1", start_date=D("2026-03-01"), end_date=D("2026-03-31")
    )


@pytest.fixture
def make_release(project, scrum_master):
    def make(version: str = "1.0.0", **fields):
        return services.create_release(project=project, by=scrum_master, version=version, **fields)

    return make


@pytest.fixture
def link(scrum_master):
    def add(target, *items):
        services.link_items(target=target, by=scrum_master, add=items)

    return add


# --- progress ---------------------------------------------------------------------------------


def test_progress_counts_points_and_items_of_linked_items(project, phase, make_item, link):
    link(phase, make_item("A", estimate="3", done=True), make_item("B", estimate="5"), make_item("C", estimate="2"))
    progress = selectors.roadmap(project).phase_progress[phase.pk]
    assert progress == Progress(items_done=1, items_total=3, points_done=3.0, points_total=10.0)
    assert progress.percent == 30
    assert progress.remaining_points == 7.0
    assert progress.as_dict() == {
        "items_done": 1,
        "items_total": 3,
        "points_done": 3.0,
        "points_total": 10.0,
        "percent": 30,
    }


def test_percent_is_by_item_count_when_nothing_is_estimated(project, phase, make_item, link):
    link(phase, make_item("A", done=True), make_item("B"), make_item("C"), make_item("D", done=True))
    progress = selectors.roadmap(project).phase_progress[phase.pk]
    assert (progress.points_total, progress.items_done, progress.items_total, progress.percent) == (0, 2, 4, 50)


def test_an_empty_phase_is_at_zero_percent(project, phase):
    assert selectors.roadmap(project).phase_progress[phase.pk] == Progress()
    assert Progress().percent == 0


def test_a_linked_epic_counts_through_its_children(project, phase, make_epic, make_item, link):
    epic = make_epic("Checkout", estimate="40")  # an epic's own estimate is not its progress
    make_item("Pay", parent=epic, estimate="5", done=True)
    make_item("Refund", parent=epic, estimate="3")
    link(phase, epic)
    view = selectors.roadmap(project)
    assert view.phase_progress[phase.pk] == Progress(1, 2, 5.0, 8.0)
    assert view.epic_progress[epic.pk] == Progress(1, 2, 5.0, 8.0)
    assert [e.pk for e in view.epics] == [epic.pk]
    assert view.epics[0].key == f"SB-{epic.number}"


def test_an_item_linked_with_its_epic_is_counted_once(project, phase, make_release, make_epic, make_item, link):
    epic = make_epic("Checkout")
    pay = make_item("Pay", parent=epic, estimate="5", done=True)
    make_item("Refund", parent=epic, estimate="3")
    loose = make_item("Sign in", estimate="2")
    release = make_release()
    link(phase, epic, pay, loose)
    link(release, pay, epic)
    view = selectors.roadmap(project)
    assert view.phase_progress[phase.pk] == Progress(1, 3, 5.0, 10.0)
    assert view.release_progress[release.pk] == Progress(1, 2, 5.0, 8.0)


def test_an_item_whose_epic_is_not_linked_counts_on_its_own(project, phase, make_epic, make_item, link):
    epic = make_epic("Checkout")
    pay = make_item("Pay", parent=epic, estimate="5", done=True)
    make_item("Refund", parent=epic, estimate="3")
    link(phase, pay)
    assert selectors.roadmap(project).phase_progress[phase.pk] == Progress(1, 1, 5.0, 5.0)


def test_epics_with_children_are_listed_even_unlinked(project, make_epic, make_item):
    epic = make_epic("Checkout")
    make_item("Pay", parent=epic, estimate="5")
    lonely = make_epic("Nothing yet")
    view = selectors.roadmap(project)
    assert [e.pk for e in view.epics] == [epic.pk]
    assert lonely.pk not in view.epic_progress


def test_phase_and_release_items_are_the_linked_ids(project, phase, make_release, make_item, link):
    a, b = make_item("A"), make_item("B")
    release = make_release()
    link(phase, a, b)
    link(release, b)
    view = selectors.roadmap(project)
    assert sorted(view.phase_items[phase.pk]) == sorted([a.pk, b.pk])
    assert view.release_items[release.pk] == [b.pk]
    assert [e.pk for e in view.epics_of([a.pk])] == []


# --- forecast ---------------------------------------------------------------------------------


# Estimates come from the scale (… 13, 20, 40, 100): remaining points as a sum of scale values.
SCALE_SUMS = {30: ("20", "8", "2"), 40: ("40",), 60: ("40", "20")}


def _release_with_points(make_release, make_item, link, points: int, **fields):
    """A release with ``points`` open points and a done 5-point item."""
    release = make_release(**fields)
    link(release, *(make_item(f"Open {e}", estimate=e) for e in SCALE_SUMS[points]))
    link(release, make_item("Done", estimate="5", done=True))
    return release


def test_a_steady_velocity_gives_exact_dates(project, make_release, make_item, link):
    velocity_history(project, 10, 10, 10)
    release = _release_with_points(make_release, make_item, link, 30, target_date=D("2026-06-30"))
    forecast = selectors.roadmap(project).forecasts[release.pk]
    # 30 points at 10 a sprint: three two-week sprints from today (no sprint running).
    three_sprints = TODAY + 3 * TWO_WEEKS - datetime.timedelta(days=1)
    assert forecast == selectors.ReleaseForecast(
        remaining_points=30.0, p50_date=three_sprints, p85_date=three_sprints, history=3, at_risk=False
    )
    assert forecast.as_dict()["p85_date"] == three_sprints


def test_the_same_history_gives_the_same_dates_every_time(project, make_release, make_item, link):
    velocity_history(project, 4, 13, 8, 21, 2, 9)
    release = _release_with_points(make_release, make_item, link, 60)
    first = selectors.roadmap(project).forecasts[release.pk]
    second = selectors.roadmap(project).forecasts[release.pk]
    assert first == second
    assert first.p50_date <= first.p85_date
    assert first.history == 6


def test_the_forecast_moves_later_when_velocity_drops(project, make_release, make_item, link):
    velocity_history(project, 12, 9, 14, 11)
    release = _release_with_points(make_release, make_item, link, 60)
    before = selectors.roadmap(project).forecasts[release.pk]
    velocity_history(project, 3, 4, 2, 5, 3, 4)  # the latest sprints: far slower
    after = selectors.roadmap(project).forecasts[release.pk]
    assert after.p50_date > before.p50_date
    assert after.p85_date > before.p85_date
    assert after.history == 10  # the last ten sprints at most


def test_a_release_is_at_risk_when_p85_is_after_its_target(project, make_release, make_item, link):
    velocity_history(project, 5, 8, 6)
    soon = _release_with_points(make_release, make_item, link, 40, version="1.0.0", target_date=D("2026-03-20"))
    far = _release_with_points(make_release, make_item, link, 40, version="2.0.0", target_date=D("2027-12-31"))
    untargeted = _release_with_points(make_release, make_item, link, 40, version="3.0.0")
    forecasts = selectors.roadmap(project).forecasts
    assert forecasts[soon.pk].p85_date > soon.target_date
    assert forecasts[soon.pk].at_risk is True
    assert forecasts[far.pk].p85_date <= far.target_date
    assert forecasts[far.pk].at_risk is False
    assert forecasts[untargeted.pk].at_risk is False


def test_a_release_beyond_the_horizon_is_at_risk(project, make_release, make_item, link):
    velocity_history(project, 0.1)  # 260 sprints (the horizon) of 0.1 would not finish 40 points
    release = _release_with_points(make_release, make_item, link, 40, target_date=D("2099-12-31"))
    forecast = selectors.roadmap(project).forecasts[release.pk]
    assert (forecast.p50_date, forecast.p85_date, forecast.at_risk) == (None, None, True)


def test_a_finished_release_is_forecast_for_today(project, make_release, make_item, link):
    velocity_history(project, 10)
    release = make_release(target_date=D("2026-03-01"))
    link(release, make_item("Done", estimate="5", done=True))
    forecast = selectors.roadmap(project).forecasts[release.pk]
    assert (forecast.remaining_points, forecast.p50_date, forecast.p85_date) == (0.0, TODAY, TODAY)
    assert forecast.at_risk is True  # today is already after the target date


def test_no_forecast_without_a_velocity_history(project, make_release, make_item, link):
    release = _release_with_points(make_release, make_item, link, 30)
    assert selectors.roadmap(project).forecasts[release.pk] is None


def test_released_releases_have_no_forecast(project, scrum_master, make_release, make_item, link):
    velocity_history(project, 10, 10)
    release = _release_with_points(make_release, make_item, link, 30)
    services.release_version(release=release, by=scrum_master)
    view = selectors.roadmap(project)
    assert release.pk not in view.forecasts
    assert view.release_progress[release.pk].items_total == 4


def test_the_forecast_counts_from_the_running_sprint(project, scrum_master, make_release, make_item, link):
    from sprints import services as sprint_services

    velocity_history(project, 10, 10, 10)
    sprint = sprint_services.create_sprint(
        project=project, by=scrum_master, start_date=D("2026-03-02"), end_date=D("2026-03-13")
    )
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    release = _release_with_points(make_release, make_item, link, 30)
    forecast = selectors.roadmap(project).forecasts[release.pk]
    # The running sprint is the first of three.
    assert forecast.p50_date == D("2026-03-13") + 2 * TWO_WEEKS


# --- range ------------------------------------------------------------------------------------


def test_the_range_spans_whole_months_around_everything_on_the_roadmap(project, scrum_master, make_release):
    services.create_phase(project=project, by=scrum_master, name="P", start_date=D("2026-02-10"), end_date=TODAY)
    make_release(target_date=D("2026-07-15"))
    view = selectors.roadmap(project)
    assert (view.start, view.end, view.today) == (D("2026-02-01"), D("2026-07-31"), TODAY)


def test_an_empty_roadmap_spans_the_current_month(project):
    view = selectors.roadmap(project)
    assert (view.start, view.end) == (D("2026-03-01"), D("2026-03-31"))
    assert (view.phases, view.milestones, view.releases, view.epics) == ([], [], [], [])


def test_the_range_ends_on_the_last_day_of_december(project, scrum_master):
    services.create_milestone(project=project, by=scrum_master, name="M", date=D("2026-12-31"))
    assert selectors.roadmap(project).end == D("2026-12-31")


# --- query count ------------------------------------------------------------------------------


def build_roadmap(project, by, make_item, size: int) -> None:
    """``size`` phases, milestones and releases, each release with an epic of two children and an item."""
    velocity_history(project, 8, 10, 12)
    for n in range(size):
        phase = services.create_phase(
            project=project, by=by, name=f"P{n}", start_date=TODAY, end_date=TODAY + datetime.timedelta(days=30)
        )
        services.create_milestone(project=project, by=by, name=f"M{n}", date=TODAY, phase=phase)
        release = services.create_release(project=project, by=by, version=f"1.{n}.0", target_date=D("2026-09-30"))
        epic = make_item(f"Epic {n}", type=ItemType.EPIC)
        make_item(f"Child {n}a", parent=epic, estimate="3", done=True)
        make_item(f"Child {n}b", parent=epic, estimate="5")
        loose = make_item(f"Loose {n}", estimate="2")
        services.link_items(target=phase, by=by, add=[epic, loose])
        services.link_items(target=release, by=by, add=[epic, loose])
    old = services.create_release(project=project, by=by, version="0.1.0")
    services.release_version(release=old, by=by)


@pytest.mark.parametrize("size", [1, 6])
def test_the_roadmap_takes_a_fixed_number_of_queries(project, scrum_master, make_item, size, django_assert_num_queries):
    build_roadmap(project, scrum_master, make_item, size)
    with django_assert_num_queries(10):
        view = selectors.roadmap(project)
        keys = [epic.key for epic in view.epics]
    assert len(view.phases) == size
    assert len(view.releases) == size + 1
    assert len(keys) == size
    assert sum(1 for f in view.forecasts.values() if f) == size
