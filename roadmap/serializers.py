"""The roadmap API's shapes: what it shows (progress, forecast) and what it accepts."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from backlog.models import BacklogItem
from backlog.selectors import KEY_PATTERN
from projects.models import Project
from roadmap.models import Phase, PhaseStatus, Release, ReleaseStatus

MAX_LINKS = 500


# --- read shapes ---------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    items_done = serializers.IntegerField()
    items_total = serializers.IntegerField()
    points_done = serializers.FloatField()
    points_total = serializers.FloatField()
    percent = serializers.IntegerField(help_text="By points when anything is estimated, else by item count.")


class ForecastSerializer(serializers.Serializer):
    remaining_points = serializers.FloatField()
    p50_date = serializers.DateField(allow_null=True, help_text="null: beyond the forecast's horizon")
    p85_date = serializers.DateField(allow_null=True, help_text="null: beyond the forecast's horizon")
    history = serializers.IntegerField(help_text="How many past sprints the Monte Carlo draw used.")
    at_risk = serializers.BooleanField(help_text="The P85 date is after the target date (or beyond the horizon).")


class PhaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    goal = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    order = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PhaseStatus.choices)
    progress = ProgressSerializer()
    items = serializers.ListField(child=serializers.CharField(), help_text="Keys of the linked epics and items.")


class MilestoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    date = serializers.DateField()
    phase = serializers.IntegerField(allow_null=True)
    done = serializers.BooleanField()


class ReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.IntegerField(allow_null=True)
    target_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=ReleaseStatus.choices)
    released_on = serializers.DateField(allow_null=True)
    notes = serializers.CharField(help_text="Markdown; generated at release unless edited, then frozen.")
    notes_edited = serializers.BooleanField()
    progress = ProgressSerializer()
    forecast = ForecastSerializer(allow_null=True, help_text="null: released, or no velocity history yet.")
    items = serializers.ListField(child=serializers.CharField(), help_text="Keys of the linked epics and items.")


class EpicProgressSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    progress = ProgressSerializer()


class SprintBandSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    state = serializers.CharField(help_text="planned, active or completed")


class RangeSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The first day of the earliest month on the roadmap.")
    end = serializers.DateField(help_text="The last day of the latest month on the roadmap.")


class RoadmapSerializer(serializers.Serializer):
    phases = PhaseSerializer(many=True)
    milestones = MilestoneSerializer(many=True)
    releases = ReleaseSerializer(many=True)
    epics = EpicProgressSerializer(many=True)
    sprints = SprintBandSerializer(many=True)
    range = RangeSerializer()
    today = serializers.DateField()


class NotesPreviewSerializer(serializers.Serializer):
    generated = serializers.CharField(help_text="Markdown generated from the done items now (not saved).")
    notes = serializers.CharField(help_text="The notes as saved.")
    notes_edited = serializers.BooleanField()
    frozen = serializers.BooleanField(help_text="Released: the saved notes no longer change.")


# --- write shapes --------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class PhaseField(serializers.Field):
    """A phase of the project, by id; null for none."""

    def to_representation(self, phase: Phase) -> int:
        return phase.pk

    def to_internal_value(self, value) -> Phase:
        found = _by_id(Phase.objects.filter(project=self.context["project"]), value)
        if found is None:
            raise serializers.ValidationError(_("Choose a phase of this project."))
        return found


@extend_schema_field(OpenApiTypes.INT)
class ReleaseField(serializers.Field):
    """A release of the project, by id."""

    def to_representation(self, release: Release) -> int:
        return release.pk

    def to_internal_value(self, value) -> Release:
        found = _by_id(Release.objects.filter(project=self.context["project"]), value)
        if found is None:
            raise serializers.ValidationError(_("Choose a release of this project."))
        return found


def _by_id(queryset, value):
    if isinstance(value, bool) or not str(value).isdigit() or len(str(value)) > 18:
        return None
    return queryset.filter(pk=int(value)).first()


# Documented as the request side of "Phase": one component name, one name for its enums.
@extend_schema_serializer(component_name="Phase")
class PhaseWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    goal = serializers.CharField(required=False, allow_blank=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    order = serializers.IntegerField(required=False, min_value=0, max_value=32767)
    status = serializers.ChoiceField(choices=PhaseStatus.choices, required=False)


# Documented as the request side of "Milestone": one component name, one name for its enums.
@extend_schema_serializer(component_name="Milestone")
class MilestoneWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    date = serializers.DateField()
    phase = PhaseField(required=False, allow_null=True)
    done = serializers.BooleanField(required=False)


# Documented as the request side of "Release": one component name, one name for its enums.
@extend_schema_serializer(component_name="Release")
class ReleaseWriteSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=64, help_text="A semantic version: 1.0.0, 1.1.0-rc.1")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phase = PhaseField(required=False, allow_null=True)
    target_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=ReleaseStatus.choices,
        required=False,
        help_text="planned or in_progress; only the release action releases (it records the date).",
    )
    notes = serializers.CharField(
        required=False, allow_blank=True, help_text="Markdown; once edited it is kept at release. Blank: generated."
    )


class LinkSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=MAX_LINKS)
    remove = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=MAX_LINKS)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("add") and not attrs.get("remove"):
            raise serializers.ValidationError(_("Name items to add or remove, by key (SB-42)."))
        project = self.context["project"]
        return {field: _items_by_key(project, field, attrs.get(field, [])) for field in ("add", "remove")}


def _items_by_key(project: Project, field: str, keys: list[str]) -> list[BacklogItem]:
    """The project's items named by key, in one query; 400 naming the first unknown key."""
    numbers = []
    for item_key in keys:
        match = KEY_PATTERN.match(item_key.strip().upper())
        if not match or match["key"] != project.key:
            raise serializers.ValidationError({field: [_("No item %(key)s in this project.") % {"key": item_key}]})
        numbers.append(int(match["number"]))
    items = list(BacklogItem.objects.filter(project=project, number__in=numbers)) if numbers else []
    found = {item.number for item in items}
    missing = [number for number in numbers if number not in found]
    if missing:
        key = f"{project.key}-{missing[0]}"
        raise serializers.ValidationError({field: [_("No item %(key)s in this project.") % {"key": key}]})
    for item in items:
        item.project = project
    return items


class ReleaseActionSerializer(serializers.Serializer):
    released_on = serializers.DateField(required=False, help_text="Default: today in the project's timezone.")
    move_unfinished_to = ReleaseField(
        required=False, allow_null=True, help_text="Another unreleased release that takes the unfinished items."
    )


class TemplateSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, allow_null=True, help_text="Default: today.")
