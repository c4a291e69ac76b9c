from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from roles import policy, services
from roles.models import Invitation, Membership, Permission, Role
from scrumboard.api import ProjectScopedMixin, created


class RoleSerializer(serializers.ModelSerializer):
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=Permission.choices))
    members = serializers.IntegerField(source="member_count", read_only=True, default=0)

    class Meta:
        model = Role
        fields = ["id", "slug", "name", "permissions", "estimates_points", "order", "members"]
        read_only_fields = ["id", "slug", "order"]


class RoleRefField(serializers.SlugRelatedField):
    """A role of the URL's project, by its code (``backend``)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Role.objects.filter(project=self.context["project"])


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    role = RoleRefField()
    role_name = serializers.CharField(source="role.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "role_name", "is_admin", "joined_at"]
        read_only_fields = ["id", "joined_at"]


class InvitationSerializer(serializers.ModelSerializer):
    role = RoleRefField()
    state = serializers.CharField(read_only=True)
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "state", "invited_by", "created_at", "expires_at"]
        read_only_fields = ["id", "created_at", "expires_at"]


class RoleViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    serializer_class = RoleSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Role.objects.filter(project=self.project).annotate(member_count=Count("memberships"))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            self.require(policy.ADMINISTER)  # before validation: outsiders learn nothing from errors

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.create_role(
            project=self.project,
            name=data["name"],
            permissions=data["permissions"],
            estimates_points=data.get("estimates_points", False),
            by=self.request.user,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        services.update_role(
            role=serializer.instance,
            by=self.request.user,
            name=data.get("name"),
            permissions=data.get("permissions"),
            estimates_points=data.get("estimates_points"),
        )

    def perform_destroy(self, instance):
        services.delete_role(role=instance, by=self.request.user)


class MemberViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = MembershipSerializer

    def get_queryset(self):
        return Membership.objects.filter(project=self.project).select_related("user", "role")

    def get_object(self) -> Membership:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, key: str, pk: int):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=InvitationSerializer,
        responses={201: InvitationSerializer},
        summary="Invite someone by e-mail (the link is e-mailed to them)",
    )
    def create(self, request, key: str):
        self.require(Permission.MANAGE_MEMBERS)
        serializer = InvitationSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        invitation, _token = services.invite_member(
            project=self.project,
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            by=request.user,
        )
        return created(InvitationSerializer(invitation, context=self.get_serializer_context()).data)

    @extend_schema(summary="Change a member's role or administrator flag")
    def partial_update(self, request, key: str, pk: int):
        membership = self.get_object()
        self.require(Permission.MANAGE_MEMBERS)
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.change_member(
            membership=membership,
            by=request.user,
            role=serializer.validated_data.get("role"),
            is_admin=serializer.validated_data.get("is_admin"),
        )
        return Response(self.get_serializer(membership).data)

    @extend_schema(summary="Remove a member (or leave the project yourself)")
    def destroy(self, request, key: str, pk: int):
        services.remove_member(membership=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = InvitationSerializer

    def get_queryset(self):
        self.require(Permission.MANAGE_MEMBERS)
        return Invitation.objects.pending().filter(project=self.project).select_related("role", "invited_by")

    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Withdraw a pending invitation")
    def destroy(self, request, key: str, pk: int):
        # The right first: ids in the project must not be an oracle for members without it.
        self.require(Permission.MANAGE_MEMBERS)
        invitation = get_object_or_404(Invitation.objects.filter(project=self.project), pk=pk)
        services.revoke_invitation(invitation=invitation, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptInvitationSerializer(serializers.Serializer):
    token = serializers.CharField()


class AcceptInvitationView(APIView):
    @extend_schema(
        request=AcceptInvitationSerializer,
        responses={201: MembershipSerializer},
        summary="Accept an invitation sent to your e-mail address",
    )
    def post(self, request):
        serializer = AcceptInvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.accept_invitation(raw_token=serializer.validated_data["token"], user=request.user)
        policy.forget_memberships(request.user)
        return created(MembershipSerializer(membership, context={"project": membership.project}).data)
