"""``/api/v1/projects/{key}/retrospectives/``: retrospectives, cards, groups, votes, notes, action items, health.

Cards are shown only through ``selectors.board``: others' cards after the writing, totals after the
voting, and never an author when the retrospective is anonymous (the key is left out).
"""

from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers, status, viewsets
from rest_framework.response import Response

from backlog.api import MemberField
from retrospectives import selectors, services
from retrospectives.models import (
    HEALTH_KEYS,
    HEALTH_STATEMENTS,
    PHASES,
    ActionItem,
    Card,
    CardGroup,
    Retrospective,
    Template,
)
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created, id_field
from sprints.models import Sprint

# --- serializers -------------------------------------------------------------------------------


class RetrospectiveSerializer(serializers.ModelSerializer):
    sprint = serializers.IntegerField(source="sprint_id", read_only=True, allow_null=True)
    sprint_name = serializers.SerializerMethodField()
    facilitator = serializers.SerializerMethodField()
    card_count = serializers.IntegerField(read_only=True, default=None)
    action_count = serializers.IntegerField(read_only=True, default=None)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Retrospective
        fields = [
            "id",
            "title",
            "sprint",
            "sprint_name",
            "template",
            "columns",
            "phase",
            "anonymous",
            "votes_per_member",
            "facilitator",
            "health_check",
            "card_count",
            "action_count",
            "summary",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_sprint_name(self, retro: Retrospective) -> str | None:
        return retro.sprint.name if retro.sprint else None

    def get_facilitator(self, retro: Retrospective) -> str | None:
        return retro.facilitator.get_username() if retro.facilitator else None

    def get_summary(self, retro: Retrospective) -> dict | None:
        return retro.summary


class CreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sprint = id_field(required=False, allow_null=True, default=None)
    template = serializers.ChoiceField(choices=Template.choices, default=Template.WENT_WELL)
    columns = serializers.ListField(
        child=serializers.CharField(max_length=60, allow_blank=True), required=False, max_length=20
    )
    anonymous = serializers.BooleanField(default=False)
    votes_per_member = serializers.IntegerField(default=3, min_value=1, max_value=services.MAX_VOTES)
    health_check = serializers.BooleanField(default=False)
    facilitator = MemberField(required=False)

    def validate_sprint(self, value: int | None) -> Sprint | None:
        if value is None:
            return None
        sprint = Sprint.objects.filter(project=self.context["project"], pk=value).first()
        if sprint is None:
            raise serializers.ValidationError(_("Choose a sprint of this project."))
        return sprint


class UpdateSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PHASES, required=False)
    title = serializers.CharField(max_length=200, required=False)
    anonymous = serializers.BooleanField(required=False)
    votes_per_member = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_VOTES)
    health_check = serializers.BooleanField(required=False)
    facilitator = MemberField(required=False)


class CardWriteSerializer(serializers.Serializer):
    column = serializers.CharField(max_length=40)
    text = serializers.CharField(max_length=1000)


class CardUpdateSerializer(serializers.Serializer):
    column = serializers.CharField(max_length=40, required=False)
    text = serializers.CharField(max_length=1000, required=False)


class TargetSerializer(serializers.Serializer):
    card = id_field(required=False, allow_null=True, default=None)
    group = id_field(required=False, allow_null=True, default=None)


class GroupWriteSerializer(serializers.Serializer):
    cards = serializers.ListField(child=id_field(), max_length=200)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    group = id_field(required=False, allow_null=True, default=None)


class GroupUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)


class NoteWriteSerializer(TargetSerializer):
    text = serializers.CharField(max_length=2000)


class ActionItemSerializer(serializers.ModelSerializer):
    owner = MemberField(required=False, allow_null=True)
    backlog_item = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = ["id", "text", "owner", "due_date", "done", "backlog_item", "created_at", "updated_at"]
        read_only_fields = ["id", "backlog_item", "created_at", "updated_at"]
        extra_kwargs = {"done": {"required": False}}

    def get_backlog_item(self, action: ActionItem) -> str | None:
        return action.backlog_item.key if action.backlog_item else None


class HealthWriteSerializer(serializers.Serializer):
    statement = serializers.ChoiceField(choices=HEALTH_KEYS)
    score = serializers.IntegerField(min_value=1, max_value=5)


# --- card data: the one place the API shows cards ---------------------------------------------


def card_data(card: selectors.CardView, retro: Retrospective) -> dict:
    data = {
        "id": card.id,
        "column": card.column,
        "text": card.text,
        "group": card.group_id,
        "mine": card.mine,
        "votes": card.votes,
        "my_votes": card.my_votes,
        "created_at": card.created_at,
    }
    if not retro.anonymous:
        data["author"] = card.author_username
    return data


