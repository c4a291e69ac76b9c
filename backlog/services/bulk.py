"""The same change on many items, all or nothing."""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from backlog.models import (
    BacklogItem,
)
from projects.models import Project
from roles import policy
from roles.models import Permission

if TYPE_CHECKING:
    pass

from backlog.services.common import (
    KEEP,
    SPRINT_FIELD,
)
from backlog.services.items import delete_item, update_item
from backlog.services.moves import move_item

# --- bulk ------------------------------------------------------------------------------


BULK_FIELDS = frozenset({"status", "labels", "assignee", "estimate", SPRINT_FIELD})


@transaction.atomic
def bulk_update_items(*, project: Project, by, items: list[BacklogItem], changes: dict) -> list[BacklogItem]:
    """The same changes on several items, all or nothing."""
    unknown = set(changes) - BULK_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed in bulk.") for name in sorted(unknown)})
    for item in items:
        if item.project_id != project.pk:
            raise ValidationError(_("Every item must be in this project."))
        fields = dict(changes)
        sprint = fields.pop(SPRINT_FIELD, KEEP)
        try:
            if fields:
                update_item(item=item, by=by, **fields)
            if sprint is not KEEP:
                move_item(item=item, by=by, sprint=sprint)
        except ValidationError as exc:  # say which item refused, or a bulk error is a riddle
            raise ValidationError([f"{item.key}: {message}" for message in exc.messages]) from exc
    return items


@transaction.atomic
def bulk_delete_items(*, project: Project, by, items: list[BacklogItem]) -> int:
    policy.require(by, project, Permission.EDIT_BACKLOG)
    for item in items:
        if item.project_id != project.pk:
            raise ValidationError(_("Every item must be in this project."))
        delete_item(item=item, by=by)
    return len(items)
