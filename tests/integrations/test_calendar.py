import datetime
import zoneinfo

import icalendar
import pytest
import time_machine
from dateutil.rrule import rrulestr
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from integrations import calendar
from integrations.calendar import create_feed, revoke_feed
from integrations.models import CalendarFeed
from integrations.services import create_token
from projects.models import Project
from projects.services import archive_project
from roadmap.models import Release, ReleaseStatus
from roadmap.services import create_release
from roles.models import hash_token
from sprints.models import Sprint, SprintState
from sprints.services import create_sprint
from tests.factories import make_member, make_project

pytestmark = pytest.mark.django_db

PAGE = "integrations:calendar"
REVOKE = "integrations:calendar_revoke"
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def configure(project: Project, **fields) -> Project:
    Project.objects.filter(pk=project.pk).update(**fields)
    return Project.objects.get(pk=project.pk)


def sprint(project, by, start: datetime.date, end: datetime.date, state: str = SprintState.PLANNED) -> Sprint:
    made = create_sprint(project=project, by=by, start_date=start, end_date=end)
    if state != SprintState.PLANNED:
        Sprint.objects.filter(pk=made.pk).update(state=state)
        made.refresh_from_db()
    return made


def feed_path(project: Project) -> str:
    return reverse("api:calendar-feed", kwargs={"key": project.key})


def fetch(client, project: Project, raw: str | None, **headers):
    data = {"token": raw} if raw is not None else {}
    return client.get(feed_path(project), data, headers=headers)


def events(body: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]): event for event in cal.walk("VEVENT")}


# Feed secrets


def test_creating_a_feed_stores_only_the_hash_and_replaces_the_previous_url(project, admin):
    old, old_raw = create_feed(project=project, by=admin)
    feed, raw = create_feed(project=project, by=admin)

    assert raw.startswith("sbcal_") and raw != old_raw
    assert feed.token_hash == hash_token(raw) and feed.prefix == raw[:12]
    stored = [str(value) for row in CalendarFeed.objects.values() for value in row.values()]
    assert raw not in stored and old_raw not in stored
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert calendar.active_feed(project) == feed
    assert (
        calendar.feed_url(project, raw) == f"https://scrumboard.example.com/api/v1/projects/SB/calendar.ics?token={raw}"
    )


def test_only_integration_managers_create_or_revoke_feeds(project, admin, developer, stakeholder, outsider):
    devops = make_member(project, "devops").user
    feed, _raw = create_feed(project=project, by=devops)
    for user in (developer, stakeholder):
        with pytest.raises(PermissionDenied):
            create_feed(project=project, by=user)
        with pytest.raises(PermissionDenied):
            revoke_feed(feed=feed, by=user)
    revoke_feed(feed=feed, by=admin)
    assert CalendarFeed.objects.get().revoked_at is not None


# The endpoint


