"""``/api/v1/projects/{key}/sprints/``: sprints, their start and completion, board, burndown, report; velocity."""

import csv
import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import renderers, serializers, status, viewsets
from rest_framework.response import Response

from backlog.api import BacklogItemSerializer, MemberField, spreadsheet_safe
from backlog.models import BacklogItem
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created
from scrumboard.idempotency import IDEMPOTENCY_HEADER, idempotent
from sprints import selectors, services
from sprints.models import GoalOutcome, Sprint

# Far from the calendar's end (9999-12-31): a sprint's default end and the one-month rule add days to its dates.
LATEST_SPRINT_DATE = datetime.date(2999, 12, 31)


class SprintSerializer(serializers.ModelSerializer):
    item_count = serializers.IntegerField(read_only=True, default=None)
    # Null when no item of the sprint has points (a SUM over nothing).
    points_total = serializers.DecimalField(
        max_digits=9, decimal_places=1, read_only=True, allow_null=True, default=None
    )
    goal_outcome = serializers.ChoiceField(choices=GoalOutcome.choices, required=False, allow_blank=True)

    class Meta:
        model = Sprint
        fields = [
            "id",
            "number",
            "name",
            "goal",
            "start_date",
            "end_date",
            "state",
            "started_at",
            "completed_at",
            "goal_outcome",
            "goal_note",
            "committed_points",
            "completed_points",
            "item_count",
            "points_total",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "number",
            "state",
            "started_at",
            "completed_at",
            "committed_points",
            "completed_points",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"name": {"required": False, "allow_blank": True}, "start_date": {"required": False}}
        extra_kwargs["end_date"] = {"required": False}

    def validate_start_date(self, value: datetime.date) -> datetime.date:
        return _not_too_late(value)

    def validate_end_date(self, value: datetime.date) -> datetime.date:
        return _not_too_late(value)


def _not_too_late(value: datetime.date) -> datetime.date:
    if value > LATEST_SPRINT_DATE:
        raise serializers.ValidationError(_("Give a date before the year 3000."))
    return value


class BoardCardSerializer(BacklogItemSerializer):
    """What a card shows: no description or checklists (a 300-card board stays small)."""

    class Meta(BacklogItemSerializer.Meta):
        fields = [
            "key",
            "type",
            "title",
            "status",
            "status_category",
            "priority",
            "labels",
            "assignee",
            "parent",
            "estimate",
            "points",
            "role_points",
            "rank",
            "updated_at",
        ]


class CompleteSerializer(serializers.Serializer):
    unfinished = serializers.ChoiceField(choices=services.Unfinished.CHOICES, default=services.Unfinished.BACKLOG)


class DaysOffSerializer(serializers.Serializer):
    member = MemberField()
    days_off = serializers.IntegerField(min_value=0, max_value=31)


class CapacityWriteSerializer(serializers.Serializer):
    members = DaysOffSerializer(many=True, allow_empty=False)


class FeedbackSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class SprintScopedMixin(ETagMixin, ProjectScopedMixin):
    def sprint(self) -> Sprint:
        if not hasattr(self, "_sprint"):
            pk = self.kwargs["pk"]
            sprint = Sprint.objects.filter(project=self.project, pk=pk).select_related("project").first()
            if sprint is None:
                raise Http404
            self._sprint = sprint
        return self._sprint


def _sprint_data(view, sprint: Sprint) -> dict:
    view._etag_object = sprint
    annotated = selectors.project_sprints(view.project).filter(pk=sprint.pk).first() or sprint
    return SprintSerializer(annotated, context=view.get_serializer_context()).data


class SprintPagination(CursorPagination):
    ordering = "number"


