from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from backlog.models import BacklogItem


class ItemChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: BacklogItem) -> str:
        return f"{obj.key} {obj.title}"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _choices(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


class EntryForm(forms.Form):
    done = forms.CharField(
        label=_("Done since the last daily scrum"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    next = forms.CharField(label=_("Next"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    blockers = forms.CharField(
        label=_("Blockers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A blocker becomes an impediment with you as its owner, carried until it is resolved."),
    )
    items = ItemChoiceField(
        label=_("Linked items"),
        queryset=BacklogItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, items=None, **kwargs):
        super().__init__(*args, **kwargs)
        if items is not None:
            _choices(self, "items").queryset = items


class ImpedimentForm(forms.Form):
    description = forms.CharField(label=_("What blocks the work?"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = MemberChoiceField(
        label=_("Owner"), queryset=BacklogItem.objects.none(), required=False, empty_label=_("Me (who raises it)")
    )
    items = ItemChoiceField(label=_("Linked items"), queryset=BacklogItem.objects.none(), required=False)

    def __init__(self, *args, owners, items, **kwargs):
        super().__init__(*args, **kwargs)
        _choices(self, "owner").queryset = owners
        _choices(self, "items").queryset = items
