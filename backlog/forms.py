"""The backlog pages' forms: they check input; the views hand it to backlog.services."""

import re
from typing import cast

from django import forms
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from backlog import selectors
from backlog.models import DEFAULT_SCALE, UNKNOWN_ESTIMATE, BacklogItem, ItemType, LinkKind, Priority

MAX_QUICK_ADD_LINES = 100
TITLE_LENGTH: int = BacklogItem._meta.get_field("title").max_length or 255
# What people paste from notes and documents: "- title", "* title", "• title", "[ ] title".
BULLET = re.compile(r"^\s*(?:[-*\u2022\u2013]|\[[ xX]?\])\s+")
ITEM_FORM_ID = "item-form"


NO_ESTIMATE = "\u2013"  # an en dash: "not estimated"


def estimate_choices(*, empty: str = NO_ESTIMATE, numbers_only: bool = False) -> list[tuple[str, str]]:
    scale = [value for value in DEFAULT_SCALE if not (numbers_only and value == UNKNOWN_ESTIMATE)]
    return [("", empty), *((value, value) for value in scale)]


def split_labels(text: str) -> list[str]:
    """``"auth, mvp"`` → ``["auth", "mvp"]``: labels are typed separated by commas."""
    names: list[str] = []
    for part in (text or "").split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def normalise_key(text: str) -> str:
    return (text or "").strip().upper()


class QuickAddForm(forms.Form):
    """One title per line: pasting a list creates one item per line."""

    titles = forms.CharField(
        label=_("New item title"),
        widget=forms.Textarea(attrs={"rows": 1, "autocomplete": "off", "spellcheck": "true"}),
    )
    type = forms.ChoiceField(label=_("Type"), choices=ItemType.choices, initial=ItemType.STORY, required=False)
    position = forms.ChoiceField(
        label=_("Where"),
        choices=[("bottom", _("Bottom")), ("top", _("Top"))],
        initial="bottom",
        required=False,
        widget=forms.RadioSelect,
    )
    parent = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_titles(self) -> list[str]:
        lines = [BULLET.sub("", line).strip() for line in self.cleaned_data["titles"].splitlines()]
        titles = [line for line in lines if line]
        if not titles:
            raise forms.ValidationError(_("Type a title first."))
        if len(titles) > MAX_QUICK_ADD_LINES:
            raise forms.ValidationError(
                ngettext_lazy("Add at most %(limit)d item at once.", "Add at most %(limit)d items at once.", "limit"),
                params={"limit": MAX_QUICK_ADD_LINES},
            )
        for number, title in enumerate(titles, start=1):
            if len(title) > TITLE_LENGTH:
                raise forms.ValidationError(
                    _("Line %(line)d is longer than %(limit)d characters."),
                    params={"line": number, "limit": TITLE_LENGTH},
                )
        return titles

    def clean_type(self) -> str:
        return self.cleaned_data["type"] or ItemType.STORY

    def clean_position(self) -> str:
        return self.cleaned_data["position"] or "bottom"

    def clean_parent(self) -> str:
        return normalise_key(self.cleaned_data["parent"])


class EstimateForm(forms.Form):
    estimate = forms.ChoiceField(label=_("Estimate"), choices=estimate_choices(), required=False)


KEEP = ""
BULK_CLEAR = "none"


