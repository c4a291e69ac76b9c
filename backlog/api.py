import csv

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from backlog import selectors, services
from backlog.markdown import render_markdown
from backlog.models import BacklogItem, Comment, ItemEvent, ItemLink, ItemType, Priority, Status
from roles import policy
from roles.models import Permission
from scrumboard.api import CursorPagination, ETagMixin, ProjectScopedMixin, created

User = get_user_model()


@extend_schema_field(OpenApiTypes.STR)
class StatusField(serializers.Field):
    """A status of the project, by name (``In Progress``)."""

    def to_representation(self, status: Status) -> str:
        return status.name

    def to_internal_value(self, value) -> Status:
        status = next((s for s in self.context["statuses"] if s.name.lower() == str(value).strip().lower()), None)
        if status is None:
            names = ", ".join(s.name for s in self.context["statuses"])
            raise serializers.ValidationError(_("Unknown status. Use one of: %(names)s.") % {"names": names})
        return status


@extend_schema_field(OpenApiTypes.STR)
class MemberField(serializers.Field):
    """A project member, by username."""

    def to_representation(self, user) -> str:
        return user.get_username()

    def to_internal_value(self, value):
        username = str(value)
        # No username holds NUL, and PostgreSQL refuses it in a query (a 500, not "no such member").
        members = User.objects.filter(username=username, memberships__project=self.context["project"])
        user = None if "\x00" in username else members.first()
        if user is None:
            raise serializers.ValidationError(_("Choose a member of this project."))
        return user


@extend_schema_field(OpenApiTypes.STR)
class ItemKeyField(serializers.Field):
    """An item of the project, by key (``SB-42``)."""

    def to_representation(self, item: BacklogItem) -> str:
        return item.key

    def to_internal_value(self, value) -> BacklogItem:
        item = selectors.item_by_key(self.context["project"], str(value).strip().upper())
        if item is None:
            raise serializers.ValidationError(_("No item %(key)s in this project.") % {"key": value})
        return item


@extend_schema_field(OpenApiTypes.INT)
class SprintField(serializers.Field):
    """A sprint of the project, by id; null is the backlog."""

    def get_attribute(self, instance):
        return instance.sprint_id  # no query per row

    def to_representation(self, value) -> int:
        return value

    def to_internal_value(self, value):
        digits = selectors.ID_PATTERN.fullmatch(str(value))
        sprint = self.context["project"].sprints.filter(pk=int(value)).first() if digits else None
        if sprint is None:
            raise serializers.ValidationError(_("No sprint %(id)s in this project.") % {"id": value})
        return sprint


class LabelsField(serializers.ListField):
    """Label names; written as a list of strings, read from the prefetched labels."""

    child = serializers.CharField(max_length=50)

    def to_representation(self, labels) -> list[str]:
        return [label.name for label in labels.all()]


class ChecklistEntrySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    done = serializers.BooleanField(default=False)


class BacklogItemSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    status = StatusField(required=False)
    status_category = serializers.CharField(source="status.category", read_only=True)
    labels = LabelsField(required=False)
    assignee = MemberField(required=False, allow_null=True)
    reporter = serializers.CharField(source="reporter.username", read_only=True, allow_null=True, default=None)
    # DRF's metaclass moves declared fields off the class, so this does not shadow Field.parent.
    parent = ItemKeyField(required=False, allow_null=True)  # type: ignore[assignment]
    sprint = SprintField(required=False, allow_null=True)
    acceptance_criteria = ChecklistEntrySerializer(many=True, required=False)
    done_checklist = ChecklistEntrySerializer(many=True, required=False)
    role_points = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    children_points = serializers.DecimalField(max_digits=9, decimal_places=1, read_only=True, allow_null=True)
    position = serializers.ChoiceField(choices=["top", "bottom"], write_only=True, required=False)
    override_reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)

    class Meta:
        model = BacklogItem
        fields = [
            "key",
            "type",
            "title",
            "description",
            "acceptance_criteria",
            "status",
            "status_category",
            "priority",
            "labels",
            "assignee",
            "reporter",
            "parent",
            "sprint",
            "estimate",
            "points",
            "role_points",
            "children_points",
            "due_date",
            "ready",
            "done_checklist",
            "rank",
            "created_at",
            "updated_at",
            "position",
            "override_reason",
        ]
        read_only_fields = ["points", "rank", "created_at", "updated_at"]


