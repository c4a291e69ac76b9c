"""The project calendar feed: a feed-only secret per project and the iCalendar it serves.

The secret lives in the feed's URL (calendar apps cannot send headers), so the URL is the
credential: only its SHA-256 is stored, a project has at most one usable feed, and revoking
it stops the URL at once. It is never an API token and an API token never opens it.
"""

import datetime
import hashlib
import secrets
from urllib.parse import urlencode, urlsplit

import icalendar  # icalendar 6 ships no type information (7 does)
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from integrations.models import CalendarFeed
from projects.models import Project
from roadmap.models import Release, ReleaseStatus
from roles import policy
from roles.models import Permission, hash_token
from sprints.models import Sprint, SprintState

FEED_TOKEN_PREFIX = "sbcal_"  # noqa: S105 (a public marker that makes leaked feed URLs easy to scan for)
PRODID = "-//Scrumboard//Project calendar//EN"

# The Scrum events' times. Projects have no settings for them (only the daily scrum's time
# and length), so they live here, in one place. Local times are in the project's time zone.
PLANNING_LENGTH = datetime.timedelta(hours=2)  # starts when the first daily scrum ends
REVIEW_AT = datetime.time(14, 0)
REVIEW_LENGTH = datetime.timedelta(hours=1)
RETROSPECTIVE_AT = datetime.time(15, 30)
RETROSPECTIVE_LENGTH = datetime.timedelta(hours=1)
# Completed sprints stay in the feed this long after they end, so recent history keeps showing.
HISTORY = datetime.timedelta(days=90)
# How often calendar apps that honour it should refresh (Google Calendar decides on its own).
REFRESH_INTERVAL = datetime.timedelta(hours=1)

BYDAY = {1: "MO", 2: "TU", 3: "WE", 4: "TH", 5: "FR", 6: "SA", 7: "SU"}


# Feed secrets


@transaction.atomic
def create_feed(*, project: Project, by) -> tuple[CalendarFeed, str]:
    """A new feed URL secret; the project's previous one, if any, stops working."""
    policy.require(by, project, Permission.MANAGE_INTEGRATIONS)
    now = timezone.now()
    CalendarFeed.objects.filter(project=project, revoked_at__isnull=True).update(revoked_at=now)
    raw = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(project=project, token_hash=hash_token(raw), prefix=raw[:12], created_by=by)
    return feed, raw


def revoke_feed(*, feed: CalendarFeed, by) -> CalendarFeed:
    policy.require(by, feed.project, Permission.MANAGE_INTEGRATIONS)
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
    return feed


def active_feed(project: Project) -> CalendarFeed | None:
    return CalendarFeed.objects.select_related("created_by").filter(project=project, revoked_at__isnull=True).first()


def feed_for(key: str, raw: str) -> CalendarFeed | None:
    """The usable feed of project ``key`` with this secret; None for unknown, revoked or another project's.

    An archived project serves no feed: it has no events ahead, and its URL could not be revoked
    (an archived project takes no changes) until someone restores it.
    """
    if not raw or not raw.startswith(FEED_TOKEN_PREFIX):
        return None
    return (
        CalendarFeed.objects.select_related("project")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True, project__key=key, project__archived=False)
        .first()
    )


def feed_url(project: Project, raw: str) -> str:
    path = reverse("api:calendar-feed", kwargs={"key": project.key})
    return f"{settings.SITE_URL}{path}?{urlencode({'token': raw})}"


# The iCalendar


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "scrumboard"


def _absolute(name: str, **kwargs) -> str:
    return settings.SITE_URL + reverse(name, kwargs=kwargs)


def feed_sprints(project: Project, today: datetime.date) -> list[Sprint]:
    """Planned and active sprints, and those completed in the last ``HISTORY`` (one query)."""
    recent = Q(state=SprintState.COMPLETED, end_date__gte=today - HISTORY)
    return list(project.sprints.filter(Q(state__in=[SprintState.PLANNED, SprintState.ACTIVE]) | recent))


def feed_releases(project: Project) -> list[Release]:
    """Releases not yet released that have a target date (one query)."""
    return list(project.releases.exclude(status=ReleaseStatus.RELEASED).filter(target_date__isnull=False))


def _event(*, uid: str, summary: str, url: str, stamp: datetime.datetime, description: str = "") -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    # DTSTAMP follows the data, not the request: the same feed reads the same and its ETag holds.
    event.add("dtstamp", stamp.astimezone(datetime.UTC))
    event.add("last-modified", stamp.astimezone(datetime.UTC))
    event.add("summary", summary)
    event.add("url", url)
    if description:
        event.add("description", description)
    return event