def test_feed_is_text_calendar_cached_privately_with_an_etag(client, project, admin):
    _feed, raw = create_feed(project=project, by=admin)

    response = fetch(client, project, raw)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    etag = response["ETag"]
    cal = icalendar.Calendar.from_ical(response.content)
    assert str(cal["X-WR-CALNAME"]) == "Scrumboard (Scrumboard)"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Almaty"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Almaty"]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in response.content
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in response.content

    again = fetch(client, project, raw, If_None_Match=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""


@pytest.mark.parametrize(
    ("zone", "utc_hours"),
    [
        ("Asia/Almaty", {5}),  # no daylight saving time: 10:00 is always 05:00 UTC
        ("America/New_York", {15, 14}),  # clocks go forward on 8 March 2026: 15:00 UTC, then 14:00 UTC
    ],
)
def test_daily_scrum_stays_at_local_ten_across_the_march_2026_clock_change(client, project, admin, zone, utc_hours):
    project = configure(project, timezone=zone, daily_scrum_time=datetime.time(10, 0), daily_scrum_minutes=15)
    first = sprint(project, admin, datetime.date(2026, 3, 2), datetime.date(2026, 3, 13), SprintState.ACTIVE)
    _feed, raw = create_feed(project=project, by=admin)

    event = events(fetch(client, project, raw).content)[f"sprint-{first.pk}-daily-scrum@scrumboard.example.com"]

    assert event["DTSTART"].params["TZID"] == zone
    start = event.decoded("DTSTART")
    assert start == datetime.datetime(2026, 3, 2, 10, 0, tzinfo=zoneinfo.ZoneInfo(zone))
    assert event.decoded("DTEND") - start == datetime.timedelta(minutes=15)
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    occurrences = list(rrulestr(rule.to_ical().decode(), dtstart=start))
    assert [o.date() for o in occurrences] == first.working_days()
    assert {(o.hour, o.minute) for o in occurrences} == {(10, 0)}
    assert {o.astimezone(datetime.UTC).hour for o in occurrences} == utc_hours


def test_byday_and_until_follow_a_sunday_to_thursday_week(client, project, admin):
    project = configure(project, timezone="Asia/Almaty", working_days=[7, 1, 2, 3, 4])
    # Starts on a Saturday: the first daily scrum is on Sunday the 1st.
    first = sprint(project, admin, datetime.date(2026, 2, 28), datetime.date(2026, 3, 12))
    _feed, raw = create_feed(project=project, by=admin)

    event = events(fetch(client, project, raw).content)[f"sprint-{first.pk}-daily-scrum@scrumboard.example.com"]

    rule = event["RRULE"]
    assert set(rule["BYDAY"]) == {"SU", "MO", "TU", "WE", "TH"}
    assert event.decoded("DTSTART").date() == datetime.date(2026, 3, 1)
    # The end of the sprint's last day, local time, in UTC (Almaty is UTC+5).
    assert rule["UNTIL"] == [datetime.datetime(2026, 3, 12, 18, 59, 59, tzinfo=datetime.UTC)]
    occurrences = list(rrulestr(rule.to_ical().decode(), dtstart=event.decoded("DTSTART")))
    assert occurrences[-1].date() == datetime.date(2026, 3, 12)
    assert {o.isoweekday() for o in occurrences} == {7, 1, 2, 3, 4}


def test_sprint_events_and_release_targets_keep_their_uids_across_requests(client, project, admin):
    first = sprint(project, admin, datetime.date(2026, 3, 2), datetime.date(2026, 3, 13), SprintState.ACTIVE)
    Sprint.objects.filter(pk=first.pk).update(goal="Sign in works")
    target = create_release(
        project=project, by=admin, version="1.0.0", name="MVP", target_date=datetime.date(2026, 4, 30)
    )
    create_release(project=project, by=admin, version="1.1.0")  # no target date: not in the feed
    shipped = create_release(project=project, by=admin, version="0.9.0", target_date=datetime.date(2026, 2, 20))
    Release.objects.filter(pk=shipped.pk).update(status=ReleaseStatus.RELEASED, released_on=datetime.date(2026, 2, 20))
    _feed, raw = create_feed(project=project, by=admin)

    first_response, second_response = fetch(client, project, raw), fetch(client, project, raw)

    found = events(first_response.content)
    assert set(found) == set(events(second_response.content))
    assert first_response["ETag"] == second_response["ETag"]
    base = f"sprint-{first.pk}"
    assert set(found) == {
        f"{base}-daily-scrum@scrumboard.example.com",
        f"{base}-planning@scrumboard.example.com",
        f"{base}-review@scrumboard.example.com",
        f"{base}-retrospective@scrumboard.example.com",
        f"release-{target.pk}-target@scrumboard.example.com",
    }
    almaty = zoneinfo.ZoneInfo("Asia/Almaty")
    planning = found[f"{base}-planning@scrumboard.example.com"]
    assert str(planning["SUMMARY"]) == "[SB] Sprint planning: Sprint 1"
    assert str(planning["DESCRIPTION"]) == "Sprint goal: Sign in works"
    assert str(planning["URL"]) == f"https://scrumboard.example.com/projects/SB/sprints/{first.pk}/plan/"
    # Right after the first daily scrum (10:00, 15 minutes), for two hours.
    assert planning.decoded("DTSTART") == datetime.datetime(2026, 3, 2, 10, 15, tzinfo=almaty)
    assert planning.decoded("DTEND") == datetime.datetime(2026, 3, 2, 12, 15, tzinfo=almaty)
    review = found[f"{base}-review@scrumboard.example.com"]
    assert str(review["SUMMARY"]) == "[SB] Sprint review: Sprint 1"
    assert review.decoded("DTSTART") == datetime.datetime(2026, 3, 13, 14, 0, tzinfo=almaty)
    assert review.decoded("DTEND") == datetime.datetime(2026, 3, 13, 15, 0, tzinfo=almaty)
    retrospective = found[f"{base}-retrospective@scrumboard.example.com"]
    assert retrospective.decoded("DTSTART") == datetime.datetime(2026, 3, 13, 15, 30, tzinfo=almaty)
    release = found[f"release-{target.pk}-target@scrumboard.example.com"]
    assert str(release["SUMMARY"]) == "[SB] Release 1.0.0 target: MVP"
    assert release.decoded("DTSTART") == datetime.date(2026, 4, 30)
    assert release.decoded("DTEND") == datetime.date(2026, 5, 1)
    assert str(release["URL"]) == f"https://scrumboard.example.com/projects/SB/roadmap/releases/{target.pk}/"
    for event in found.values():
        assert event.decoded("DTSTAMP").tzinfo is not None


def test_completed_sprints_stay_for_ninety_days(client, project, admin):
    recent = sprint(project, admin, datetime.date(2025, 12, 1), datetime.date(2025, 12, 12), SprintState.COMPLETED)
    old = sprint(project, admin, datetime.date(2025, 11, 17), datetime.date(2025, 11, 28), SprintState.COMPLETED)
    _feed, raw = create_feed(project=project, by=admin)

    found = events(fetch(client, project, raw).content)

    assert f"sprint-{recent.pk}-review@scrumboard.example.com" in found
    assert not [name for name in found if name.startswith(f"sprint-{old.pk}-")]


def test_a_sprint_without_working_days_has_no_daily_scrum(client, project, admin):
    weekend = sprint(project, admin, datetime.date(2026, 3, 7), datetime.date(2026, 3, 8))
    _feed, raw = create_feed(project=project, by=admin)

    found = events(fetch(client, project, raw).content)

    assert f"sprint-{weekend.pk}-daily-scrum@scrumboard.example.com" not in found
    assert f"sprint-{weekend.pk}-planning@scrumboard.example.com" in found


@pytest.mark.parametrize("sprints", [1, 6])
def test_feed_takes_the_same_queries_whatever_the_number_of_sprints(
    client, project, admin, sprints, django_assert_num_queries
):
    start = datetime.date(2026, 1, 5)
    for n in range(sprints):
        begin = start + datetime.timedelta(weeks=2 * n)
        state = SprintState.COMPLETED if begin < datetime.date(2026, 2, 20) else SprintState.PLANNED
        sprint(project, admin, begin, begin + datetime.timedelta(days=11), state)
        create_release(project=project, by=admin, version=f"1.{n}.0", target_date=begin)
    _feed, raw = create_feed(project=project, by=admin)

    # The feed and its project, the sprints, the releases.
    with django_assert_num_queries(3):
        response = fetch(client, project, raw)

    assert len(events(response.content)) == 5 * sprints


# Who gets in


def test_revoked_unknown_foreign_and_missing_secrets_answer_404(client, project, admin):
    feed, raw = create_feed(project=project, by=admin)
    other = make_project(admin=admin, key="OTH")
    _other_feed, other_raw = create_feed(project=other, by=admin)

    assert fetch(client, other, raw).status_code == 404  # SB's secret on another project's URL
    assert fetch(client, project, other_raw).status_code == 404
    assert fetch(client, project, "sbcal_" + "x" * 43).status_code == 404
    assert fetch(client, project, "").status_code == 404
    assert fetch(client, project, None).status_code == 404
    assert client.get(reverse("api:calendar-feed", kwargs={"key": "NOPE"}), {"token": raw}).status_code == 404

    revoke_feed(feed=feed, by=admin)
    assert fetch(client, project, raw).status_code == 404
    assert fetch(client, other, other_raw).status_code == 200


def test_an_archived_project_serves_no_feed(client, project, admin):
    _feed, raw = create_feed(project=project, by=admin)
    archive_project(project=project, by=admin)

    assert fetch(client, project, raw).status_code == 404


def test_a_session_or_an_api_token_does_not_open_the_feed(client, project, admin):
    create_feed(project=project, by=admin)
    _token, api_token = create_token(user=admin, name="ci", scope="write")

    assert fetch(client, project, None, Authorization=f"Bearer {api_token}").status_code == 404
    assert fetch(client, project, api_token).status_code == 404
    client.force_login(admin)
    assert fetch(client, project, None).status_code == 404


# The management page


def test_page_creates_a_url_shown_once_and_revoking_it_stops_it_at_once(client, project, admin):
    client.force_login(admin)
    url = reverse(PAGE, kwargs={"key": project.key})

    empty = client.get(url)
    assert empty.status_code == 200
    assert empty.context["feed"] is None

    created = client.post(url)
    assert created.status_code == 200
    feed_url = created.context["feed_url"]
    raw = feed_url.split("token=", 1)[1]
    assert feed_url in created.content.decode()
    assert created.context["webcal_url"] == "webcal://" + feed_url.split("://", 1)[1]
    assert "no-store" in created["Cache-Control"]
    assert fetch(client, project, raw).status_code == 200

    shown = client.get(url)
    assert raw not in shown.content.decode()
    assert shown.context["feed"].prefix in shown.content.decode()

    revoked = client.post(reverse(REVOKE, kwargs={"key": project.key}))
    assert revoked.status_code == 302
    assert fetch(client, project, raw).status_code == 404
    assert client.get(url).context["feed"] is None
    # Nothing left to revoke.
    assert client.post(reverse(REVOKE, kwargs={"key": project.key})).status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("developer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_page_takes_the_manage_integrations_right(client, team, persona, status):
    client.force_login(team.persona(persona))
    url = reverse(PAGE, kwargs={"key": team.project.key})

    assert client.get(url).status_code == status
    assert client.post(url).status_code == status
    assert not CalendarFeed.objects.exists()