class BacklogItemDetailSerializer(BacklogItemSerializer):
    """One item: adds the description rendered as safe HTML (lists leave it out: it is costly)."""

    description_html = serializers.SerializerMethodField()

    class Meta(BacklogItemSerializer.Meta):
        fields = [*BacklogItemSerializer.Meta.fields[:4], "description_html", *BacklogItemSerializer.Meta.fields[4:]]

    def get_description_html(self, item: BacklogItem) -> str:
        return render_markdown(item.description)


class RankPagination(CursorPagination):
    ordering = "rank"


def _page_context(view) -> dict:
    return {"project": view.project, "statuses": list(view.project.statuses.all())}


@extend_schema(parameters=[OpenApiParameter("item_key", str, OpenApiParameter.PATH, description="e.g. SB-42")])
class BacklogItemViewSet(ETagMixin, ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = BacklogItemDetailSerializer
    pagination_class = RankPagination

    def get_serializer_class(self):
        return BacklogItemSerializer if self.action == "list" else BacklogItemDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_page_context(self)}

    def get_object(self) -> BacklogItem:
        item = selectors.item_by_key(self.project, self.kwargs["item_key"])
        if item is None:
            raise Http404
        self._etag_object = item
        return item

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, description=text)
            for name, text in [
                ("type", "epic, story, task, bug, spike (comma-separated)"),
                ("status", "status names (comma-separated)"),
                ("category", "todo, in_progress, done"),
                ("label", "label names"),
                ("assignee", "usernames, 'me' or 'none'"),
                ("parent", "parent item key"),
                ("search", "text or an item key"),
                ("limit", "page size, at most 200"),
            ]
        ],
        summary="Backlog items in backlog order",
    )
    def list(self, request, key: str):
        items = selectors.backlog_items(
            self.project, selectors.ItemFilters.from_params(request.query_params), user=request.user
        )
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Create an item (at the bottom of the backlog, or the top with position=top)")
    def create(self, request, key: str):
        self.require(Permission.EDIT_BACKLOG)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("override_reason", None)
        if "title" not in data:
            raise serializers.ValidationError({"title": [_("This field is required.")]})
        # A new item starts from the project's definition of done and not ready; these two are set as changes.
        later = {field: data.pop(field) for field in ("ready", "done_checklist") if field in data}
        with transaction.atomic():
            item = services.create_item(project=self.project, by=request.user, **data)
            if later:
                services.update_item(item=item, by=request.user, **later)
        self._etag_object = item
        return created(self.get_serializer(selectors.item_by_key(self.project, item.key)).data)

    def retrieve(self, request, key: str, item_key: str):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Change fields; send If-Match with the ETag to refuse stale writes (412)")
    def partial_update(self, request, key: str, item_key: str):
        item = self.get_object()
        if not (
            policy.can(request.user, self.project, Permission.EDIT_BACKLOG)
            or policy.can(request.user, self.project, Permission.ESTIMATE)
        ):
            raise PermissionDenied
        serializer = self.get_serializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        changes.pop("position", None)
        reason = changes.pop("override_reason", "")
        sprint = changes.pop("sprint", services.KEEP)
        with transaction.atomic():
            self.lock_for_write(item)
            if changes:
                services.update_item(item=item, by=request.user, override_reason=reason, **changes)
            if sprint is not services.KEEP and (sprint.pk if sprint else None) != item.sprint_id:
                services.move_item(item=item, by=request.user, sprint=sprint)
        return Response(self.get_serializer(self.get_object()).data)

    def destroy(self, request, key: str, item_key: str):
        item = self.get_object()
        with transaction.atomic():
            self.lock_for_write(item)
            services.delete_item(item=item, by=request.user)
        self._etag_object = None
        return Response(status=status.HTTP_204_NO_CONTENT)


class MoveSerializer(serializers.Serializer):
    before = ItemKeyField(required=False)
    after = ItemKeyField(required=False)
    position = serializers.ChoiceField(choices=["top", "bottom"], required=False)
    sprint = SprintField(required=False, allow_null=True, help_text="a sprint's id, or null for the backlog")

    def validate(self, attrs):
        given = [name for name in ("before", "after", "position") if name in attrs]
        if len(given) > 1 or (not given and "sprint" not in attrs):
            raise serializers.ValidationError(_("Give exactly one of before, after or position (and maybe a sprint)."))
        return attrs


