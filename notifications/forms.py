"""The notification settings page: a kind x channel grid of checkboxes, quiet and working hours, language."""

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel, Kind, NotificationPreference, NotificationSettings
from projects.forms import timezone_choices
from projects.models import WEEKDAYS

if TYPE_CHECKING:  # django-stubs is a development dependency
    from django_stubs_ext import StrOrPromise

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


# Each language in its own name: a reader who needs it finds it whatever the page's language.
OWN_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}


def language_choices() -> list[tuple[str, "StrOrPromise"]]:
    return [
        ("", _("Site default")),
        *((code, OWN_NAMES.get(code) or get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES),
    ]


def preference_field_name(kind: str, channel: str) -> str:
    return f"{kind}__{channel}"


class NotificationSettingsForm(forms.Form):
    """Validates the page's input; the view hands ``preferences()`` and ``changes()`` to settings_services."""

    quiet_from = forms.TimeField(label=_("Start"), required=False, widget=TIME)
    quiet_to = forms.TimeField(label=_("End"), required=False, widget=TIME)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=timezone_choices,
        help_text=_("Quiet hours and working hours are in this time zone."),
    )
    work_from = forms.TimeField(label=_("Start"), required=False, widget=TIME)
    work_to = forms.TimeField(label=_("End"), required=False, widget=TIME)
    work_days = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: each project's working days."),
    )
    language = forms.ChoiceField(
        label=_("E-mail language"),
        choices=language_choices,
        required=False,
        help_text=_("Pages, and the notifications on them, follow the language you choose at the top."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in Kind.values:
            for channel in Channel.values:
                self.fields[preference_field_name(kind, channel)] = forms.BooleanField(
                    required=False, label=f"{Kind(kind).label}: {Channel(channel).label}"
                )

    @classmethod
    def initial_for(cls, user) -> dict:
        """The form's initial data from what the user has saved (every channel on unless switched off)."""
        row = NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)
        initial: dict = {name: getattr(row, name) for name in ("quiet_from", "quiet_to", "timezone", "work_from")}
        initial.update(work_to=row.work_to, work_days=list(row.work_days or []), language=row.language)
        off = set(NotificationPreference.objects.filter(user=user, enabled=False).values_list("kind", "channel"))
        for kind in Kind.values:
            for channel in Channel.values:
                initial[preference_field_name(kind, channel)] = (kind, channel) not in off
        return initial

    def grid(self) -> list[tuple["StrOrPromise", list[forms.BoundField]]]:
        """Rows of (kind label, one checkbox per channel) for the template's table."""
        return [
            (Kind(kind).label, [self[preference_field_name(kind, channel)] for channel in Channel.values])
            for kind in Kind.values
        ]

    @property
    def channel_labels(self) -> list[str]:
        return [str(label) for label in Channel.labels]

    def preferences(self) -> list[dict]:
        """The checkboxes that differ from ``initial`` (what is saved): only those are written."""
        changed = []
        for kind in Kind.values:
            for channel in Channel.values:
                name = preference_field_name(kind, channel)
                if self.cleaned_data[name] != self.initial.get(name, True):
                    changed.append({"kind": kind, "channel": channel, "enabled": self.cleaned_data[name]})
        return changed

    def changes(self) -> dict:
        return {
            "quiet_from": self.cleaned_data["quiet_from"],
            "quiet_to": self.cleaned_data["quiet_to"],
            "timezone": self.cleaned_data["timezone"],
            "work_from": self.cleaned_data["work_from"],
            "work_to": self.cleaned_data["work_to"],
            "work_days": sorted(self.cleaned_data["work_days"]),
            "language": self.cleaned_data["language"],
        }
