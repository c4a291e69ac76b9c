"""``/api/v1/notifications/``: the caller's in-app notifications and notification preferences."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from notifications import selectors, services, settings_services
from notifications.messages import rendered
from notifications.models import Channel, Kind, Notification, NotificationPreference, NotificationSettings
from projects.models import validate_timezone
from scrumboard.api import ClockTimeField, CursorPagination, id_field


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

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Rendered again in the request's language; the stored text is the recipient's at write time.
        data["title"], data["body"] = rendered(instance)
        return data

    def get_project(self, notification) -> str | None:
        return notification.project.key if notification.project else None

    def get_unread(self, notification) -> bool:
        return notification.read_at is None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_field(), required=False, max_length=1000)
    all = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if not attrs["all"] and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": ["Give ids, or all: true."]})
        return attrs


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()

    def validate(self, attrs):
        # A PATCH (partial) skips required fields, nested ones too; an entry is still whole or refused.
        missing = [name for name in ("kind", "channel", "enabled") if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {name: [self.fields[name].error_messages["required"]] for name in missing}
            )
        return attrs


class QuietHoursSerializer(serializers.Serializer):
    quiet_from = ClockTimeField(allow_null=True, required=False, default=None)
    quiet_to = ClockTimeField(allow_null=True, required=False, default=None)
    timezone = serializers.CharField(default="UTC", validators=[validate_timezone])

    def validate(self, attrs):
        if (attrs.get("quiet_from") is None) != (attrs.get("quiet_to") is None):
            raise serializers.ValidationError({"quiet_to": [settings_services.BOTH_QUIET_ENDS]})
        return attrs


class WorkingHoursSerializer(serializers.Serializer):
    work_from = ClockTimeField(allow_null=True, required=False, default=None)
    work_to = ClockTimeField(allow_null=True, required=False, default=None)
    # ISO weekdays, 1 = Monday; empty: each project's working days.
    work_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), required=False, default=list, max_length=7
    )

    def validate(self, attrs):
        work_from, work_to = attrs.get("work_from"), attrs.get("work_to")
        if (work_from is None) != (work_to is None):
            raise serializers.ValidationError({"work_to": [settings_services.BOTH_WORK_ENDS]})
        if work_from is not None and work_to is not None and work_from >= work_to:
            raise serializers.ValidationError({"work_to": [settings_services.WORK_ENDS_AFTER_START]})
        return attrs


class PreferencesSerializer(serializers.Serializer):
    preferences = PreferenceSerializer(many=True, required=False)
    # Replaced as a whole: a missing end clears the quiet hours, a missing time zone is UTC.
    quiet_hours = QuietHoursSerializer(required=False)
    # Replaced as a whole too: missing ends clear the working hours, missing days are the projects'.
    working_hours = WorkingHoursSerializer(required=False)
    language = serializers.ChoiceField(
        choices=[("", _("Site default")), *settings.LANGUAGES],
        allow_blank=True,
        required=False,
        help_text="The language of e-mail; empty: the site's default.",
    )


def _clock(value) -> str | None:
    return value.isoformat("minutes") if value else None


def preferences_of(user) -> dict:
    """Every kind x channel (on unless switched off), the quiet and working hours, the e-mail language."""
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
            "quiet_from": _clock(quiet.quiet_from),
            "quiet_to": _clock(quiet.quiet_to),
            "timezone": quiet.timezone,
        },
        "working_hours": {
            "work_from": _clock(quiet.work_from),
            "work_to": _clock(quiet.work_to),
            "work_days": list(quiet.work_days or []),
        },
        "language": quiet.language,
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
        changes: dict = {}
        if "quiet_hours" in data:
            quiet = data["quiet_hours"]
            changes.update(
                quiet_from=quiet.get("quiet_from"),
                quiet_to=quiet.get("quiet_to"),
                timezone=quiet.get("timezone", "UTC"),
            )
        if "working_hours" in data:
            work = data["working_hours"]
            changes.update(
                work_from=work.get("work_from"), work_to=work.get("work_to"), work_days=work.get("work_days", [])
            )
        if "language" in data:
            changes["language"] = data["language"]
        try:
            settings_services.set_settings(user=request.user, preferences=data.get("preferences", ()), **changes)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_api_errors(exc)) from exc
        return Response(preferences_of(request.user))


# Where each settings field sits in the request body, for error messages keyed the same way.
_GROUP = {
    "quiet_from": "quiet_hours",
    "quiet_to": "quiet_hours",
    "timezone": "quiet_hours",
    "work_from": "working_hours",
    "work_to": "working_hours",
    "work_days": "working_hours",
}


def _api_errors(exc: DjangoValidationError) -> dict:
    errors: dict = {}
    for field, messages in exc.message_dict.items():
        group = _GROUP.get(field)
        if group:
            errors.setdefault(group, {})[field] = messages
        else:
            errors[field] = messages
    return errors
