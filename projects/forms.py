import functools
import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.models import SETTINGS_FIELDS, WEEKDAYS, Project


@functools.cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ProjectSettingsForm(forms.ModelForm):
    """Validates a project's settings; the view hands ``cleaned_data`` to projects.services."""

    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Project
        fields = list(SETTINGS_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "product_goal": forms.Textarea(attrs={"rows": 2}),
            "definition_of_done": forms.Textarea(attrs={"rows": 5}),
            "definition_of_ready": forms.Textarea(attrs={"rows": 4}),
            "daily_scrum_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean_working_days(self) -> list[int]:
        return sorted(self.cleaned_data["working_days"])

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS}


class ProjectCreateForm(ProjectSettingsForm):
    class Meta(ProjectSettingsForm.Meta):
        fields = ["key", *SETTINGS_FIELDS]
        help_texts = {"key": _("2 to 10 capital Latin letters; item keys start with it (SB-42). It cannot change.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].widget.attrs.update({"autocapitalize": "characters", "placeholder": "SB", "autofocus": True})

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()
