"""The import page's upload form: it checks the upload; the view hands it to integrations.importing.jobs."""

from typing import cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from integrations.importing import jobs
from integrations.importing.sources import SOURCES


def source_choices() -> list[tuple[str, object]]:
    return [("", _("Detect automatically"))] + [(source.name, source.label) for source in SOURCES.values()]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Export file"),
        help_text=_("A Jira CSV or JSON export, a GitHub Projects item list (JSON), or a Scrumboard export."),
        error_messages={"required": _("Choose the file to import.")},
    )
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["source"]).choices = source_choices()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(jobs.too_large_message())
        return upload