def votes_data(view: selectors.Board) -> dict:
    retro = view.retro
    mine = [{"card": c.id, "count": c.my_votes} for c in view.cards if c.my_votes and c.group_id is None]
    mine += [{"group": g.id, "count": g.my_votes} for g in view.groups if g.my_votes]
    totals = None
    if retro.votes_visible:
        totals = [{"group": g.id, "votes": g.votes} for g in view.groups]
        totals += [{"card": c.id, "votes": c.votes} for c in view.cards if c.group_id is None]
    return {
        "votes_per_member": retro.votes_per_member,
        "used": view.votes_used,
        "left": view.votes_left,
        "mine": mine,
        "totals": totals,
    }


# --- views -------------------------------------------------------------------------------------


class RetroScopedMixin(ETagMixin, ProjectScopedMixin):
    def retro(self) -> Retrospective:
        if not hasattr(self, "_retro"):
            retro = (
                Retrospective.objects.filter(project=self.project, pk=self.kwargs["pk"])
                .select_related("sprint", "facilitator")
                .first()
            )
            if retro is None:
                raise Http404
            retro.project = self.project
            self._retro = retro
        return self._retro


def _retro_data(view, retro: Retrospective) -> dict:
    view._etag_object = retro
    annotated = selectors.project_retrospectives(view.project).filter(pk=retro.pk).first() or retro
    return RetrospectiveSerializer(annotated, context=view.get_serializer_context()).data


class RetrospectivePagination(CursorPagination):
    ordering = "-id"  # newest first (ids grow with creation)


