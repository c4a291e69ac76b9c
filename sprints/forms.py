"""The sprint pages' forms: they check input; the views hand it to sprints.services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from sprints.models import GoalOutcome, Sprint
from sprints.services import Unfinished

NAME_LENGTH: int = Sprint._meta.get_field("name").max_length or 100
FEEDBACK_TITLE_LENGTH = 255


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class SprintForm(forms.Form):
    """A new sprint, or a planned one's name, goal and dates."""

    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH, required=False)
    goal = forms.CharField(
        label=_("Sprint goal"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this sprint is worth doing: one objective the team commits to."),
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())

    def __init__(self, *args, start_fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if start_fixed:  # an active sprint's start belongs to its commitment
            self.fields["start_date"].disabled = True

    def clean(self) -> dict:
        data = self.cleaned_data
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The sprint must end on or after its start date."))
        return data

    def changes(self, sprint: Sprint) -> dict:
        """The fields that differ from the sprint's, for services.update_sprint."""
        data = self.cleaned_data
        wanted = {
            "name": data["name"].strip() or sprint.name,
            "goal": data["goal"].strip(),
            "start_date": data["start_date"],
            "end_date": data["end_date"],
        }
        return {field: value for field, value in wanted.items() if getattr(sprint, field) != value}


class GoalForm(forms.Form):
    goal = forms.CharField(label=_("Sprint goal"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DaysOffForm(forms.Form):
    """One number per Developer: their days away during the sprint."""

    def __init__(self, *args, members: list, working_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        for member in members:
            self.fields[self.field_name(member.membership.user_id)] = forms.IntegerField(
                label=member.membership.user.get_full_name() or member.membership.user.get_username(),
                min_value=0,
                max_value=working_days,
                initial=member.days_off,
                widget=forms.NumberInput(attrs={"class": "days-input", "inputmode": "numeric"}),
            )

    @staticmethod
    def field_name(user_id: int) -> str:
        return f"days_{user_id}"

    def rows(self) -> list[tuple]:
        """(member capacity, bound field) per Developer, for the capacity table."""
        return [(member, self[self.field_name(member.membership.user_id)]) for member in self.members]

    def changes(self) -> list[tuple]:
        """(user, days) for each member whose days off changed."""
        return [
            (member.membership.user, self.cleaned_data[self.field_name(member.membership.user_id)])
            for member in self.members
            if self.cleaned_data[self.field_name(member.membership.user_id)] != member.days_off
        ]


class CompleteForm(forms.Form):
    unfinished = forms.ChoiceField(
        label=_("Unfinished items go"),
        choices=[
            (Unfinished.BACKLOG, _("Back to the top of the product backlog")),
            (Unfinished.NEXT_SPRINT, _("Into the next sprint")),
        ],
        initial=Unfinished.BACKLOG,
        widget=forms.RadioSelect,
    )


class GoalOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Was the sprint goal met?"),
        choices=[("", _("Not decided yet")), *GoalOutcome.choices],
        required=False,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What made the difference?")}),
    )


class FeedbackForm(forms.Form):
    title = forms.CharField(label=_("Feedback"), max_length=FEEDBACK_TITLE_LENGTH)
    description = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ForecastForm(forms.Form):
    points = forms.DecimalField(
        label=_("Points to finish"),
        min_value=Decimal(0),
        max_value=Decimal(1_000_000),
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class ColumnLimitsForm(forms.Form):
    """A work-in-progress limit per board column (the project's statuses); empty means none."""

    def __init__(self, *args, statuses, **kwargs):
        super().__init__(*args, **kwargs)
        self.statuses = list(statuses)
        for status in self.statuses:
            self.fields[self.field_name(status)] = forms.IntegerField(
                label=status.name, required=False, min_value=1, max_value=999, initial=status.wip_limit
            )

    @staticmethod
    def field_name(status) -> str:
        return f"limit_{status.pk}"

    def changed_limits(self) -> list[tuple]:
        """(status, new limit) for each column whose limit the form changes."""
        return [
            (status, self.cleaned_data[self.field_name(status)])
            for status in self.statuses
            if self.cleaned_data[self.field_name(status)] != status.wip_limit
        ]