class BulkForm(forms.Form):
    """The same change on the selected items; empty fields leave that field as it is."""

    action = forms.ChoiceField(choices=[("update", _("Apply")), ("delete", _("Delete"))], initial="update")
    status = forms.ChoiceField(label=_("Status"), required=False)
    labels = forms.CharField(label=_("Labels"), required=False, max_length=500)
    labels_mode = forms.ChoiceField(
        label=_("How"),
        choices=[("add", _("Add labels")), ("replace", _("Replace labels")), ("remove", _("Remove labels"))],
        initial="add",
        required=False,
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    estimate = forms.ChoiceField(label=_("Estimate"), required=False)

    def __init__(self, *args, statuses, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.statuses = {str(status.pk): status for status in statuses}
        self.members = {str(user.pk): user for user in members}
        # The empty first choice names the field: the bar shows no separate labels.
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (KEEP, _("Status…")),
            *((pk, gettext(s.name)) for pk, s in self.statuses.items()),
        ]
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            (KEEP, _("Assignee…")),
            (BULK_CLEAR, _("Unassigned")),
            *((pk, user.get_full_name() or user.username) for pk, user in self.members.items()),
        ]
        cast(forms.ChoiceField, self.fields["estimate"]).choices = [
            (KEEP, _("Estimate…")),
            (BULK_CLEAR, _("No estimate")),
            *((value, value) for value in DEFAULT_SCALE),
        ]

    def changes(self) -> dict:
        """Status, assignee and estimate changes for services.bulk_update_items (labels apart)."""
        data = self.cleaned_data
        changes: dict = {}
        if data["status"]:
            changes["status"] = self.statuses[data["status"]]
        if data["assignee"]:
            changes["assignee"] = None if data["assignee"] == BULK_CLEAR else self.members[data["assignee"]]
        if data["estimate"]:
            changes["estimate"] = "" if data["estimate"] == BULK_CLEAR else data["estimate"]
        return changes

    def label_names(self) -> list[str]:
        return split_labels(self.cleaned_data["labels"])


def _on_item_form(field: forms.Field) -> None:
    # The item page lays its fields out in several cards; they all belong to one <form>.
    field.widget.attrs["form"] = ITEM_FORM_ID


