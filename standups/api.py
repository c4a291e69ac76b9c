"""``/api/v1/projects/{key}/standups/`` and ``/impediments/``: daily scrums by date, entries, impediments."""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, serializers, status, viewsets
from rest_framework.response import Response

from backlog.api import ItemKeyField, MemberField
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created
from scrumboard.errors import ConflictError
from standups import selectors, services
from standups.exports import export_csv
from standups.models import DailyScrum, Entry, Impediment, ImpedimentState

User = get_user_model()

# An export covers at most this many days: a year of daily scrums.
EXPORT_MAX_DAYS = 366


def parse_date(value: str, field: str = "date") -> datetime.date:
    """A ``YYYY-MM-DD`` date in the project's time zone; anything else is a 400."""
    try:
        day = datetime.date.fromisoformat(str(value))
    except ValueError:
        day = None
    if day is None or len(str(value)) != 10:
        raise exceptions.ValidationError({field: [_("Give a date as YYYY-MM-DD.")]})
    return day


class UsernameMap(dict):
    """User id -> username for the project's members, read once per response."""

    @classmethod
    def of(cls, project) -> "UsernameMap":
        return cls(User.objects.filter(memberships__project=project).values_list("pk", "username"))


class DailyScrumSerializer(serializers.ModelSerializer):
    sprint = serializers.IntegerField(source="sprint_id", read_only=True)
    facilitator = serializers.SerializerMethodField()
    speaking_order = serializers.SerializerMethodField()
    attendance = serializers.SerializerMethodField()
    timebox_minutes = serializers.SerializerMethodField()

    class Meta:
        model = DailyScrum
        fields = [
            "id",
            "date",
            "sprint",
            "state",
            "started_at",
            "ended_at",
            "facilitator",
            "speaking_order",
            "attendance",
            "timebox_minutes",
            "summary",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _names(self) -> dict:
        return self.context["usernames"]

    def get_facilitator(self, meeting) -> str | None:
        return self._names().get(meeting.facilitator_id)

    def get_speaking_order(self, meeting) -> list[str]:
        return [self._names()[pk] for pk in meeting.speaking_order if pk in self._names()]

    def get_attendance(self, meeting) -> dict[str, bool]:
        names = self._names()
        return {names[int(pk)]: present for pk, present in meeting.attendance.items() if int(pk) in names}

    def get_timebox_minutes(self, meeting) -> int:
        return self.context["project"].daily_scrum_minutes


class MeetingCreateSerializer(serializers.Serializer):
    date = serializers.CharField(required=False, help_text="YYYY-MM-DD; today in the project's time zone if left out")


class StartSerializer(serializers.Serializer):
    order = serializers.ChoiceField(choices=services.SpeakingOrder.CHOICES, default=services.SpeakingOrder.SHUFFLED)


class AttendanceSerializer(serializers.Serializer):
    member = MemberField()
    present = serializers.BooleanField()


class EntrySerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="user.username", read_only=True)
    items = serializers.ListField(child=ItemKeyField(), required=False, write_only=True)
    impediment = serializers.IntegerField(source="impediment_id", read_only=True, allow_null=True)

    class Meta:
        model = Entry
        fields = ["id", "member", "done", "next", "blockers", "items", "impediment", "created_at", "updated_at"]
        read_only_fields = ["id", "member", "impediment", "created_at", "updated_at"]

    def to_representation(self, entry):
        data = super().to_representation(entry)
        data["items"] = [item.key for item in entry.items.all()]
        return data


class ImpedimentSerializer(serializers.ModelSerializer):
    owner = MemberField(required=False)
    raised_by = serializers.CharField(source="raised_by.username", read_only=True, allow_null=True, default=None)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, allow_null=True, default=None)
    items = serializers.ListField(child=ItemKeyField(), required=False, write_only=True)
    state = serializers.ChoiceField(choices=ImpedimentState.choices, required=False)

    class Meta:
        model = Impediment
        fields = [
            "id",
            "description",
            "state",
            "owner",
            "items",
            "raised_by",
            "raised_on",
            "resolved_by",
            "resolved_on",
            "resolved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "raised_by", "raised_on", "resolved_by", "resolved_on", "resolved_at"]

    def to_representation(self, impediment):
        data = super().to_representation(impediment)
        data["items"] = [item.key for item in impediment.items.all()]
        return data


class MeetingPagination(CursorPagination):
    ordering = "-date"


class MeetingScopedMixin(ETagMixin, ProjectScopedMixin):
    def meeting(self) -> DailyScrum:
        """The project's daily scrum on the URL's date, or 404."""
        if not hasattr(self, "_meeting"):
            day = parse_date(self.kwargs["date"])
            meeting = DailyScrum.objects.filter(project=self.project, date=day).first()
            if meeting is None:
                raise Http404
            meeting.project = self.project
            self._meeting = meeting
        return self._meeting

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "usernames": UsernameMap.of(self.project)}

    def meeting_data(self, meeting: DailyScrum) -> dict:
        self._etag_object = meeting
        return DailyScrumSerializer(meeting, context=self.get_serializer_context()).data