def _timed(event: icalendar.Event, start: datetime.datetime, length: datetime.timedelta) -> icalendar.Event:
    event.add("dtstart", start)
    event.add("dtend", start + length)
    return event


def _sprint_events(project: Project, sprint: Sprint, host: str) -> list[icalendar.Event]:
    tz = project.tzinfo
    days = sprint.working_days()
    first, last = (days[0], days[-1]) if days else (sprint.start_date, sprint.end_date)
    stamp = max(sprint.updated_at, project.updated_at)
    prefix = f"[{project.key}]"
    goal = f"Sprint goal: {sprint.goal}" if sprint.goal else ""
    scrum_start = datetime.datetime.combine(first, project.daily_scrum_time, tzinfo=tz)
    scrum_length = datetime.timedelta(minutes=project.daily_scrum_minutes)
    events = []
    if days:
        daily = _event(
            uid=f"sprint-{sprint.pk}-daily-scrum@{host}",
            summary=f"{prefix} Daily scrum ({sprint.name})",
            url=_absolute("standups:today", key=project.key),
            stamp=stamp,
        )
        _timed(daily, scrum_start, scrum_length)
        # UNTIL is UTC (RFC 5545 with a TZID'd DTSTART): the end of the sprint's last day, locally.
        until = datetime.datetime.combine(sprint.end_date, datetime.time.max.replace(microsecond=0), tzinfo=tz)
        byday = [BYDAY[day] for day in sorted(project.working_days)]
        daily.add("rrule", {"freq": "weekly", "byday": byday, "until": until.astimezone(datetime.UTC)})
        events.append(daily)
    planning = _event(
        uid=f"sprint-{sprint.pk}-planning@{host}",
        summary=f"{prefix} Sprint planning: {sprint.name}",
        url=_absolute("sprints:plan", key=project.key, pk=sprint.pk),
        stamp=stamp,
        description=goal,
    )
    events.append(_timed(planning, scrum_start + scrum_length, PLANNING_LENGTH))
    review = _event(
        uid=f"sprint-{sprint.pk}-review@{host}",
        summary=f"{prefix} Sprint review: {sprint.name}",
        url=_absolute("sprints:review", key=project.key, pk=sprint.pk),
        stamp=stamp,
        description=goal,
    )
    events.append(_timed(review, datetime.datetime.combine(last, REVIEW_AT, tzinfo=tz), REVIEW_LENGTH))
    retrospective = _event(
        uid=f"sprint-{sprint.pk}-retrospective@{host}",
        summary=f"{prefix} Sprint retrospective: {sprint.name}",
        url=_absolute("retrospectives:list", key=project.key),
        stamp=stamp,
    )
    start = datetime.datetime.combine(last, RETROSPECTIVE_AT, tzinfo=tz)
    events.append(_timed(retrospective, start, RETROSPECTIVE_LENGTH))
    return events


def _release_event(project: Project, release: Release, target: datetime.date, host: str) -> icalendar.Event:
    event = _event(
        uid=f"release-{release.pk}-target@{host}",
        summary=f"[{project.key}] Release {release.version} target" + (f": {release.name}" if release.name else ""),
        url=_absolute("roadmap:release", key=project.key, pk=release.pk),
        stamp=release.updated_at,
    )
    # All day: a VALUE=DATE start and the next day as the (exclusive) end.
    event.add("dtstart", target)
    event.add("dtend", target + datetime.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    return event


def build_calendar(project: Project, sprints: list[Sprint], releases: list[Release]) -> bytes:
    """The feed's iCalendar. Texts are in English: a feed has many readers and no language of its own."""
    host = _site_host()
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = f"{project.name} (Scrumboard)"
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", project.timezone)
    cal.add("refresh-interval", icalendar.vDuration(REFRESH_INTERVAL), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH_INTERVAL))
    events = [event for sprint in sprints for event in _sprint_events(project, sprint, host)]
    events += [_release_event(project, r, r.target_date, host) for r in releases if r.target_date]
    # The VTIMEZONE spans the feed's years (whole years, so it does not change from day to day).
    years = [sprint.start_date.year for sprint in sprints] + [sprint.end_date.year for sprint in sprints]
    years += [release.target_date.year for release in releases if release.target_date]
    years.append(timezone.now().year)
    first, last = datetime.date(min(years) - 1, 1, 1), datetime.date(max(years) + 2, 1, 1)
    cal.add_component(icalendar.Timezone.from_tzid(project.timezone, first_date=first, last_date=last))
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def project_calendar(project: Project) -> bytes:
    """The project's feed, in a constant number of queries (sprints, releases)."""
    today = timezone.now().astimezone(project.tzinfo).date()
    return build_calendar(project, feed_sprints(project, today), feed_releases(project))


def calendar_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
