import hashlib

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, throttling, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import services
from integrations.models import ApiToken, TokenScope
from projects.api import prime_policy, visible_projects
from roles import policy
from scrumboard.api import created


class ApiTokenSerializer(serializers.ModelSerializer):
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.READ)
    state = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at", "state"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return "revoked"
        return "active" if token.is_usable else "expired"


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The raw token. Shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenViewSet(viewsets.GenericViewSet):
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset().order_by("-id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses={201: NewApiTokenSerializer}, summary="Create a token; its value is shown once")
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.create_token(user=request.user, **serializer.validated_data)
        token.token = raw
        return created(NewApiTokenSerializer(token).data)

    def retrieve(self, request, pk: int):
        return Response(self.get_serializer(get_object_or_404(self.get_queryset(), pk=pk)).data)

    @extend_schema(summary="Revoke a token")
    def destroy(self, request, pk: int):
        services.revoke_token(token=get_object_or_404(self.get_queryset(), pk=pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenIPThrottle(throttling.SimpleRateThrottle):
    """Per client address; X-Forwarded-For is trusted only for the configured proxy count."""

    scope = "token_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenAccountThrottle(throttling.SimpleRateThrottle):
    """Per account name tried, whatever address the attempts come from."""

    scope = "token_account"

    def get_cache_key(self, request, view):
        username = str(request.data.get("username", "")).strip().lower() if hasattr(request.data, "get") else ""
        if not username:
            return None
        # Hashed: the name is whatever the client sent (spaces, control characters), not a safe cache key.
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(username.encode()).hexdigest()}


class PasswordTokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, default="API token", max_length=100)
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.READ)


class PasswordTokenView(APIView):
    """Username and password in, a new API token out."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenIPThrottle, TokenAccountThrottle]

    @extend_schema(
        request=PasswordTokenRequestSerializer,
        responses={
            201: NewApiTokenSerializer,
            401: OpenApiResponse(description="Wrong username or password, or an inactive account."),
            429: OpenApiResponse(description="Too many attempts from this address or for this account: wait."),
        },
        summary="Exchange a username and password for an API token (throttled)",
    )
    def post(self, request):
        serializer = PasswordTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Wrong username or password."))
        token, raw = services.create_token(user=user, name=data["name"], scope=data["scope"])
        token.token = raw
        return created(NewApiTokenSerializer(token).data)

    def get_authenticate_header(self, request) -> str:
        return "Bearer"


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "name": serializers.CharField(),
                "email": serializers.EmailField(),
                "language": serializers.CharField(),
                "projects": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="The caller, their projects and roles",
    )
    def get(self, request):
        user = request.user
        projects = list(visible_projects(user).order_by("key"))
        prime_policy(user, projects)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "name": user.get_full_name(),
                "email": user.email,
                "language": request.LANGUAGE_CODE,
                "projects": [
                    {
                        "key": p.key,
                        "name": p.name,
                        "archived": p.archived,
                        "role": p.mine[0].role.slug,
                        "role_name": p.mine[0].role.name,
                        "is_admin": p.mine[0].is_admin,
                        "permissions": sorted(policy.allowed_actions(user, p)),
                    }
                    for p in projects
                ],
            }
        )
