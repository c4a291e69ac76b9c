"""``/api/v1/notifications/``: the caller's in-app notifications and notification preferences."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from notifications import selectors, services
from notifications.models import Channel, Kind, Notification, NotificationPreference, NotificationSettings
from projects.models import validate_timezone
from scrumboard.api import CursorPagination


class NotificationSerializer(serializers.ModelSerializer):
    project = serializers.SerializerMethodField()
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "project",
            "title",
            "body",
            "url",
            "payload",
            "local_date",
            "created_at",
            "read_at",
            "unread",
        ]
        read_only_fields = fields

    def get_project(self, notification) -> str | None:
        return notification.project.key if notification.project else None

    def get_unread(self, notification) -> bool:
        return notification.read_at is None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=1000)
    all = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if not attrs["all"] and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": ["Give ids, or all: true."]})
        return attrs


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class QuietHoursSerializer(serializers.Serializer):
    quiet_from = serializers.TimeField(allow_null=True, required=False, default=None)
    quiet_to = serializers.TimeField(allow_null=True, required=False, default=None)
    timezone = serializers.CharField(default="UTC", validators=[validate_timezone])

    def validate(self, attrs):
        if (attrs.get("quiet_from") is None) != (attrs.get("quiet_to") is None):
            raise serializers.ValidationError({"quiet_to": ["Give both ends of the quiet hours, or neither."]})
        return attrs


class PreferencesSerializer(serializers.Serializer):
    preferences = PreferenceSerializer(many=True, required=False)
    # Replaced as a whole: a missing end clears the quiet hours, a missing time zone is UTC.
    quiet_hours = QuietHoursSerializer(required=False)


def preferences_of(user) -> dict:
    """Every kind x channel (on unless switched off) and the quiet hours."""
    off = {
        (kind, channel)
        for kind, channel in NotificationPreference.objects.filter(user=user, enabled=False).values_list(
            "kind", "channel"
        )
    }
    quiet = NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)
    return {
        "preferences": [
            {"kind": kind, "channel": channel, "enabled": (kind, channel) not in off}
            for kind in Kind.values
            for channel in Channel.values
        ],
        "quiet_hours": {
            "quiet_from": quiet.quiet_from.isoformat("minutes") if quiet.quiet_from else None,
            "quiet_to": quiet.quiet_to.isoformat("minutes") if quiet.quiet_to else None,
            "timezone": quiet.timezone,
        },
    }


class NewestFirst(CursorPagination):
    ordering = "-id"


class NotificationViewSet(viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        unread = self.request.query_params.get("unread") in ("1", "true")
        return selectors.inbox(self.request.user, unread_only=unread)

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="only unread ones")],
        summary="The caller's in-app notifications, newest first",
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=MarkReadSerializer, responses={200: OpenApiTypes.OBJECT}, summary="Mark read")
    def mark_read(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["all"]:
            count = services.mark_all_read(user=request.user)
        else:
            count = services.mark_read(user=request.user, ids=serializer.validated_data["ids"])
        return Response({"marked": count, "unread": selectors.unread_count(request.user)})


class PreferencesViewSet(viewsets.GenericViewSet):
    serializer_class = PreferencesSerializer
    pagination_class = None

    @extend_schema(responses={200: PreferencesSerializer})
    def retrieve(self, request):
        return Response(preferences_of(request.user))

    @extend_schema(responses={200: PreferencesSerializer})
    def update(self, request):
        return self._save(request, partial=False)

    @extend_schema(responses={200: PreferencesSerializer})
    def partial_update(self, request):
        return self._save(request, partial=True)

    def _save(self, request, *, partial: bool):
        serializer = PreferencesSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if "preferences" in data:
                services.set_preferences(user=request.user, preferences=data["preferences"])
            if "quiet_hours" in data:
                quiet = data["quiet_hours"]
                services.set_quiet_hours(
                    user=request.user,
                    quiet_from=quiet.get("quiet_from"),
                    quiet_to=quiet.get("quiet_to"),
                    timezone_name=quiet.get("timezone", "UTC"),
                )
        return Response(preferences_of(request.user))
