"""The webhook pages' form: it checks input; the views hand it to integrations.webhooks."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations import webhooks
from integrations.models import Webhook, WebhookEvent


class WebhookForm(forms.Form):
    # Checked by the service (the SSRF guard), whose messages say what exactly is wrong with it.
    url = forms.CharField(
        label=_("Payload URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://ci.example.com/hooks/scrumboard", "class": "mono"}),
        help_text=_("Where Scrumboard POSTs the events, as JSON. It must be a public http(s) address."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Turning a disabled webhook on again clears its failure count."),
    )

    @classmethod
    def initial_for(cls, webhook: Webhook) -> dict:
        return {"url": webhook.url, "events": list(webhook.events), "active": webhook.active}

    def clean_url(self) -> str:
        """The SSRF guard here too, so a refused URL shows beside the form's other errors (the service checks again)."""
        url = self.cleaned_data["url"].strip()
        try:
            webhooks.check_target(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict.get("url") or exc.messages) from None
        return url

    def values(self) -> dict:
        data = self.cleaned_data
        # In the order of the list above, whatever order the browser sent them in.
        events = [event for event in WebhookEvent.values if event in data["events"]]
        return {"url": data["url"], "events": events, "active": data["active"]}
