import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from backlog.models import BacklogItem
from projects.models import Project
from scrumboard.errors import ConflictError
from sprints import services as sprint_services
from standups import selectors, services
from standups.models import DailyScrum, Entry, Impediment, ImpedimentState, MeetingState
from tests.factories import make_project
from tests.standups.conftest import START


def impeded(item) -> bool:
    return BacklogItem.objects.get(pk=item.pk).impeded


def test_the_days_meeting_is_created_once_on_the_projects_local_date(project, sprint, developer, at):
    # 23:30 UTC on Monday is already Tuesday 04:30 in Almaty.
    at("2026-03-02", "23:30", tz="UTC")
    meeting = services.meeting_for(project=project, by=developer)
    assert meeting.date == datetime.date(2026, 3, 3)
    assert meeting.sprint == sprint
    assert services.meeting_for(project=project, by=developer).pk == meeting.pk
    assert DailyScrum.objects.count() == 1


def test_the_day_follows_a_daylight_saving_zone(developer, scrum_master, at):
    project = Project.objects.get(key="SB")
    project.timezone = "Europe/Berlin"
    project.save()
    # Berlin moves to summer time on Sunday 2026-03-29; Monday 30th 00:30 local is 22:30 UTC on the 29th.
    at("2026-03-23")
    sprint = sprint_services.create_sprint(
        project=project, by=scrum_master, start_date=datetime.date(2026, 3, 23), end_date=datetime.date(2026, 4, 3)
    )
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    at("2026-03-29", "22:30", tz="UTC")
    assert services.meeting_for(project=project, by=developer).date == datetime.date(2026, 3, 30)
    # Before the change, 23:30 UTC on Friday 27th is still Saturday 00:30 in Berlin (UTC+1): no meeting.
    at("2026-03-27", "23:30", tz="UTC")
    with pytest.raises(ValidationError, match="not a working day"):
        services.meeting_for(project=project, by=developer)
    at("2026-03-27", "22:30", tz="UTC")
    assert services.meeting_for(project=project, by=developer).date == datetime.date(2026, 3, 27)


def test_no_meeting_without_an_active_sprint_or_on_a_weekend(project, developer, scrum_master, at):
    with pytest.raises(ValidationError, match="no active sprint"):
        services.meeting_for(project=project, by=developer)
    sprint = sprint_services.create_sprint(project=project, by=scrum_master, start_date=START)
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    with pytest.raises(ValidationError, match="not a working day"):
        services.meeting_for(project=project, by=developer, day=datetime.date(2026, 3, 7))
    with pytest.raises(ValidationError, match="outside the active sprint"):
        services.meeting_for(project=project, by=developer, day=datetime.date(2026, 2, 27))


def test_outsiders_cannot_open_the_meeting(project, sprint, outsider):
    with pytest.raises(Http404):
        services.meeting_for(project=project, by=outsider)


def test_members_write_and_edit_their_own_entry_until_the_meeting_closes(meeting, developer, scrum_master):
    services.save_entry(meeting=meeting, by=developer, done="API", next="Tests")
    entry = services.save_entry(meeting=meeting, by=developer, done="API and docs", next="Tests")
    assert Entry.objects.get().done == "API and docs"
    assert entry.user == developer
    services.end_meeting(meeting=meeting, by=scrum_master)
    with pytest.raises(ConflictError):
        services.save_entry(meeting=meeting, by=developer, done="Later")
    assert Entry.objects.get().done == "API and docs"


def test_stakeholders_cannot_write_entries(meeting, stakeholder):
    with pytest.raises(PermissionDenied):
        services.save_entry(meeting=meeting, by=stakeholder, done="Watching")
    assert not Entry.objects.exists()


def test_yesterdays_next_is_todays_prompt(project, sprint, developer, at):
    monday = services.meeting_for(project=project, by=developer)
    services.save_entry(meeting=monday, by=developer, done="", next="Wire the login form")
    at("2026-03-03")
    tuesday = services.meeting_for(project=project, by=developer)
    assert selectors.suggested_done(tuesday, developer) == "Wire the login form"
    assert selectors.suggested_done(monday, developer) == ""


def test_a_blocker_raises_an_impediment_and_marks_linked_items_impeded(meeting, developer, card):
    entry = services.save_entry(meeting=meeting, by=developer, blockers="No test server", items=[card])
    impediment = Impediment.objects.get()
    assert entry.impediment == impediment
    assert impediment.owner == developer and impediment.raised_in == meeting
    assert list(impediment.items.all()) == [card]
    assert impeded(card)
    services.save_entry(meeting=meeting, by=developer, blockers="", items=[card])
    assert not Impediment.objects.exists()
    assert not impeded(card)


def test_impeded_flag_follows_open_impediments(project, sprint, developer, card):
    first = services.raise_impediment(project=project, by=developer, description="VPN down", items=[card])
    second = services.raise_impediment(project=project, by=developer, description="No keys", items=[card])
    assert impeded(card)
    services.resolve_impediment(impediment=first, by=developer)
    assert impeded(card)
    services.resolve_impediment(impediment=second, by=developer)
    assert not impeded(card)
    with pytest.raises(ConflictError):
        services.resolve_impediment(impediment=second, by=developer)


def test_syncing_the_flag_is_one_update(project, sprint, developer, card, django_assert_num_queries):
    services.raise_impediment(project=project, by=developer, description="VPN down", items=[card])
    with django_assert_num_queries(1):
        services.sync_impeded([card.pk])