class DailyScrumViewSet(MeetingScopedMixin, viewsets.GenericViewSet):
    serializer_class = DailyScrumSerializer
    pagination_class = MeetingPagination

    def get_queryset(self):
        return DailyScrum.objects.filter(project=self.project)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="first date, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="last date, YYYY-MM-DD"),
        ],
        summary="The project's daily scrums, latest first",
    )
    def list(self, request, key: str):
        meetings = self.get_queryset()
        if "from" in request.query_params:
            meetings = meetings.filter(date__gte=parse_date(request.query_params["from"], "from"))
        if "to" in request.query_params:
            meetings = meetings.filter(date__lte=parse_date(request.query_params["to"], "to"))
        page = self.paginate_queryset(meetings)
        for meeting in page or []:
            meeting.project = self.project
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=MeetingCreateSerializer,
        responses={
            200: OpenApiResponse(DailyScrumSerializer, description="The meeting of that date already existed."),
            201: OpenApiResponse(DailyScrumSerializer, description="The meeting was opened."),
        },
        summary="The daily scrum of a date (default today), opened on first use: only on a sprint's working day",
    )
    def create(self, request, key: str):
        self.require(services.WRITE)
        body = MeetingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        day = parse_date(body.validated_data["date"]) if "date" in body.validated_data else None
        day = day or services.local_today(self.project)
        existed = DailyScrum.objects.filter(project=self.project, date=day).exists()
        meeting = services.meeting_for(project=self.project, by=request.user, day=day)
        data = self.meeting_data(meeting)
        return Response(data) if existed else created(data)

    @extend_schema(summary="The daily scrum of a date (YYYY-MM-DD in the project's time zone)")
    def retrieve(self, request, key: str, date: str):
        return Response(self.meeting_data(self.meeting()))

    @extend_schema(request=StartSerializer, summary="Start the time-box: speaking order shuffled or by role")
    def start(self, request, key: str, date: str):
        self.require(Permission.RUN_DAILY_SCRUM)
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        meeting = services.start_meeting(meeting=self.meeting(), by=request.user, order=body.validated_data["order"])
        return Response(self.meeting_data(meeting))

    @extend_schema(request=AttendanceSerializer, summary="Mark a member present or absent")
    def attendance(self, request, key: str, date: str):
        self.require(Permission.RUN_DAILY_SCRUM)
        meeting = self.meeting()
        body = AttendanceSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        meeting = services.mark_attendance(
            meeting=meeting, by=request.user, user=body.validated_data["member"], present=body.validated_data["present"]
        )
        return Response(self.meeting_data(meeting))

    @extend_schema(request=None, summary="Close the meeting; its summary is frozen")
    def end(self, request, key: str, date: str):
        self.require(Permission.RUN_DAILY_SCRUM)
        meeting = services.end_meeting(meeting=self.meeting(), by=request.user)
        return Response(self.meeting_data(meeting))


# POST and PUT both write the caller's one entry of the day: 201 when it is new, 200 when it replaced one.
ENTRY_WRITTEN = {
    200: OpenApiResponse(EntrySerializer, description="The caller's entry was replaced."),
    201: OpenApiResponse(EntrySerializer, description="The caller's entry was written."),
}


