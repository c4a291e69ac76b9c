"""``/api/v1/projects/{key}/webhooks/``: subscriptions, their delivery log, redelivery, the signing secret.

Every route, reads included, takes "manage integrations": webhook URLs and delivery logs are
sensitive. Writes go through ``integrations.webhooks`` (the SSRF guard, the secret, redelivery).
The signing secret appears in the responses of create and rotate-secret only.
"""

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from integrations import webhooks
from integrations.models import DeliveryState, Webhook, WebhookDelivery, WebhookEvent
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created

MANAGE = Permission.MANAGE_INTEGRATIONS

SIGNATURE_HELP = (
    "Each delivery carries X-Scrumboard-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' "
    "keyed with this secret>. Compare in constant time and reject old timestamps."
)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    texts = {
        400: "Bad input: the error shape, with the field's message under errors.",
        403: "A member without the “manage integrations” permission (or a read-only token writing).",
        404: "No such project for you (not a member), or no such webhook or delivery in it.",
        409: "The request conflicts with the webhook's current state.",
        412: "If-Match no longer matches: fetch the webhook again.",
    }
    return {code: OpenApiResponse(description=texts[code]) for code in codes}


# --- shapes ---------------------------------------------------------------------------------------


def webhook_state(webhook: Webhook) -> str:
    """active; disabled (turned off by repeated failures, see disabled_reason); paused (turned off by a person)."""
    if webhook.active:
        return "active"
    return "disabled" if webhook.disabled_reason else "paused"


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    state = serializers.SerializerMethodField(
        help_text="active; disabled: turned off after repeated failures (see disabled_reason); paused: turned off"
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    failures = serializers.IntegerField(read_only=True, help_text="Consecutive failed deliveries.")

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "active",
            "state",
            "failures",
            "disabled_reason",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_state(self, webhook: Webhook) -> str:
        return webhook_state(webhook)


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Returned only by this response.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookWriteSerializer(serializers.Serializer):
    # Checked by the service (the SSRF guard), whose messages say what exactly is wrong with it.
    url = serializers.CharField(
        max_length=500,
        help_text="A public http(s) URL, without credentials; private and loopback addresses are refused.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        max_length=len(WebhookEvent.values),
        help_text="The events to receive: at least one.",
    )
    active = serializers.BooleanField(required=False, help_text="Default true. Turning it on again clears failures.")

    def validate_events(self, events: list[str]) -> list[str]:
        return [event for event in WebhookEvent.values if event in events]  # listed once each, in a fixed order


class DeliverySerializer(serializers.ModelSerializer):
    # A plain string here: a second enum of the same events (named "EventEnum" after this field, "EventsEnum"
    # after the subscription's) makes the schema generator warn until ENUM_NAME_OVERRIDES names the set.
    event = serializers.CharField(read_only=True, help_text="The event, one of the subscription's events.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event",
            "state",
            "attempts",
            "response_code",
            "response_ms",
            "error",
            "redelivery_of",
            "created_at",
            "next_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "event_id": {"help_text": "The event's id, also in the body; the same for every subscription."},
            "response_code": {"help_text": "The receiver's HTTP status of the last attempt; null: no answer."},
            "response_ms": {"help_text": "How long the last attempt took, in milliseconds."},
            "error": {"help_text": "Why the last attempt failed (timeout, refused address, HTTP status)."},
            "redelivery_of": {"help_text": "The delivery this one repeats (manual redelivery)."},
            "next_attempt_at": {"help_text": "When a pending delivery is (re)tried."},
        }


# --- views ----------------------------------------------------------------------------------------


class NewestFirst(CursorPagination):
    ordering = "-id"


class WebhookViewSet(ETagMixin, ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = WebhookSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.require(MANAGE)  # reads too: URLs and logs are sensitive

    def get_queryset(self):
        return Webhook.objects.filter(project=self.project).select_related("created_by")

    def get_object(self) -> Webhook:
        webhook = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if webhook is None:
            raise Http404
        webhook.project = self.project
        return webhook

    def _locked(self, webhook: Webhook) -> Webhook:
        """The webhook afresh under a row lock, after checking ``If-Match`` (inside a transaction)."""
        webhook = self.lock_for_write(webhook)
        webhook.project = self.project
        return webhook

    def _shown(self, webhook: Webhook, *, with_secret: bool = False) -> dict:
        self._etag_object = webhook
        data = dict(WebhookSerializer(webhook).data)
        if with_secret:
            data["secret"] = webhooks.signing_secret(webhook)
        return data

    @extend_schema(
        responses={200: WebhookSerializer(many=True), **_errors(403, 404)},
        summary="The project's webhooks",
    )
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset().order_by("id")) or []
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(
        request=WebhookWriteSerializer,
        responses={201: WebhookWithSecretSerializer, **_errors(400, 403, 404)},
        summary="Subscribe a URL to events; the response holds the signing secret (shown only here and on rotate)",
        description=SIGNATURE_HELP,
        examples=[
            OpenApiExample(
                "Subscribe CI to sprint events",
                value={"url": "https://ci.example.com/hooks/scrumboard", "events": ["sprint.started"]},
                request_only=True,
            )
        ],
    )
    def create(self, request, key: str):
        serializer = WebhookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhooks.create_webhook(project=self.project, by=request.user, **serializer.validated_data)
        return created(self._shown(webhook, with_secret=True))

    @extend_schema(responses={200: WebhookSerializer, **_errors(403, 404)}, summary="A webhook (without its secret)")
    def retrieve(self, request, key: str, pk: int):
        return Response(self._shown(self.get_object()))

    @extend_schema(
        request=WebhookWriteSerializer,
        responses={200: WebhookSerializer, **_errors(400, 403, 404, 409, 412)},
        summary="Change a webhook's URL, events or active flag (turning it on again clears its failures)",
    )
    def partial_update(self, request, key: str, pk: int):
        webhook = self.get_object()
        serializer = WebhookWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            webhook = webhooks.update_webhook(
                webhook=self._locked(webhook), by=request.user, **serializer.validated_data
            )
        webhook.project = self.project
        return Response(self._shown(webhook))

    @extend_schema(responses={204: None, **_errors(403, 404, 409, 412)}, summary="Delete a webhook and its log")
    def destroy(self, request, key: str, pk: int):
        webhook = self.get_object()
        with transaction.atomic():
            webhooks.delete_webhook(webhook=self._locked(webhook), by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: WebhookWithSecretSerializer, **_errors(403, 404, 409)},
        summary="Replace the signing secret; the response holds the new one (the old one stops at once)",
        description=SIGNATURE_HELP,
    )
    def rotate_secret(self, request, key: str, pk: int):
        webhook = self.get_object()
        with transaction.atomic():
            webhook = webhooks.rotate_secret(webhook=webhook, by=request.user)
        webhook.project = self.project
        return Response(self._shown(webhook, with_secret=True))


class DeliveryViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = DeliverySerializer
    pagination_class = NewestFirst

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.require(MANAGE)

    def webhook(self) -> Webhook:
        webhook = Webhook.objects.filter(project=self.project, pk=self.kwargs["pk"]).first()
        if webhook is None:
            raise Http404
        webhook.project = self.project
        return webhook

    def _filters(self) -> dict:
        filters = {}
        for name, choices in (("state", DeliveryState), ("event", WebhookEvent)):
            value = self.request.query_params.get(name)
            if value is None or value == "":
                continue
            if value not in choices.values:
                allowed = ", ".join(choices.values)
                raise serializers.ValidationError({name: [_("Choose one of: %(values)s.") % {"values": allowed}]})
            filters[name] = value
        return filters

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=DeliveryState.values, description="Only deliveries in this state"),
            OpenApiParameter("event", str, enum=WebhookEvent.values, description="Only deliveries of this event"),
        ],
        responses={200: DeliverySerializer(many=True), **_errors(400, 403, 404)},
        summary="A webhook's delivery log, newest first",
    )
    def list(self, request, key: str, pk: int):
        webhook = self.webhook()
        deliveries = WebhookDelivery.objects.filter(webhook=webhook, **self._filters())
        page = self.paginate_queryset(deliveries) or []
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={201: DeliverySerializer, **_errors(403, 404, 409)},
        summary="Send a delivery again: a new delivery of the same event and body, queued now",
    )
    def redeliver(self, request, key: str, pk: int, delivery_id: int):
        webhook = self.webhook()
        delivery = WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()
        if delivery is None:
            raise Http404
        delivery.webhook = webhook
        again = webhooks.redeliver(delivery=delivery, by=request.user)  # atomic; queued after the commit
        return created(DeliverySerializer(again).data)