class RetrospectiveViewSet(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = RetrospectiveSerializer
    pagination_class = RetrospectivePagination

    def get_queryset(self):
        return selectors.project_retrospectives(self.project)

    @extend_schema(summary="The project's retrospectives, newest first")
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(RetrospectiveSerializer(page, many=True).data)

    @extend_schema(
        request=CreateSerializer, summary="Start a retrospective: a template (or custom columns), optional sprint"
    )
    def create(self, request, key: str):
        self.require(Permission.RUN_RETROSPECTIVE)
        serializer = CreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        retro = services.create_retrospective(project=self.project, by=request.user, **serializer.validated_data)
        return created(_retro_data(self, retro))

    def retrieve(self, request, key: str, pk: int):
        return Response(_retro_data(self, self.retro()))

    @extend_schema(
        request=UpdateSerializer, summary="Move to the next (or previous) phase; change the title and settings"
    )
    def partial_update(self, request, key: str, pk: int):
        self.require(Permission.RUN_RETROSPECTIVE)
        serializer = UpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        phase = data.pop("phase", None)
        with transaction.atomic():
            retro = self.lock_for_write(self.retro())
            retro.project = self.project
            if data:
                services.update_retrospective(retro=retro, by=request.user, **data)
            if phase is not None:
                retro = services.set_phase(retro=retro, by=request.user, phase=phase)
        return Response(_retro_data(self, Retrospective.objects.select_related("sprint").get(pk=retro.pk)))


class CardViewSet(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = CardWriteSerializer

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="The cards you may see: yours while writing, everyone's after; votes after the voting",
    )
    def list(self, request, key: str, pk: int):
        retro = self.retro()
        view = selectors.board(retro, request.user)
        return Response(
            {
                "phase": retro.phase,
                "version": view.version,
                "hidden": view.hidden_count,
                "results": [card_data(card, retro) for card in view.cards],
            }
        )

    @extend_schema(request=CardWriteSerializer, responses=OpenApiTypes.OBJECT, summary="Write a card of your own")
    def create(self, request, key: str, pk: int):
        self.require(Permission.COMMENT)
        retro = self.retro()
        serializer = CardWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = services.add_card(retro=retro, by=request.user, **serializer.validated_data)
        return created(self._one(retro, card.pk))

    def _one(self, retro: Retrospective, card_id: int) -> dict:
        view = selectors.board(retro, self.request.user)
        return next(card_data(card, retro) for card in view.cards if card.id == card_id)

    def _card(self, card_id: int) -> Card:
        card = selectors.card_for(self.retro(), card_id, self.request.user)
        if card is None:
            raise Http404
        card.retrospective = self.retro()
        return card

    @extend_schema(request=CardUpdateSerializer, responses=OpenApiTypes.OBJECT, summary="Edit your card")
    def partial_update(self, request, key: str, pk: int, card_id: int):
        self.require(Permission.COMMENT)
        card = self._card(card_id)
        serializer = CardUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.edit_card(card=card, by=request.user, **serializer.validated_data)
        return Response(self._one(self.retro(), card.pk))

    @extend_schema(summary="Delete your card")
    def destroy(self, request, key: str, pk: int, card_id: int):
        self.require(Permission.COMMENT)
        services.delete_card(card=self._card(card_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _target(retro: Retrospective, data: dict, user) -> dict:
    """The card or group a body names, looked up inside the retrospective."""
    found: dict = {}
    if data.get("card") is not None:
        card = selectors.card_for(retro, data["card"], user)
        if card is None:
            raise serializers.ValidationError({"card": [_("Choose a card of this retrospective.")]})
        found["card"] = card
    if data.get("group") is not None:
        group = CardGroup.objects.filter(retrospective=retro, pk=data["group"]).first()
        if group is None:
            raise serializers.ValidationError({"group": [_("Choose a group of this retrospective.")]})
        found["group"] = group
    return found


class VoteView(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = TargetSerializer

    @extend_schema(
        responses=OpenApiTypes.OBJECT, summary="Your votes and what is left; everyone's totals after the voting"
    )
    def list(self, request, key: str, pk: int):
        return Response(votes_data(selectors.board(self.retro(), request.user)))

    @extend_schema(request=TargetSerializer, responses=OpenApiTypes.OBJECT, summary="One vote on a card or group")
    def create(self, request, key: str, pk: int):
        self.require(Permission.COMMENT)
        retro = self.retro()
        serializer = TargetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cast_vote(retro=retro, by=request.user, **_target(retro, serializer.validated_data, request.user))
        return created(votes_data(selectors.board(retro, request.user)))

    @extend_schema(
        parameters=[
            OpenApiParameter("card", int, description="The card to take a vote back from (or `group`)."),
            OpenApiParameter("group", int, description="The group to take a vote back from (or `card`)."),
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="Take back one of your votes",
        description="The target goes in the query (`?card=12`): many clients and proxies drop a DELETE's body."
        ' A JSON body `{"card": 12}` is still read, for clients written against the first version.',
    )
    def destroy(self, request, key: str, pk: int):
        self.require(Permission.COMMENT)
        retro = self.retro()
        serializer = TargetSerializer(data=request.data if request.data else request.query_params)
        serializer.is_valid(raise_exception=True)
        services.remove_vote(retro=retro, by=request.user, **_target(retro, serializer.validated_data, request.user))
        return Response(votes_data(selectors.board(retro, request.user)))


def _group_data(group: selectors.GroupView) -> dict:
    return {
        "id": group.id,
        "title": group.title,
        "column": group.column,
        "cards": [card.id for card in group.cards],
        "votes": group.votes,
    }


class GroupViewSet(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = GroupWriteSerializer

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Groups of cards (after the writing)")
    def list(self, request, key: str, pk: int):
        view = selectors.board(self.retro(), request.user)
        return Response({"results": [_group_data(group) for group in view.groups]})

    @extend_schema(
        request=GroupWriteSerializer, responses=OpenApiTypes.OBJECT, summary="Group cards (new group, or add to one)"
    )
    def create(self, request, key: str, pk: int):
        self.require(Permission.RUN_RETROSPECTIVE)
        retro = self.retro()
        serializer = GroupWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cards = list(Card.objects.filter(retrospective=retro, pk__in=data["cards"]))
        if len(cards) != len(set(data["cards"])):
            raise serializers.ValidationError({"cards": [_("Choose cards of this retrospective.")]})
        group = _target(retro, {"group": data["group"]}, request.user).get("group")
        group = services.group_cards(retro=retro, by=request.user, cards=cards, title=data["title"], group=group)
        view = selectors.board(retro, request.user)
        return created(next(_group_data(g) for g in view.groups if g.id == group.pk))

    def _group(self, group_id: int) -> CardGroup:
        group = CardGroup.objects.filter(retrospective=self.retro(), pk=group_id).first()
        if group is None:
            raise Http404
        group.retrospective = self.retro()
        return group

    @extend_schema(request=GroupUpdateSerializer, responses=OpenApiTypes.OBJECT, summary="Rename a group")
    def partial_update(self, request, key: str, pk: int, group_id: int):
        self.require(Permission.RUN_RETROSPECTIVE)
        group = self._group(group_id)
        serializer = GroupUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.rename_group(group=group, by=request.user, title=serializer.validated_data["title"])
        view = selectors.board(self.retro(), request.user)
        return Response(next(_group_data(g) for g in view.groups if g.id == group.pk))

    @extend_schema(summary="Dissolve a group: its cards stand alone again")
    def destroy(self, request, key: str, pk: int, group_id: int):
        self.require(Permission.RUN_RETROSPECTIVE)
        services.ungroup(group=self._group(group_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _note_data(retro: Retrospective) -> list[dict]:
    notes = selectors.notes_by_topic(retro)
    rows = []
    for (kind, target), entries in notes.items():
        for note in entries:
            row = {
                "id": note["id"],
                "text": note["text"],
                "created_at": note["created_at"],
                "card": None,
                "group": None,
            }
            if kind:
                row[kind] = target
            if not retro.anonymous:
                row["author"] = note["author"]
            rows.append(row)
    return sorted(rows, key=lambda row: row["id"])


class NoteView(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = NoteWriteSerializer

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Discussion notes")
    def list(self, request, key: str, pk: int):
        return Response({"results": _note_data(self.retro())})

    @extend_schema(request=NoteWriteSerializer, responses=OpenApiTypes.OBJECT, summary="Take a discussion note")
    def create(self, request, key: str, pk: int):
        self.require(Permission.COMMENT)
        retro = self.retro()
        serializer = NoteWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        note = services.add_note(retro=retro, by=request.user, text=data["text"], **_target(retro, data, request.user))
        return created(next(row for row in _note_data(retro) if row["id"] == note.pk))


class ActionItemViewSet(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = ActionItemSerializer

    @extend_schema(summary="The retrospective's action items (with their backlog items once closed)")
    def list(self, request, key: str, pk: int):
        actions = selectors.action_items(self.retro())
        return Response(
            {"results": ActionItemSerializer(actions, many=True, context=self.get_serializer_context()).data}
        )

    @extend_schema(summary="Add an action item: text, owner (a member), due date")
    def create(self, request, key: str, pk: int):
        self.require(Permission.RUN_RETROSPECTIVE)
        serializer = ActionItemSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in ("text", "owner", "due_date")}
        action = services.add_action_item(retro=self.retro(), by=request.user, **data)
        return created(ActionItemSerializer(action, context=self.get_serializer_context()).data)

    def _action(self, action_id: int) -> ActionItem:
        action = (
            ActionItem.objects.filter(retrospective=self.retro(), pk=action_id)
            .select_related("owner", "backlog_item__project")
            .first()
        )
        if action is None:
            raise Http404
        action.retrospective = self.retro()
        return action

    @extend_schema(summary="Change an action item; done is set at the next retrospective's review")
    def partial_update(self, request, key: str, pk: int, action_id: int):
        action = self._action(action_id)
        serializer = ActionItemSerializer(
            action, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        action = services.update_action_item(action=action, by=request.user, **serializer.validated_data)
        return Response(ActionItemSerializer(action, context=self.get_serializer_context()).data)

    @extend_schema(summary="Remove an action item (before closing)")
    def destroy(self, request, key: str, pk: int, action_id: int):
        services.delete_action_item(action=self._action(action_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthView(RetroScopedMixin, viewsets.GenericViewSet):
    serializer_class = HealthWriteSerializer

    def _data(self, retro: Retrospective) -> dict:
        averages = selectors.health_averages(retro) if retro.health_check else {}
        mine = selectors.my_health(retro, self.request.user)
        return {
            "enabled": retro.health_check,
            "statements": [
                {
                    "key": key,
                    "text": _(text),
                    "mine": mine.get(key),
                    "average": averages.get(key, {}).get("average"),
                    "count": averages.get(key, {}).get("count", 0),
                }
                for key, text in HEALTH_STATEMENTS
            ],
        }

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The health statements: your rating and the average")
    def list(self, request, key: str, pk: int):
        return Response(self._data(self.retro()))

    @extend_schema(request=HealthWriteSerializer, responses=OpenApiTypes.OBJECT, summary="Rate a statement 1-5")
    def create(self, request, key: str, pk: int):
        self.require(Permission.COMMENT)
        retro = self.retro()
        serializer = HealthWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.rate_health(retro=retro, by=request.user, **serializer.validated_data)
        return created(self._data(retro))


class HealthTrendView(ProjectScopedMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="v1_projects_retrospectives_health_trend",
        responses=OpenApiTypes.OBJECT,
        summary="Average health per statement per retrospective",
    )
    def trend(self, request, key: str):
        return Response(selectors.health_trend(self.project))


class MarkdownRenderer(renderers.BaseRenderer):
    """Lets ``?format=md`` through DRF's content negotiation; the view writes the Markdown itself."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)  # errors keep their JSON shape


class ExportView(RetroScopedMixin, viewsets.GenericViewSet):
    renderer_classes = [renderers.JSONRenderer, MarkdownRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, description="json (default) or md")],
        responses={200: OpenApiTypes.OBJECT, (200, "text/markdown"): OpenApiTypes.STR},
        summary="The retrospective as JSON or Markdown: the frozen summary once closed; never an anonymous author",
    )
    def export(self, request, key: str, pk: int):
        retro = self.retro()
        data = retro.summary if retro.is_closed and retro.summary else selectors.snapshot(retro, request.user)
        if request.accepted_renderer.format == "md":
            response = HttpResponse(selectors.summary_markdown(data), content_type="text/markdown; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{self.project.key}-retrospective-{retro.pk}.md"'
            return response
        return Response(data)
