"""The roadmap pages' forms: they check input; the views hand it to roadmap.services."""

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backlog.models import BacklogItem, ItemType
from roadmap.models import Milestone, Phase, PhaseStatus, Release, ReleaseStatus

KEY = re.compile(r"^(?:([A-Za-z][A-Za-z0-9]*)-)?(\d{1,9})$")
SPLIT = re.compile(r"[\s,;]+")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class EpicChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, *args, project_key: str = "", **kwargs):
        self.project_key = project_key
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{self.project_key}-{obj.number} {obj.title}"  # the key without a query for the project


class LinkedItemsForm(forms.Form):
    """Epics ticked in a list plus other items by key: what the phase or release covers."""

    epics = EpicChoiceField(
        label=_("Epics"), queryset=BacklogItem.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    item_keys = forms.CharField(
        label=_("Other items"),
        required=False,
        max_length=2000,
        help_text=_("Item keys separated by commas or spaces, such as SB-12, SB-14."),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        epics: EpicChoiceField = self.fields["epics"]  # type: ignore[assignment]
        epics.queryset = BacklogItem.objects.filter(project=project, type=ItemType.EPIC).order_by("number")
        epics.project_key = project.key
        self.fields["item_keys"].help_text = _("Item keys separated by commas or spaces, such as %(example)s.") % {
            "example": f"{project.key}-12, {project.key}-14"
        }

    @staticmethod
    def initial_links(project, items: list[BacklogItem]) -> dict:
        epics = [item for item in items if item.type == ItemType.EPIC]
        others = sorted((item for item in items if item.type != ItemType.EPIC), key=lambda item: item.number)
        return {"epics": epics, "item_keys": ", ".join(f"{project.key}-{item.number}" for item in others)}

    def clean_item_keys(self) -> list[BacklogItem]:
        words = [word for word in SPLIT.split(self.cleaned_data["item_keys"].strip()) if word]
        numbers, wrong = [], []
        for word in words:
            match = KEY.match(word)
            if match is None or (match.group(1) and match.group(1).upper() != self.project.key.upper()):
                wrong.append(word)
            else:
                numbers.append(int(match.group(2)))
        found = {item.number: item for item in BacklogItem.objects.filter(project=self.project, number__in=numbers)}
        wrong += [f"{self.project.key}-{number}" for number in numbers if number not in found]
        if wrong:
            raise forms.ValidationError(
                _("No such item in this project: %(keys)s.") % {"keys": ", ".join(dict.fromkeys(wrong))}
            )
        return list({number: found[number] for number in numbers}.values())

    def linked(self) -> list[BacklogItem]:
        """Everything the form links: the ticked epics and the items by key, each once."""
        items = {item.pk: item for item in self.cleaned_data["epics"]}
        items.update((item.pk, item) for item in self.cleaned_data["item_keys"])
        return list(items.values())


class PhaseForm(LinkedItemsForm):
    name = forms.CharField(label=_("Name"), max_length=Phase._meta.get_field("name").max_length)
    goal = forms.CharField(label=_("Goal"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())
    status = forms.ChoiceField(label=_("Status"), choices=PhaseStatus.choices, initial=PhaseStatus.PLANNED)

    field_order = ["name", "goal", "start_date", "end_date", "status", "epics", "item_keys"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("A phase cannot end before it starts."))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "goal", "start_date", "end_date", "status")}


def _phase_field(project) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Phase"),
        queryset=Phase.objects.filter(project=project),
        required=False,
        empty_label=_("No phase"),
    )


class MilestoneForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=Milestone._meta.get_field("name").max_length)
    date = forms.DateField(label=_("Date"), widget=DateInput())
    phase = forms.ModelChoiceField(label=_("Phase"), queryset=Phase.objects.none(), required=False)
    done = forms.BooleanField(label=_("Done"), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phase"] = _phase_field(project)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "date", "phase", "done")}


class ReleaseForm(LinkedItemsForm):
    version = forms.CharField(
        label=_("Version"),
        max_length=Release._meta.get_field("version").max_length,
        help_text=_("A semantic version: 1.0.0, 1.1.0, 2.0.0-rc.1."),
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=Release._meta.get_field("name").max_length)
    phase = forms.ModelChoiceField(label=_("Phase"), queryset=Phase.objects.none(), required=False)
    target_date = forms.DateField(label=_("Target date"), required=False, widget=DateInput())
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(value, label) for value, label in ReleaseStatus.choices if value != ReleaseStatus.RELEASED],
        initial=ReleaseStatus.PLANNED,
        help_text=_("Released is set by the Release button on the release's page."),
    )

    field_order = ["version", "name", "phase", "target_date", "status", "epics", "item_keys"]

    def __init__(self, *args, project, release: Release | None = None, **kwargs):
        super().__init__(*args, project=project, **kwargs)
        self.release = release
        self.fields["phase"] = _phase_field(project)

    def clean_version(self) -> str:
        """Taken versions are refused here too, so the form says so before the service is asked."""
        version = self.cleaned_data["version"].strip()
        taken = Release.objects.filter(project=self.project, version=version)
        if self.release is not None:
            taken = taken.exclude(pk=self.release.pk)
        if taken.exists():
            raise forms.ValidationError(_("This project already has a release with this version."))
        return version

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("version", "name", "phase", "target_date", "status")}


class NotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Release notes"),
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono"}),
        help_text=_(
            "Markdown. Until you edit them the notes are generated from the done items; empty them to go back."
        ),
    )


class ReleaseActionForm(forms.Form):
    released_on = forms.DateField(label=_("Release date"), widget=DateInput())
    move_unfinished_to = forms.ModelChoiceField(
        label=_("Unfinished items"), queryset=Release.objects.none(), required=False
    )

    def __init__(self, *args, release: Release, **kwargs):
        kwargs.setdefault(
            "initial", {"released_on": timezone.localdate(timezone=release.project.tzinfo), "move_unfinished_to": ""}
        )
        super().__init__(*args, **kwargs)
        field = forms.ModelChoiceField(
            label=_("Unfinished items"),
            queryset=Release.objects.filter(project_id=release.project_id)
            .exclude(pk=release.pk)
            .exclude(status=ReleaseStatus.RELEASED),
            required=False,
            # Radio buttons, not a select: the choices are sentences, too long for a select's width.
            widget=forms.RadioSelect,
            blank=True,
            empty_label=_("Stay in this release, not released"),
        )
        field.label_from_instance = lambda obj: _("Move to %(version)s") % {"version": obj.version}  # type: ignore[method-assign]
        self.fields["move_unfinished_to"] = field


class TemplateForm(forms.Form):
    start = forms.DateField(label=_("Start date"), widget=DateInput())
