"""The calendar feed endpoint (the secret in its URL is the only credential) and its management page."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.views import APIView

from integrations import calendar
from integrations.models import CalendarFeed
from roles.models import Permission
from scrumboard.pages import project_page, render_project

CACHE_CONTROL = "private, max-age=300"


class CalendarFeedView(APIView):
    """``calendar.ics``: opened by calendar apps, which send no session and no API token.

    Neither is looked at: only the feed secret in ``?token=`` opens the feed, and any other
    (unknown, revoked, another project's, missing) answers 404 as if the project did not exist.
    """

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        summary="Scrum events as iCalendar",
        description=(
            "Daily scrums (recurring on working days, in the project's time zone), sprint planning, review and "
            "retrospective, release target dates. The feed secret in the URL is the only credential: API tokens "
            "and sessions are not accepted. Managers create and revoke the URL on the project's calendar page."
        ),
        parameters=[
            OpenApiParameter(
                "token", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description="Feed secret"
            )
        ],
        responses={
            (200, "text/calendar"): OpenApiTypes.STR,
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            404: OpenApiResponse(description="No such project, or the secret is unknown or revoked"),
        },
        examples=[
            OpenApiExample(
                "A daily scrum",
                media_type="text/calendar",
                response_only=True,
                status_codes=["200"],
                value=(
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Scrumboard//Project calendar//EN\r\n"
                    "X-WR-CALNAME:Scrumboard (Scrumboard)\r\nX-WR-TIMEZONE:Asia/Almaty\r\n"
                    "BEGIN:VTIMEZONE\r\n...\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
                    "SUMMARY:[SB] Daily scrum (Sprint 4)\r\nDTSTART;TZID=Asia/Almaty:20260302T100000\r\n"
                    "DTEND;TZID=Asia/Almaty:20260302T101500\r\nUID:sprint-4-daily-scrum@scrumboard.example.com\r\n"
                    "RRULE:FREQ=WEEKLY;UNTIL=20260313T185959Z;BYDAY=MO,TU,WE,TH,FR\r\nEND:VEVENT\r\n"
                    "END:VCALENDAR\r\n"
                ),
            )
        ],
        operation_id="v1_projects_calendar_retrieve",
        auth=[],
    )
    def get(self, request, key: str):
        feed = calendar.feed_for(key, request.query_params.get("token", ""))
        if feed is None:
            raise Http404
        body = calendar.project_calendar(feed.project)
        etag = calendar.calendar_etag(body)
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
            response["Content-Disposition"] = f'inline; filename="{feed.project.key}.ics"'
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
        return response


@require_http_methods(["GET", "POST"])
@project_page(Permission.MANAGE_INTEGRATIONS)
def calendar_page(request, project):
    """The feed's state; a POST makes a new URL, shown in this one response only."""
    url = ""
    if request.method == "POST":
        # The page's own check already ran: the service's policy check cannot fail here.
        __, raw = calendar.create_feed(project=project, by=request.user)
        url = calendar.feed_url(project, raw)
    context = {
        "feed": calendar.active_feed(project),
        "feed_url": url,
        # webcal:// makes Apple Calendar (and Outlook on the desktop) offer to subscribe.
        "webcal_url": "webcal://" + url.split("://", 1)[1] if url else "",
    }
    response = render_project(request, "integrations/calendar.html", project, context, tab="integrations")
    if url:
        add_never_cache_headers(response)
    return response


@require_POST
@project_page(Permission.MANAGE_INTEGRATIONS)
def calendar_revoke(request, project):
    feed = get_object_or_404(CalendarFeed.objects.filter(project=project, revoked_at__isnull=True))
    calendar.revoke_feed(feed=feed, by=request.user)
    messages.success(request, _("Calendar feed URL revoked. Calendars subscribed to it stop updating."))
    return redirect("integrations:calendar", key=project.key)
