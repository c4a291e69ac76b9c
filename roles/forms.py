from typing import cast

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from roles.models import Permission


def role_choices(roles) -> list[tuple[str, str]]:
    """Choices from an already loaded list of roles, names translated (no query per render)."""
    return [(str(role.pk), gettext(role.name)) for role in roles]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    role = forms.TypedChoiceField(label=_("Role"), coerce=int)

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles = {role.pk: role for role in roles}
        cast(forms.TypedChoiceField, self.fields["role"]).choices = [("", _("Choose a role…")), *role_choices(roles)]

    def clean_role(self):
        return self.roles[self.cleaned_data["role"]]


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=Permission.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every role can view the project."),
    )
    estimates_points = forms.BooleanField(
        label=_("Has its own estimate"),
        required=False,
        help_text=_("Items get a separate estimate for this role, as for backend, frontend and DevOps work."),
    )


class SignupForm(UserCreationForm):
    """A new account for an invited address: the e-mail comes from the invitation, not the form."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "name")

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.email = email  # the password checks compare against it
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.order_fields(["name", "username", "password1", "password2"])
        self.fields["name"].widget.attrs["autofocus"] = True

    def clean(self):
        cleaned = super().clean() or {}
        first, _sep, last = (cleaned.get("name") or "").strip().partition(" ")
        self.instance.first_name, self.instance.last_name = first, last.strip()
        return cleaned
