"""Comments with mentions, and links between items."""

import re
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog.models import (
    BacklogItem,
    Comment,
    ItemLink,
    LinkKind,
)
from projects.models import Project
from roles import policy
from roles.models import Permission

if TYPE_CHECKING:
    pass


MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


# --- comments --------------------------------------------------------------------------


def mentioned_members(project: Project, body: str) -> list:
    names = {match.group(1).rstrip(".").lower() for match in MENTION.finditer(body)}
    if not names:
        return []
    members = get_user_model().objects.filter(memberships__project=project)
    return [user for user in members if user.get_username().lower() in names]


@transaction.atomic
def add_comment(*, item: BacklogItem, by, body: str) -> Comment:
    policy.require(by, item.project, Permission.COMMENT)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    comment = Comment.objects.create(item=item, author=by, body=body)
    mentions = mentioned_members(item.project, body)
    if mentions:
        comment.mentions.set(mentions)
    return comment


def edit_comment(*, comment: Comment, by, body: str) -> Comment:
    if comment.author_id != by.pk:
        raise PermissionDenied(_("Only the author can edit a comment."))
    policy.require(by, comment.item.project, Permission.COMMENT)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    comment.mentions.set(mentioned_members(comment.item.project, body))
    return comment


def delete_comment(*, comment: Comment, by) -> None:
    project = comment.item.project
    if comment.author_id != by.pk:
        policy.require(by, project, policy.ADMINISTER)
    else:
        policy.require(by, project, Permission.COMMENT)
    comment.delete()


# --- links -----------------------------------------------------------------------------


def link_items(*, source: BacklogItem, target: BacklogItem, kind: str, by) -> ItemLink:
    policy.require(by, source.project, Permission.EDIT_BACKLOG)
    if source.project_id != target.project_id:
        raise ValidationError({"target": _("Link items of the same project.")})
    if source.pk == target.pk:
        raise ValidationError({"target": _("An item cannot link to itself.")})
    if kind not in LinkKind.values:
        raise ValidationError({"kind": _("Unknown link kind.")})
    link, _created = ItemLink.objects.get_or_create(source=source, target=target, kind=kind)
    return link


def unlink_items(*, link: ItemLink, by) -> None:
    policy.require(by, link.source.project, Permission.EDIT_BACKLOG)
    link.delete()