class MoveView(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = MoveSerializer

    @extend_schema(
        request=MoveSerializer,
        responses={200: BacklogItemSerializer},
        summary="Move an item: before/after another item, to the top/bottom, into a sprint (one row written)",
    )
    def move(self, request, key: str, item_key: str):
        into_sprint = isinstance(request.data, dict) and "sprint" in request.data
        self.require(Permission.MANAGE_SPRINTS if into_sprint else Permission.EDIT_BACKLOG)
        item = selectors.item_by_key(self.project, item_key)
        if item is None:
            raise Http404
        serializer = MoveSerializer(data=request.data, context={"project": self.project})
        serializer.is_valid(raise_exception=True)
        services.move_item(item=item, by=request.user, **serializer.validated_data)
        return Response(BacklogItemSerializer(item, context={"project": self.project, "request": request}).data)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)
    body_html = serializers.SerializerMethodField()
    mentions: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True
    )

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "body_html", "mentions", "created_at", "edited_at"]
        read_only_fields = ["id", "created_at", "edited_at"]

    def get_body_html(self, comment: Comment) -> str:
        return render_markdown(comment.body)


class ItemChildMixin(ProjectScopedMixin):
    @property
    def item(self) -> BacklogItem:
        if not hasattr(self, "_item"):
            item = selectors.item_by_key(self.project, self.kwargs["item_key"])
            if item is None:
                raise Http404
            self._item = item
        return self._item