class SprintViewSet(SprintScopedMixin, viewsets.GenericViewSet):
    serializer_class = SprintSerializer
    pagination_class = SprintPagination

    def get_queryset(self):
        return selectors.project_sprints(self.project)

    @extend_schema(
        parameters=[OpenApiParameter("state", str, description="planned, active or completed (comma-separated)")],
        summary="The project's sprints, oldest first, with their item counts and points",
    )
    def list(self, request, key: str):
        sprints = self.get_queryset()
        states = [s for s in request.query_params.get("state", "").split(",") if s]
        if states:
            sprints = sprints.filter(state__in=states)
        page = self.paginate_queryset(sprints)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Plan a sprint: name (default Sprint N), goal, dates (default: after the last sprint)")
    def create(self, request, key: str):
        self.require(Permission.MANAGE_SPRINTS)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in services.EDITABLE_FIELDS}
        sprint = services.create_sprint(project=self.project, by=request.user, **data)
        return created(_sprint_data(self, sprint))

    def retrieve(self, request, key: str, pk: int):
        return Response(_sprint_data(self, self.sprint()))

    @extend_schema(summary="Change name, goal, dates; goal_outcome and goal_note record the review's verdict")
    def partial_update(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        sprint = self.sprint()
        serializer = self.get_serializer(sprint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        verdict = {k: data.pop(k) for k in ("goal_outcome", "goal_note") if k in data}
        with transaction.atomic():
            sprint = self.lock_for_write(sprint)
            sprint.project = self.project
            if data:
                services.update_sprint(sprint=sprint, by=request.user, **data)
            if verdict:
                services.record_goal_outcome(
                    sprint=sprint,
                    by=request.user,
                    outcome=verdict.get("goal_outcome", sprint.goal_outcome),
                    note=verdict.get("goal_note", sprint.goal_note),
                )
        return Response(_sprint_data(self, sprint))

    @extend_schema(summary="Delete a planned sprint; its items go back to the backlog")
    def destroy(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        sprint = self.sprint()
        with transaction.atomic():
            sprint = self.lock_for_write(sprint)
            sprint.project = self.project
            services.delete_sprint(sprint=sprint, by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        summary="Start the sprint: records the commitment (each item and its points now); one active sprint",
    )
    @idempotent
    def start(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        sprint = services.start_sprint(sprint=self.sprint(), by=request.user)
        return Response(_sprint_data(self, sprint))

    @extend_schema(
        request=CompleteSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses=inline_serializer(
            "SprintCompletion",
            {
                "sprint": SprintSerializer(),
                "carried_over": serializers.ListField(child=serializers.CharField()),
                "next_sprint": SprintSerializer(allow_null=True),
            },
        ),
        summary="Complete the sprint: freezes its report; unfinished items go to the backlog top or the next sprint",
    )
    @idempotent
    def complete(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        serializer = CompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.complete_sprint(
            sprint=self.sprint(), by=request.user, unfinished=serializer.validated_data["unfinished"]
        )
        next_sprint = _sprint_data(self, result.next_sprint) if result.next_sprint else None
        return Response(
            {
                "sprint": _sprint_data(self, result.sprint),
                "carried_over": [item.key for item in result.carried_over],
                "next_sprint": next_sprint,
            }
        )


class BoardView(SprintScopedMixin, viewsets.GenericViewSet):
    serializer_class = BacklogItemSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("assignee", str, description="'me': only the caller's cards"),
            OpenApiParameter("swimlanes", str, description="none, assignee, parent (story) or epic"),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="The sprint board: a column per status with its cards, WIP limits, optional swimlanes",
    )
    def board(self, request, key: str, pk: int):
        swimlanes = request.query_params.get("swimlanes", "none")
        if swimlanes not in selectors.SWIMLANES:
            raise serializers.ValidationError({"swimlanes": [_("Use none, assignee, parent or epic.")]})
        board = selectors.sprint_board(
            self.sprint(),
            user=request.user,
            only_mine=request.query_params.get("assignee") == "me",
            swimlanes=swimlanes,
        )
        context = {**self.get_serializer_context(), "statuses": [c.status for c in board.columns]}

        def column_head(column) -> dict:
            return {
                "status": column.status.name,
                "category": column.status.category,
                "wip_limit": column.status.wip_limit,
                "over_limit": column.over_limit,
            }

        # Each card once, in its column; lanes name their cards by key.
        columns = [
            {**column_head(column), "items": BoardCardSerializer(column.items, many=True, context=context).data}
            for column in board.columns
        ]
        lanes = [
            {
                "key": lane.key,
                "title": lane.title,
                "columns": [{"status": c.status.name, "items": [item.key for item in c.items]} for c in lane.columns],
            }
            for lane in board.lanes
        ]
        return Response(
            {
                "sprint": {"id": board.sprint.pk, "name": board.sprint.name, "state": board.sprint.state},
                "version": board.version,
                "columns": columns,
                "lanes": lanes,
            }
        )


class BurndownView(SprintScopedMixin, viewsets.GenericViewSet):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="Daily series over the working days: ideal, remaining, scope, completed (points and items)",
    )
    def burndown(self, request, key: str, pk: int):
        return Response(selectors.sprint_burndown(self.sprint()))


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``?format=csv`` through DRF's content negotiation; the view writes the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)  # errors keep their JSON shape


def report_csv(sprint: Sprint, report: dict) -> HttpResponse:
    """One row per item the sprint touched, with what became of it; then the totals."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{sprint.project.key}-sprint-{sprint.number}-report.csv"'
    response.write("\ufeff")  # so spreadsheet programs read UTF-8 (Kazakh, Russian) correctly
    rows: list[list] = [["Section", "Key", "Title", "Points", "Status", "Assignee", "Note"]]
    for section, items in (("done", report["done_items"]), ("carry-over", report["carry_over"])):
        rows += [[section, r["key"], r["title"], r["points"], r["status"], r["assignee"] or "", ""] for r in items]
    change = report["scope_change"]
    rows += [["added", r["key"], r["title"], r["points"], "", "", r["at"]] for r in change["added"]]
    rows += [["removed", r["key"], r["title"], r["points"], "", "", r["at"]] for r in change["removed"]]
    rows += [
        ["re-estimated", r["key"], r["title"], r["new"], "", "", f"{r['old']} -> {r['new']}"] for r in change["changed"]
    ]
    for label in ("committed", "completed", "scope"):
        rows.append(["total", label, "", report[label]["points"], "", "", f"{report[label]['items']} items"])
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return response


class ReportView(SprintScopedMixin, viewsets.GenericViewSet):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, description="json (default) or csv")],
        responses={200: OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
        summary="The sprint review report: committed vs completed, scope change, carry-over, increment, charts' data",
    )
    def report(self, request, key: str, pk: int):
        sprint = self.sprint()
        report = selectors.sprint_report(sprint)
        data = {
            **report,
            "goal_outcome": sprint.goal_outcome,
            "goal_note": sprint.goal_note,
            "state": sprint.state,
            "feedback": [
                {"key": item.key, "title": item.title}
                for item in sprint.feedback_items.select_related("project").order_by("number")
            ],
        }
        if request.accepted_renderer.format == "csv":
            return report_csv(sprint, data)
        return Response(data)


class CapacityView(SprintScopedMixin, viewsets.GenericViewSet):
    serializer_class = CapacityWriteSerializer

    def _data(self, sprint: Sprint) -> dict:
        capacity = selectors.sprint_capacity(sprint)
        return {
            "working_days": capacity.working_days,
            "available_days": capacity.available_days,
            "points_per_day": capacity.points_per_day,
            "capacity_points": capacity.capacity_points,
            "average_velocity": capacity.average_velocity,
            "planned_points": capacity.planned_points,
            "planned_items": capacity.planned_items,
            "unestimated_items": capacity.unestimated_items,
            "over_velocity": capacity.over_velocity,
            "over_capacity": capacity.over_capacity,
            "members": [
                {
                    "member": m.membership.user.get_username(),
                    "role": m.membership.role.slug,
                    "days_off": m.days_off,
                    "available_days": m.available,
                }
                for m in capacity.members
            ],
            "roles": [
                {
                    "role": r.slug,
                    "available_days": r.available_days,
                    "capacity_points": r.capacity_points,
                    "planned_points": r.planned_points,
                    "over": r.over,
                }
                for r in capacity.roles
            ],
        }

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Capacity: each member's available days, points per role")
    def retrieve(self, request, key: str, pk: int):
        return Response(self._data(self.sprint()))

    @extend_schema(
        request=CapacityWriteSerializer,
        responses=OpenApiTypes.OBJECT,
        summary="Set members' days off in the sprint",
    )
    def partial_update(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        sprint = self.sprint()
        serializer = CapacityWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                for row in serializer.validated_data["members"]:
                    services.set_days_off(sprint=sprint, by=request.user, user=row["member"], days=row["days_off"])
        except DjangoValidationError as exc:  # the service names its own arguments; the client sent "members"
            raise serializers.ValidationError({"members": exc.messages}) from exc
        return Response(self._data(sprint))


class FeedbackPagination(CursorPagination):
    ordering = "number"  # in the order it was captured


class FeedbackView(SprintScopedMixin, viewsets.GenericViewSet):
    serializer_class = FeedbackSerializer
    pagination_class = FeedbackPagination

    @extend_schema(responses=BacklogItemSerializer(many=True), summary="Feedback captured at the sprint review")
    def list(self, request, key: str, pk: int):
        page = self.paginate_queryset(BacklogItem.objects.filter(feedback_from=self.sprint()).for_list())
        return self.get_paginated_response(BacklogItemSerializer(page, many=True, context=self._context()).data)

    @extend_schema(
        request=FeedbackSerializer,
        responses={201: BacklogItemSerializer},
        summary="Capture stakeholder feedback as a new backlog item (labelled feedback)",
    )
    def create(self, request, key: str, pk: int):
        self.require(Permission.EDIT_BACKLOG)
        serializer = FeedbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.add_review_feedback(sprint=self.sprint(), by=request.user, **serializer.validated_data)
        item = BacklogItem.objects.for_list().get(pk=item.pk)
        return created(BacklogItemSerializer(item, context=self._context()).data)

    def _context(self) -> dict:
        return {**self.get_serializer_context(), "statuses": list(self.project.statuses.all())}


class VelocityView(ProjectScopedMixin, viewsets.GenericViewSet):
    @extend_schema(
        parameters=[
            OpenApiParameter("remaining", float, description="points to forecast (default: the unfinished backlog)")
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Committed vs completed points per completed sprint, the average of the last 3, a Monte Carlo forecast",
    )
    def velocity(self, request, key: str):
        remaining = request.query_params.get("remaining")
        if remaining is not None:
            try:
                remaining_points: float | None = float(remaining)
            except ValueError:
                raise serializers.ValidationError({"remaining": [_("Give a number of points.")]}) from None
            if not 0 <= remaining_points <= 1_000_000:  # type: ignore[operator]
                raise serializers.ValidationError({"remaining": [_("Give a number of points.")]})
        else:
            remaining_points = None
        rows = selectors.velocity(self.project)
        average = selectors.average_velocity(rows)
        forecast = selectors.forecast(self.project, remaining=remaining_points, rows=rows)
        return Response(
            {
                "sprints": [
                    {
                        "id": row.sprint_id,
                        "number": row.number,
                        "name": row.name,
                        "end_date": row.end_date,
                        "committed": row.committed,
                        "completed": row.completed,
                    }
                    for row in rows
                ],
                "average_last_3": average,
                "next_sprint_forecast": average,
                "forecast": None
                if forecast is None
                else {
                    "remaining_points": forecast.remaining_points,
                    "p50_sprints": forecast.p50_sprints,
                    "p85_sprints": forecast.p85_sprints,
                    "p50_date": forecast.p50_date,
                    "p85_date": forecast.p85_date,
                    "beyond_horizon": forecast.beyond_horizon,
                    "runs": forecast.runs,
                    "history": forecast.history,
                },
            }
        )
