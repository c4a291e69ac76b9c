from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from projects import services
from projects.models import SETTINGS_FIELDS, Project, validate_working_days
from roles import policy
from roles.models import Membership
from scrumboard.api import ClockTimeField, CursorPagination, ETagMixin, created


class ProjectSerializer(serializers.ModelSerializer):
    daily_scrum_time = ClockTimeField(required=False)
    working_days = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), required=False)
    my_role = serializers.SerializerMethodField()
    my_permissions = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["key", *SETTINGS_FIELDS, "archived", "created_at", "updated_at", "my_role", "my_permissions"]
        read_only_fields = ["archived", "created_at", "updated_at"]
        extra_kwargs = {"key": {"validators": []}}

    def get_my_role(self, project: Project) -> str | None:
        member = policy.membership_of(self.context["request"].user, project)
        return member.role.slug if member else None

    def get_my_permissions(self, project: Project) -> list[str]:
        return sorted(policy.allowed_actions(self.context["request"].user, project))

    def validate_working_days(self, value):
        validate_working_days(value)
        return sorted(value)

    def validate_key(self, value: str) -> str:
        if self.instance is not None and value != self.instance.key:
            raise serializers.ValidationError("The key cannot be changed.")
        return value


def visible_projects(user):
    """The user's projects, with their own membership preloaded for the policy."""
    mine = Membership.objects.filter(user=user).select_related("role")
    return Project.objects.visible_to(user).prefetch_related(Prefetch("memberships", queryset=mine, to_attr="mine"))


def prime_policy(user, projects) -> None:
    policy.remember_memberships(user, {p.pk: (p.mine[0] if p.mine else None) for p in projects})


class ProjectPagination(CursorPagination):
    ordering = "key"  # the cursor paginator imposes its own order; projects are listed by key


@extend_schema_view(
    list=extend_schema(summary="Projects you are a member of (active; ?archived=true for archived)"),
    create=extend_schema(summary="Create a project; you become its administrator"),
)
class ProjectViewSet(ETagMixin, viewsets.GenericViewSet):
    serializer_class = ProjectSerializer
    pagination_class = ProjectPagination
    lookup_field = "key"
    lookup_value_regex = "[A-Z]{2,10}"

    def get_queryset(self):
        return visible_projects(self.request.user)

    def get_object(self) -> Project:
        project = policy.project_for(self.request.user, self.kwargs["key"])
        self._etag_object = project
        return project

    def list(self, request):
        archived = request.query_params.get("archived", "false").lower() in {"1", "true", "yes"}
        queryset = self.get_queryset().filter(archived=archived)
        page = self.paginate_queryset(queryset)
        prime_policy(request.user, page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = services.create_project(key=data.pop("key"), name=data.pop("name"), by=request.user, **data)
        self._etag_object = project
        return created(self.get_serializer(project).data)

    def retrieve(self, request, key: str):
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request, key: str, partial: bool = False):
        project = self.get_object()
        policy.require(request.user, project, "manage_project")
        with transaction.atomic():
            project = self.lock_for_write(project)
            serializer = self.get_serializer(project, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            changes = {k: v for k, v in serializer.validated_data.items() if k != "key"}
            project = services.update_project(project=project, by=request.user, **changes)
        return Response(self.get_serializer(project).data)

    def partial_update(self, request, key: str):
        return self.update(request, key, partial=True)

    @extend_schema(request=None, summary="Archive the project (administrators)")
    @action(detail=True, methods=["post"])
    def archive(self, request, key: str):
        project = self.get_object()
        policy.require(request.user, project, policy.ADMINISTER)
        with transaction.atomic():
            project = self.lock_for_write(project)
            services.archive_project(project=project, by=request.user)
        return Response(self.get_serializer(project).data)

    @extend_schema(request=None, summary="Bring an archived project back (administrators)")
    @action(detail=True, methods=["post"])
    def unarchive(self, request, key: str):
        project = self.get_object()
        policy.require(request.user, project, policy.ADMINISTER)
        with transaction.atomic():
            project = self.lock_for_write(project)
            services.unarchive_project(project=project, by=request.user)
        return Response(self.get_serializer(project).data)