class CommentViewSet(ItemChildMixin, viewsets.GenericViewSet):
    serializer_class = CommentSerializer

    def get_queryset(self):
        return Comment.objects.filter(item=self.item).select_related("author").prefetch_related("mentions")

    def list(self, request, key: str, item_key: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request, key: str, item_key: str):
        self.require(Permission.COMMENT)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(item=self.item, by=request.user, body=serializer.validated_data["body"])
        return created(self.get_serializer(comment).data)

    def _comment(self, pk: int) -> Comment:
        comment = self.get_queryset().filter(pk=pk).first()
        if comment is None:
            raise Http404
        return comment

    def partial_update(self, request, key: str, item_key: str, pk: int):
        comment = self._comment(pk)
        serializer = self.get_serializer(comment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.edit_comment(comment=comment, by=request.user, body=serializer.validated_data.get("body", ""))
        return Response(self.get_serializer(comment).data)

    def destroy(self, request, key: str, item_key: str, pk: int):
        services.delete_comment(comment=self._comment(pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ItemEvent
        fields = ["id", "at", "actor", "kind", "field", "old", "new"]


class HistoryViewSet(ItemChildMixin, viewsets.GenericViewSet):
    serializer_class = ItemEventSerializer

    def list(self, request, key: str, item_key: str):
        page = self.paginate_queryset(selectors.item_history(self.item))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class BulkSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=500)
    action = serializers.ChoiceField(choices=["update", "delete"], default="update")
    status = StatusField(required=False)
    labels = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    assignee = MemberField(required=False, allow_null=True)
    estimate = serializers.CharField(required=False, allow_blank=True)
    sprint = SprintField(required=False, allow_null=True)


class BulkResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(required=False, help_text="Items changed (action update).")
    deleted = serializers.IntegerField(required=False, help_text="Items deleted (action delete).")


class BulkView(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = BulkSerializer

    @extend_schema(
        request=BulkSerializer,
        responses=BulkResultSerializer,
        summary="Change status, labels, assignee, estimate or sprint of several items, or delete them; all or nothing",
    )
    def bulk(self, request, key: str):
        self.require(Permission.EDIT_BACKLOG)
        serializer = BulkSerializer(data=request.data, context=_page_context(self))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        keys = data.pop("items")
        action = data.pop("action")
        numbers = []
        for item_key in keys:
            match = selectors.KEY_PATTERN.match(item_key.strip().upper())
            if not match or match["key"] != self.project.key:
                raise serializers.ValidationError(
                    {"items": [_("No item %(key)s in this project.") % {"key": item_key}]}
                )
            numbers.append(int(match["number"]))
        items = list(
            BacklogItem.objects.filter(project=self.project, number__in=numbers).select_related(
                "project", "status", "assignee", "parent"
            )
        )
        if len(items) != len(set(numbers)):
            found = {item.number for item in items}
            missing = [f"{self.project.key}-{n}" for n in numbers if n not in found]
            raise serializers.ValidationError({"items": [_("No item %(key)s in this project.") % {"key": missing[0]}]})
        if action == "delete":
            count = services.bulk_delete_items(project=self.project, by=request.user, items=items)
            return Response({"deleted": count})
        if not data:
            raise serializers.ValidationError(_("Say what to change: status, labels, assignee, estimate or sprint."))
        services.bulk_update_items(project=self.project, by=request.user, items=items, changes=data)
        return Response({"updated": len(items)})


# Cells starting with these are formulas to a spreadsheet; a leading apostrophe keeps them text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class ExportView(ProjectScopedMixin, viewsets.GenericViewSet):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, summary="The backlog as CSV, in backlog order")
    def export(self, request, key: str):
        items = selectors.backlog_items(
            self.project, selectors.ItemFilters.from_params(request.query_params), user=request.user
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.project.key}-backlog.csv"'
        response.write("\ufeff")  # so spreadsheet programs read UTF-8 (Kazakh, Russian) correctly
        writer = csv.writer(response)
        writer.writerow(
            [
                "Key",
                "Type",
                "Title",
                "Status",
                "Priority",
                "Estimate",
                "Assignee",
                "Labels",
                "Parent",
                "Due date",
                "Description",
            ]
        )
        for item in items:
            writer.writerow(
                [
                    spreadsheet_safe(v)
                    for v in [
                        item.key,
                        ItemType(item.type).label,
                        item.title,
                        item.status.name,
                        Priority(item.priority).label,
                        item.estimate,
                        item.assignee.username if item.assignee else "",
                        ", ".join(label.name for label in item.labels.all()),
                        item.parent.key if item.parent else "",
                        item.due_date.isoformat() if item.due_date else "",
                        item.description,
                    ]
                ]
            )
        return response


class ItemLinkSerializer(serializers.ModelSerializer):
    # Like ``parent`` above: a declared field, not Field.source.
    source = serializers.CharField(source="source.key", read_only=True)  # type: ignore[assignment]
    target = ItemKeyField()

    class Meta:
        model = ItemLink
        fields = ["id", "source", "kind", "target"]


class ItemLinkViewSet(ItemChildMixin, viewsets.GenericViewSet):
    """Links from this item: blocks / relates to / duplicates another item."""

    serializer_class = ItemLinkSerializer

    def get_queryset(self):
        return (
            ItemLink.objects.filter(source=self.item)
            .select_related("source__project", "target__project")
            .order_by("id")
        )

    def list(self, request, key: str, item_key: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request, key: str, item_key: str):
        self.require(Permission.EDIT_BACKLOG)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.link_items(
            source=self.item,
            target=serializer.validated_data["target"],
            kind=serializer.validated_data["kind"],
            by=request.user,
        )
        return created(self.get_serializer(link).data)

    def destroy(self, request, key: str, item_key: str, pk: int):
        self.require(Permission.EDIT_BACKLOG)
        link = self.get_queryset().filter(pk=pk).first()
        if link is None:
            raise Http404
        services.unlink_items(link=link, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchView(ItemChildMixin, viewsets.GenericViewSet):
    @extend_schema(
        request=None,
        responses={200: inline_serializer("Watching", {"watching": serializers.BooleanField()})},
        summary="Watch the item (POST) or stop watching it (DELETE)",
    )
    def watch(self, request, key: str, item_key: str):
        watching = request.method == "POST"
        services.watch_item(item=self.item, by=request.user, watching=watching)
        return Response({"watching": watching})


class StatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Status
        fields = ["id", "name", "category", "order", "wip_limit"]
        read_only_fields = ["name", "category", "order"]


class StatusViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """The project's workflow, in order."""

    serializer_class = StatusSerializer
    pagination_class = None

    def list(self, request, key: str):
        return Response(self.get_serializer(self.project.statuses.all(), many=True).data)

    @extend_schema(summary="Set a board column's WIP limit (null: no limit)")
    def partial_update(self, request, key: str, pk: int):
        self.require(Permission.MANAGE_SPRINTS)
        status_object = self.project.statuses.filter(pk=pk).first()
        if status_object is None:
            raise Http404
        serializer = self.get_serializer(status_object, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "wip_limit" in serializer.validated_data:
            services.set_wip_limit(status=status_object, by=request.user, limit=serializer.validated_data["wip_limit"])
        return Response(self.get_serializer(status_object).data)


class EpicSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    status = serializers.CharField(source="status.name", read_only=True)
    child_count = serializers.IntegerField(read_only=True)
    done_count = serializers.IntegerField(read_only=True)
    total_points = serializers.DecimalField(max_digits=9, decimal_places=1, read_only=True)
    done_points = serializers.DecimalField(max_digits=9, decimal_places=1, read_only=True)

    class Meta:
        model = BacklogItem
        fields = ["key", "title", "status", "child_count", "done_count", "total_points", "done_points"]


class EpicViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """Epics in backlog order with their children's progress (points and counts)."""

    serializer_class = EpicSerializer
    pagination_class = RankPagination

    def list(self, request, key: str):
        page = self.paginate_queryset(selectors.epic_progress(self.project))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
