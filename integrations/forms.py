import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.models import TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What will use it, e.g. “CI pipeline” or “Jira sync”.")
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional. The token stops working at the end of this day (UTC)."),
    )

    def expires_at(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.now().date():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return day