class EntryViewSet(MeetingScopedMixin, viewsets.GenericViewSet):
    serializer_class = EntrySerializer
    pagination_class = None

    @extend_schema(summary="Every member's entry of the day")
    def list(self, request, key: str, date: str):
        return Response(self.get_serializer(selectors.entries_of(self.meeting()), many=True).data)

    def _meeting_to_write(self) -> DailyScrum:
        """Today's meeting opens on the first entry (written ahead of time); other days must exist."""
        day = parse_date(self.kwargs["date"])
        if day == services.local_today(self.project):
            return services.meeting_for(project=self.project, by=self.request.user, day=day)
        return self.meeting()

    @extend_schema(
        responses=ENTRY_WRITTEN, summary="Write or replace the caller's own entry (done, next, blockers, items)"
    )
    def create(self, request, key: str, date: str):
        self.require(services.WRITE)
        meeting = self._meeting_to_write()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        existed = Entry.objects.filter(meeting=meeting, user=request.user).exists()
        entry = services.save_entry(
            meeting=meeting,
            by=request.user,
            done=data.get("done", ""),
            next=data.get("next", ""),
            blockers=data.get("blockers", ""),
            items=data.get("items"),
        )
        payload = self.get_serializer(selectors.entries_of(meeting).get(pk=entry.pk)).data
        return Response(payload) if existed else created(payload)

    @extend_schema(
        responses=ENTRY_WRITTEN, summary="Write or replace the caller's own entry (done, next, blockers, items)"
    )
    def update(self, request, key: str, date: str):
        return self.create(request, key, date)


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


def export_range(project, params) -> tuple[datetime.date, datetime.date]:
    today = services.local_today(project)
    start = parse_date(params["from"], "from") if "from" in params else today
    end = parse_date(params["to"], "to") if "to" in params else start
    if end < start:
        raise exceptions.ValidationError({"to": [_("The range ends before it starts.")]})
    if (end - start).days >= EXPORT_MAX_DAYS:
        raise exceptions.ValidationError({"to": [_("Export a year at most at once.")]})
    return start, end


class ExportView(ProjectScopedMixin, viewsets.GenericViewSet):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="first date, YYYY-MM-DD (default today)"),
            OpenApiParameter("to", str, description="last date, YYYY-MM-DD (default: from)"),
            OpenApiParameter("format", str, description="json (default) or csv"),
        ],
        responses={200: OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
        summary="Every entry of a day or a range of days",
    )
    def export(self, request, key: str):
        start, end = export_range(self.project, request.query_params)
        rows = selectors.export_rows(self.project, start=start, end=end)
        if request.accepted_renderer.format == "csv":
            return export_csv(self.project, rows, start, end)
        return Response({"from": start.isoformat(), "to": end.isoformat(), "entries": rows})


class ImpedimentPagination(CursorPagination):
    ordering = "-id"


class ImpedimentViewSet(ETagMixin, ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = ImpedimentSerializer
    pagination_class = ImpedimentPagination

    def get_queryset(self):
        return selectors.impediments(self.project)

    def impediment(self, pk: int) -> Impediment:
        impediment = self.get_queryset().filter(pk=pk).first()
        if impediment is None:
            raise Http404
        impediment.project = self.project
        self._etag_object = impediment
        return impediment

    @extend_schema(
        parameters=[OpenApiParameter("state", str, description="open or resolved")],
        summary="The project's impediments, newest first",
    )
    def list(self, request, key: str):
        found = self.get_queryset()
        state = request.query_params.get("state")
        if state:
            if state not in ImpedimentState.values:
                raise exceptions.ValidationError({"state": [_("Choose open or resolved.")]})
            found = found.filter(state=state)
        page = self.paginate_queryset(found)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Raise an impediment: description, owner (default: you), linked items")
    def create(self, request, key: str):
        self.require(services.WRITE)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "description" not in data:
            raise exceptions.ValidationError({"description": [_("Describe what blocks the work.")]})
        impediment = services.raise_impediment(
            project=self.project,
            by=request.user,
            description=data["description"],
            owner=data.get("owner"),
            items=data.get("items", []),
        )
        return created(self.get_serializer(self.impediment(impediment.pk)).data)

    def retrieve(self, request, key: str, pk: int):
        return Response(self.get_serializer(self.impediment(pk)).data)

    @extend_schema(summary='Change an open impediment (description, owner, items) or resolve it: {"state": "resolved"}')
    def partial_update(self, request, key: str, pk: int):
        self.require(services.WRITE)
        impediment = self.impediment(pk)
        body = self.get_serializer(impediment, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        state = data.pop("state", None)
        if not data and state is None:
            raise exceptions.ValidationError(_("Say what to change: description, owner, items or state."))
        if state == ImpedimentState.OPEN and not impediment.is_open:
            raise ConflictError(_("A resolved impediment stays resolved; raise a new one."))
        with transaction.atomic():
            self.lock_for_write(impediment)
            if data:
                services.update_impediment(impediment=impediment, by=request.user, **data)
            if state == ImpedimentState.RESOLVED:
                services.resolve_impediment(impediment=impediment, by=request.user)
        return Response(self.get_serializer(self.impediment(pk)).data, status=status.HTTP_200_OK)
