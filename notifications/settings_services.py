"""Writes: a user's notification settings (channels per kind, quiet hours, working hours, language) at once."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from notifications import services
from notifications.models import NotificationSettings

SETTINGS_FIELDS = ("quiet_from", "quiet_to", "timezone", "work_from", "work_to", "work_days", "language")

BOTH_QUIET_ENDS = _("Give both ends of the quiet hours, or neither.")
BOTH_WORK_ENDS = _("Give both ends of the working hours, or neither.")
WORK_ENDS_AFTER_START = _("Working hours must end after they start.")


def _pairs_errors(row: NotificationSettings) -> dict[str, list]:
    """Both-or-neither and start-before-end, keyed by the field a form shows them on."""
    errors: dict[str, list] = {}
    if (row.quiet_from is None) != (row.quiet_to is None):
        errors["quiet_to"] = [BOTH_QUIET_ENDS]
    if (row.work_from is None) != (row.work_to is None):
        errors["work_to"] = [BOTH_WORK_ENDS]
    elif row.work_from is not None and row.work_to is not None and row.work_from >= row.work_to:
        errors["work_to"] = [WORK_ENDS_AFTER_START]
    return errors


def set_settings(*, user, preferences: Iterable[dict] = (), **changes: Any) -> NotificationSettings:
    """Changes the named settings fields and the given per-kind channel choices, all or nothing.

    ``changes`` are NotificationSettings fields (``quiet_from``, ``timezone``, ``work_days`` ...);
    fields not named keep their value. Raises ValidationError (keyed by field) and writes nothing
    when the result is not valid.
    """
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not notification settings: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        row = NotificationSettings.objects.select_for_update().filter(user=user).first()
        row = row or NotificationSettings(user=user)
        if changes:
            _apply(row, changes)
            row.save()
        services.set_preferences(user=user, preferences=preferences)
    return row


def _apply(row: NotificationSettings, changes: dict) -> None:
    """Sets ``changes`` on ``row`` and validates it; raises ValidationError keyed by field."""
    for name, value in changes.items():
        setattr(row, name, value)
    if isinstance(row.work_days, list) and all(type(day) is int for day in row.work_days):
        row.work_days = sorted(set(row.work_days))
    errors = _pairs_errors(row)
    try:
        # The check constraint on working hours says what _pairs_errors already said, on no field.
        row.full_clean(exclude=["user"], validate_constraints=not errors)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
