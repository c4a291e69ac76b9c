"""``/api/v1/projects/{key}/roadmap/``: phases, milestones and releases with progress and forecasts.

Everyone in the project reads; every write goes through ``roadmap.services`` (the "manage roadmap"
permission). Phases and releases are shown through ``selectors.roadmap`` only, so a list, a single
object and the whole roadmap agree on progress and forecast, in a constant number of queries.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from backlog.models import BacklogItem
from projects.models import Project
from roadmap import selectors, services
from roadmap.models import Milestone, Phase, Release
from roadmap.serializers import (
    LinkSerializer,
    MilestoneSerializer,
    MilestoneWriteSerializer,
    NotesPreviewSerializer,
    PhaseSerializer,
    PhaseWriteSerializer,
    ReleaseActionSerializer,
    ReleaseSerializer,
    ReleaseWriteSerializer,
    RoadmapSerializer,
    TemplateSerializer,
)
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created
from scrumboard.idempotency import IDEMPOTENCY_HEADER, idempotent

MANAGE = Permission.MANAGE_ROADMAP


# --- data: the one place the API shows the roadmap -----------------------------------------------


class RoadmapData:
    """The roadmap read once, with item keys for its links (one more query)."""

    def __init__(self, project: Project):
        self.project = project
        self.view = selectors.roadmap(project)
        linked = {pk for ids in (*self.view.phase_items.values(), *self.view.release_items.values()) for pk in ids}
        numbers = dict(BacklogItem.objects.filter(pk__in=linked).values_list("pk", "number")) if linked else {}
        self._numbers = numbers

    def keys(self, item_ids: list[int]) -> list[str]:
        numbers = sorted(self._numbers[pk] for pk in item_ids if pk in self._numbers)
        return [f"{self.project.key}-{number}" for number in numbers]

    def phase(self, phase: Phase) -> dict:
        progress = self.view.phase_progress.get(phase.pk) or selectors.Progress()
        return {
            "id": phase.pk,
            "name": phase.name,
            "goal": phase.goal,
            "start_date": phase.start_date,
            "end_date": phase.end_date,
            "order": phase.order,
            "status": phase.status,
            "progress": progress.as_dict(),
            "items": self.keys(self.view.phase_items.get(phase.pk, [])),
        }

    def release(self, release: Release) -> dict:
        progress = self.view.release_progress.get(release.pk) or selectors.Progress()
        forecast = self.view.forecasts.get(release.pk)
        return {
            "id": release.pk,
            "version": release.version,
            "name": release.name,
            "phase": release.phase_id,
            "target_date": release.target_date,
            "status": release.status,
            "released_on": release.released_on,
            "notes": release.notes,
            "notes_edited": release.notes_edited,
            "progress": progress.as_dict(),
            "forecast": forecast.as_dict() if forecast else None,
            "items": self.keys(self.view.release_items.get(release.pk, [])),
        }

    @staticmethod
    def milestone(milestone: Milestone) -> dict:
        return {
            "id": milestone.pk,
            "name": milestone.name,
            "date": milestone.date,
            "phase": milestone.phase_id,
            "done": milestone.done,
        }

    def whole(self) -> dict:
        view = self.view
        return RoadmapSerializer(
            {
                "phases": [self.phase(phase) for phase in view.phases],
                "milestones": [self.milestone(milestone) for milestone in view.milestones],
                "releases": [self.release(release) for release in view.releases],
                "epics": [
                    {
                        "key": epic.key,
                        "title": epic.title,
                        "progress": (view.epic_progress.get(epic.pk) or selectors.Progress()).as_dict(),
                    }
                    for epic in view.epics
                ],
                "sprints": [
                    {
                        "id": sprint.pk,
                        "name": sprint.name,
                        "start_date": sprint.start_date,
                        "end_date": sprint.end_date,
                        "state": sprint.state,
                    }
                    for sprint in view.sprints
                ],
                "range": {"start": view.start, "end": view.end},
                "today": view.today,
            }
        ).data


# --- views ---------------------------------------------------------------------------------------


class RoadmapView(ProjectScopedMixin, viewsets.GenericViewSet):
    @extend_schema(
        responses=RoadmapSerializer,
        summary="The roadmap: phases, milestones, releases with progress and forecast, epics, sprints",
    )
    def roadmap(self, request, key: str):
        return Response(RoadmapData(self.project).whole())

    @extend_schema(
        request=TemplateSerializer,
        responses={201: RoadmapSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Start an empty roadmap from the three-month template (phases, milestones, release 1.0.0)",
    )
    @idempotent
    def template(self, request, key: str):
        self.require(MANAGE)
        serializer = TemplateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.apply_template(project=self.project, by=request.user, start=serializer.validated_data.get("start"))
        return created(RoadmapData(self.project).whole())


class RoadmapObjectMixin(ETagMixin, ProjectScopedMixin):
    """Looks an object up inside the URL's project (another project's id: 404)."""

    model: type[Phase] | type[Milestone] | type[Release]
    # One object as the API shows it, from the roadmap read once (the phase and release viewsets).
    show: Callable[[RoadmapData, Any], dict]

    def get_object(self):
        obj = self.model.objects.filter(project=self.project, pk=self.kwargs["pk"]).first()
        if obj is None:
            raise Http404
        obj.project = self.project
        return obj

    def locked(self, obj=None):
        """The object afresh under a row lock, after checking ``If-Match`` (call inside a transaction)."""
        obj = self.lock_for_write(obj or self.get_object())
        obj.project = self.project
        return obj

    def shown(self, obj) -> dict:
        self._etag_object = obj
        return self.show(RoadmapData(self.project), obj)


class RoadmapPagination(CursorPagination):
    ordering = "id"


class PhaseViewSet(RoadmapObjectMixin, viewsets.GenericViewSet):
    model = Phase
    serializer_class = PhaseSerializer
    pagination_class = RoadmapPagination

    def get_queryset(self):
        return Phase.objects.filter(project=self.project)

    def show(self, data: RoadmapData, obj) -> dict:
        return PhaseSerializer(data.phase(obj)).data

    @extend_schema(responses=PhaseSerializer(many=True), summary="The roadmap's phases with progress and items")
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset()) or []
        data = RoadmapData(self.project)
        return self.get_paginated_response(PhaseSerializer([data.phase(p) for p in page], many=True).data)

    @extend_schema(
        request=PhaseWriteSerializer, responses={201: PhaseSerializer}, summary="Add a phase: name, goal, dates"
    )
    def create(self, request, key: str):
        self.require(MANAGE)
        serializer = PhaseWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phase = services.create_phase(project=self.project, by=request.user, **serializer.validated_data)
        return created(self.shown(phase))

    def retrieve(self, request, key: str, pk: int):
        return Response(self.shown(self.get_object()))

    @extend_schema(request=PhaseWriteSerializer, summary="Change a phase: name, goal, dates, order, status")
    def partial_update(self, request, key: str, pk: int):
        self.require(MANAGE)
        phase = self.get_object()
        serializer = PhaseWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            phase = services.update_phase(phase=self.locked(phase), by=request.user, **serializer.validated_data)
        return Response(self.shown(phase))

    @extend_schema(summary="Delete a phase; its milestones and releases stay, without a phase")
    def destroy(self, request, key: str, pk: int):
        self.require(MANAGE)
        with transaction.atomic():
            services.delete_phase(phase=self.locked(), by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=LinkSerializer,
        responses=PhaseSerializer,
        summary="Link or unlink epics and items by key: {add: [SB-3], remove: [...]}",
    )
    def items(self, request, key: str, pk: int):
        self.require(MANAGE)
        phase = self.get_object()
        serializer = LinkSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            phase = self.locked(phase)
            services.link_items(target=phase, by=request.user, **serializer.validated_data)
        return Response(self.shown(phase))


class MilestoneViewSet(RoadmapObjectMixin, viewsets.GenericViewSet):
    model = Milestone
    serializer_class = MilestoneSerializer
    pagination_class = RoadmapPagination

    def get_queryset(self):
        return Milestone.objects.filter(project=self.project)

    def shown(self, obj) -> dict:
        self._etag_object = obj
        return MilestoneSerializer(RoadmapData.milestone(obj)).data  # nothing computed: no roadmap read

    @extend_schema(responses=MilestoneSerializer(many=True), summary="The roadmap's milestones")
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(
            MilestoneSerializer([RoadmapData.milestone(m) for m in page], many=True).data
        )

    @extend_schema(
        request=MilestoneWriteSerializer,
        responses={201: MilestoneSerializer},
        summary="Add a milestone: name, date, phase, done",
    )
    def create(self, request, key: str):
        self.require(MANAGE)
        serializer = MilestoneWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        milestone = services.create_milestone(project=self.project, by=request.user, **serializer.validated_data)
        return created(self.shown(milestone))

    def retrieve(self, request, key: str, pk: int):
        return Response(self.shown(self.get_object()))

    @extend_schema(request=MilestoneWriteSerializer, summary="Change a milestone, or mark it done")
    def partial_update(self, request, key: str, pk: int):
        self.require(MANAGE)
        milestone = self.get_object()
        serializer = MilestoneWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            milestone = services.update_milestone(
                milestone=self.locked(milestone), by=request.user, **serializer.validated_data
            )
        return Response(self.shown(milestone))

    @extend_schema(summary="Delete a milestone")
    def destroy(self, request, key: str, pk: int):
        self.require(MANAGE)
        with transaction.atomic():
            services.delete_milestone(milestone=self.locked(), by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReleaseViewSet(RoadmapObjectMixin, viewsets.GenericViewSet):
    model = Release
    serializer_class = ReleaseSerializer
    pagination_class = RoadmapPagination

    def get_queryset(self):
        return Release.objects.filter(project=self.project)

    def show(self, data: RoadmapData, obj) -> dict:
        return ReleaseSerializer(data.release(obj)).data

    @extend_schema(
        responses=ReleaseSerializer(many=True), summary="The releases with progress, forecast and linked items"
    )
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset()) or []
        data = RoadmapData(self.project)
        return self.get_paginated_response(ReleaseSerializer([data.release(r) for r in page], many=True).data)

    @extend_schema(
        request=ReleaseWriteSerializer,
        responses={201: ReleaseSerializer},
        summary="Plan a release: a semantic version unique in the project, target date, phase",
    )
    def create(self, request, key: str):
        self.require(MANAGE)
        serializer = ReleaseWriteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        release = services.create_release(project=self.project, by=request.user, **serializer.validated_data)
        return created(self.shown(release))

    def retrieve(self, request, key: str, pk: int):
        return Response(self.shown(self.get_object()))

    @extend_schema(
        request=ReleaseWriteSerializer,
        summary="Change a release until it is released (then 409): version, name, phase, target date, notes",
    )
    def partial_update(self, request, key: str, pk: int):
        self.require(MANAGE)
        release = self.get_object()
        serializer = ReleaseWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            release = services.update_release(
                release=self.locked(release), by=request.user, **serializer.validated_data
            )
        return Response(self.shown(release))

    @extend_schema(summary="Delete a release that is not released (a released one stays on record: 409)")
    def destroy(self, request, key: str, pk: int):
        self.require(MANAGE)
        with transaction.atomic():
            services.delete_release(release=self.locked(), by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=LinkSerializer,
        responses=ReleaseSerializer,
        summary="Link or unlink epics and items by key until released: {add: [SB-3], remove: [...]}",
    )
    def items(self, request, key: str, pk: int):
        self.require(MANAGE)
        release = self.get_object()
        serializer = LinkSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            release = self.locked(release)
            services.link_items(target=release, by=request.user, **serializer.validated_data)
        return Response(self.shown(release))

    @extend_schema(
        request=ReleaseActionSerializer,
        responses=ReleaseSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        summary="Release the version: done items marked released, notes frozen, the date recorded",
    )
    @idempotent
    def release(self, request, key: str, pk: int):
        self.require(MANAGE)
        release = self.get_object()
        serializer = ReleaseActionSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            release = services.release_version(
                release=self.locked(release), by=request.user, **serializer.validated_data
            )
        return Response(self.shown(release))

    @extend_schema(
        responses=NotesPreviewSerializer,
        summary="Release notes generated from the done items now, next to the saved notes (nothing is saved)",
    )
    def notes(self, request, key: str, pk: int):
        release = self.get_object()
        return Response(
            NotesPreviewSerializer(
                {
                    "generated": services.generate_notes(release),
                    "notes": release.notes,
                    "notes_edited": release.notes_edited,
                    "frozen": release.is_released,
                }
            ).data
        )