def test_impediments_are_carried_until_resolved(project, sprint, developer, at):
    monday = services.meeting_for(project=project, by=developer)
    services.save_entry(meeting=monday, by=developer, blockers="Waiting for the design")
    at("2026-03-04")
    assert [i.description for i in selectors.open_impediments(project)] == ["Waiting for the design"]
    services.resolve_impediment(impediment=Impediment.objects.get(), by=developer)
    assert not selectors.open_impediments(project).exists()
    assert Impediment.objects.get().resolved_on == datetime.date(2026, 3, 4)


def test_impediments_link_only_this_projects_items(project, sprint, developer):
    other = make_project(key="XX")
    from backlog.services import create_item

    theirs = create_item(project=other, by=other.memberships.get().user, title="Theirs")
    with pytest.raises(ValidationError):
        services.raise_impediment(project=project, by=developer, description="x", items=[theirs])


def test_running_the_meeting_needs_the_facilitators_right(meeting, developer):
    with pytest.raises(PermissionDenied):
        services.start_meeting(meeting=meeting, by=developer)
    with pytest.raises(PermissionDenied):
        services.end_meeting(meeting=meeting, by=developer)


def test_starting_sets_the_order_and_the_clock(meeting, scrum_master, developer, product_owner, admin, at):
    at("2026-03-02", "10:00")
    started = services.start_meeting(meeting=meeting, by=scrum_master, order=services.SpeakingOrder.BY_ROLE)
    assert started.started_at.isoformat() == "2026-03-02T05:00:00+00:00"
    assert started.facilitator == scrum_master
    # Role order: Scrum Masters (admin, sm), Product Owner, Backend Developer; stakeholders do not speak.
    assert started.speaking_order == [admin.pk, scrum_master.pk, product_owner.pk, developer.pk]
    with pytest.raises(ConflictError):
        services.start_meeting(meeting=started, by=scrum_master)


def test_ending_closes_and_freezes_the_summary(project, meeting, scrum_master, developer, product_owner, at, card):
    at("2026-03-02", "10:00")
    services.start_meeting(meeting=meeting, by=scrum_master)
    services.save_entry(meeting=meeting, by=developer, done="A", next="B", blockers="Server down", items=[card])
    services.save_entry(meeting=meeting, by=scrum_master, done="C")
    services.mark_attendance(meeting=meeting, by=scrum_master, user=product_owner, present=False)
    earlier = services.raise_impediment(project=project, by=scrum_master, description="Old")
    services.resolve_impediment(impediment=earlier, by=scrum_master)
    at("2026-03-02", "10:12")
    closed = services.end_meeting(meeting=meeting, by=scrum_master)
    assert closed.state == MeetingState.CLOSED
    summary = closed.summary
    assert summary["reported"] == ["sm", "dev"]
    assert summary["missing"] == ["admin", "po"]
    assert summary["absent"] == ["po"]
    assert [i["description"] for i in summary["raised"]] == ["Server down", "Old"]
    assert [i["description"] for i in summary["resolved"]] == ["Old"]
    assert summary["duration_seconds"] == 12 * 60
    assert summary["timebox_minutes"] == 15
    with pytest.raises(ConflictError):
        services.end_meeting(meeting=closed, by=scrum_master)
    with pytest.raises(ConflictError):
        services.mark_attendance(meeting=closed, by=scrum_master, user=developer, present=True)


def test_streak_counts_consecutive_meetings_with_an_entry(project, sprint, developer, scrum_master, at):
    for day, writes in [("2026-03-02", True), ("2026-03-03", False), ("2026-03-04", True), ("2026-03-05", True)]:
        at(day)
        meeting = services.meeting_for(project=project, by=developer)
        if writes:
            services.save_entry(meeting=meeting, by=developer, done=day)
    at("2026-03-06")
    services.meeting_for(project=project, by=developer)
    today = datetime.date(2026, 3, 6)
    # Today's open meeting without an entry yet does not break the streak.
    assert selectors.streak(project, developer, today=today) == 2
    assert selectors.streak(project, scrum_master, today=today) == 0


def test_day_board_queries_do_not_grow_with_the_team(
    project, meeting, developer, scrum_master, card, django_assert_num_queries
):
    services.save_entry(meeting=meeting, by=developer, done="A", items=[card])
    with django_assert_num_queries(4):
        rows = selectors.day_board(meeting)
        assert [c.title for row in rows for c in row.cards] == ["Login form"]
    from tests.factories import make_member

    for n in range(30):
        user = make_member(project, "frontend").user
        services.save_entry(meeting=meeting, by=user, done=f"Work {n}", items=[card])
    with django_assert_num_queries(4):
        rows = selectors.day_board(meeting)
        assert len(rows) == 34
        assert sum(len(row.entry.items.all()) for row in rows if row.entry) == 31


def test_export_rows_cover_a_range(project, sprint, developer, at, card):
    services.save_entry(
        meeting=services.meeting_for(project=project, by=developer), by=developer, done="x", items=[card]
    )
    at("2026-03-03")
    services.save_entry(meeting=services.meeting_for(project=project, by=developer), by=developer, next="y")
    rows = selectors.export_rows(project, start=START, end=datetime.date(2026, 3, 3))
    assert [(r["date"], r["done"], r["next"], r["items"]) for r in rows] == [
        ("2026-03-02", "x", "", ["SB-1"]),
        ("2026-03-03", "", "y", []),
    ]


def test_impediment_list_filters_by_state(project, sprint, developer):
    a = services.raise_impediment(project=project, by=developer, description="a")
    services.raise_impediment(project=project, by=developer, description="b")
    services.resolve_impediment(impediment=a, by=developer)
    assert [i.description for i in selectors.impediments(project, state=ImpedimentState.OPEN)] == ["b"]