class ItemForm(forms.Form):
    """Every field of an item; ``changes()`` gives only what really changed to services.update_item."""

    title = forms.CharField(label=_("Title"), max_length=TITLE_LENGTH, widget=forms.Textarea(attrs={"rows": 1}))
    description = forms.CharField(
        label=_("Description"),
        required=False,
        strip=False,  # kept as written: a trimmed copy would count as an edit on every save
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown: **bold**, _italic_, `code`, lists, [links](https://example.com)."),
    )
    status = forms.ChoiceField(label=_("Status"))
    done = forms.MultipleChoiceField(label=_("Definition of Done"), required=False, widget=forms.CheckboxSelectMultiple)
    override_reason = forms.CharField(
        label=_("Reason to finish without meeting the Definition of Done"),
        required=False,
        max_length=500,
    )
    type = forms.ChoiceField(label=_("Type"), choices=ItemType.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    estimate = forms.ChoiceField(label=_("Estimate"), required=False, choices=estimate_choices())
    parent = forms.CharField(
        label=_("Parent"), required=False, max_length=24, help_text=_("The key of an epic or story, e.g. SB-1.")
    )
    due_date = forms.DateField(label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    labels = forms.CharField(
        label=_("Labels"), required=False, max_length=1000, help_text=_("Separate labels with commas.")
    )
    ready = forms.BooleanField(label=_("Ready for a sprint"), required=False)

    def __init__(
        self,
        *args,
        item: BacklogItem,
        statuses,
        members,
        estimating_roles,
        can_edit: bool,
        can_estimate: bool,
        **kwargs,
    ):
        self.item = item
        self.statuses = {str(status.pk): status for status in statuses}
        self.members = {str(user.pk): user for user in members}
        if item.assignee_id and str(item.assignee_id) not in self.members:
            self.members[str(item.assignee_id)] = item.assignee  # a former member stays until changed
        # Epics are sized by their items, not per role.
        self.estimating_roles = [] if item.type == ItemType.EPIC else list(estimating_roles)
        kwargs.setdefault("initial", self._initial())
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (pk, gettext(status.name)) for pk, status in self.statuses.items()
        ]
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            ("", _("Unassigned")),
            *((pk, user.get_full_name() or user.username) for pk, user in self.members.items()),
        ]
        cast(forms.ChoiceField, self.fields["done"]).choices = [
            (str(i), entry["text"]) for i, entry in enumerate(item.done_checklist)
        ]
        for role in self.estimating_roles:
            self.fields[self.role_field(role)] = forms.ChoiceField(
                label=role.name, required=False, choices=estimate_choices(numbers_only=True)
            )
        for name, field in self.fields.items():
            estimating = name == "estimate" or name.startswith("points_")
            if not (can_estimate if estimating else can_edit):
                field.disabled = True
            _on_item_form(field)
        self.fields["title"].widget.attrs.update({"class": "title-input", "autocomplete": "off"})
        self.fields["parent"].widget.attrs.update(
            {"list": "parent-keys", "placeholder": f"{item.project.key}-1", "autocomplete": "off"}
        )

    @staticmethod
    def role_field(role) -> str:
        return f"points_{role.slug}"

    def role_fields(self) -> list:
        return [self[self.role_field(role)] for role in self.estimating_roles]

    def _initial(self) -> dict:
        item = self.item
        initial = {
            "title": item.title,
            "description": item.description,
            "status": str(item.status_id),
            "done": [str(i) for i, entry in enumerate(item.done_checklist) if entry.get("done")],
            "type": item.type,
            "priority": item.priority,
            "assignee": str(item.assignee_id or ""),
            "estimate": item.estimate,
            "parent": item.parent.key if item.parent else "",
            "due_date": item.due_date,
            "labels": ", ".join(label.name for label in item.labels.all()),
            "ready": item.ready,
        }
        for slug, value in (item.role_points or {}).items():
            initial[f"points_{slug}"] = value
        return initial

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())  # one line, however it was typed or pasted

    def clean_description(self) -> str:
        # Browsers send a textarea's line breaks as CRLF; stored text uses LF.
        return self.cleaned_data["description"].replace("\r\n", "\n")

    def clean_parent(self) -> BacklogItem | None:
        key = normalise_key(self.cleaned_data["parent"])
        if not key:
            return None
        if self.item.parent and key == self.item.parent.key:
            return self.item.parent
        parent = selectors.item_by_key(self.item.project, key)
        if parent is None:
            raise forms.ValidationError(_("No item %(key)s in this project."), params={"key": key})
        return parent

    def clean_labels(self) -> list[str]:
        names = split_labels(self.cleaned_data["labels"])
        for name in names:
            if len(name) > 50:
                raise forms.ValidationError(_("A label has at most 50 characters."))
        return names

    @property
    def needs_override(self) -> bool:
        """Show the reason field: the status was refused, or a reason was already typed."""
        return bool(self.is_bound and ("status" in self.errors or self.data.get("override_reason")))

    def changes(self) -> dict:
        """The fields whose value differs from the item's, as services.update_item takes them."""
        data, item = self.cleaned_data, self.item
        changes: dict = {}
        for name in ("title", "description", "type", "priority", "due_date", "ready"):
            if name in self.changed_data and data[name] != getattr(item, name):
                changes[name] = data[name]
        status = self.statuses[data["status"]]
        if status.pk != item.status_id:
            changes["status"] = status
        assignee = self.members.get(data["assignee"] or "")
        if (assignee.pk if assignee else None) != item.assignee_id:
            changes["assignee"] = assignee
        parent = data["parent"]
        if (parent.pk if parent else None) != item.parent_id:
            changes["parent"] = parent
        if sorted(data["labels"]) != sorted(label.name for label in item.labels.all()):
            changes["labels"] = data["labels"]
        done = set(data["done"])
        checklist = [{**entry, "done": str(i) in done} for i, entry in enumerate(item.done_checklist)]
        if checklist != item.done_checklist:
            changes["done_checklist"] = checklist
        role_points = {
            role.slug: data[self.role_field(role)] for role in self.estimating_roles if data[self.role_field(role)]
        }
        shown = {role.slug for role in self.estimating_roles}
        stored = {slug: value for slug, value in (item.role_points or {}).items() if slug in shown}
        if self.estimating_roles and role_points != stored:
            changes["role_points"] = role_points
            if not role_points:
                # Clearing the per-role points keeps the total shown as a plain estimate.
                changes["estimate"] = data["estimate"]
        if data["estimate"] != item.estimate and "role_points" not in changes:
            changes["estimate"] = data["estimate"]
        return changes


class CriterionForm(forms.Form):
    text = forms.CharField(label=_("New criterion"), max_length=500)


class LinkForm(forms.Form):
    kind = forms.ChoiceField(label=_("Link type"), choices=LinkKind.choices, initial=LinkKind.RELATES)
    target = forms.CharField(label=_("Item key"), max_length=24)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["target"].widget.attrs.update({"placeholder": f"{project.key}-1", "autocomplete": "off"})

    def clean_target(self) -> BacklogItem:
        key = normalise_key(self.cleaned_data["target"])
        item = selectors.item_by_key(self.project, key)
        if item is None:
            raise forms.ValidationError(_("No item %(key)s in this project."), params={"key": key})
        return item


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Markdown works; @username notifies a team member."),
    )
