"""Signal receivers: how domain apps reach the outbox without importing it."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Kind
from notifications.services import notify


def comment_mentions_changed(sender, instance, action, pk_set, **kwargs) -> None:
    """Members newly mentioned in a comment get a ``mention`` notification (once per comment)."""
    if action != "post_add" or not pk_set or kwargs.get("reverse"):
        return
    from django.contrib.auth import get_user_model

    comment = instance
    item = comment.item
    project = item.project
    author = comment.author
    users = get_user_model().objects.filter(pk__in=pk_set, is_active=True).exclude(pk=comment.author_id)
    title = _("%(author)s mentioned you on %(key)s") % {
        "author": author.get_full_name() or author.username if author else "?",
        "key": item.key,
    }
    url = reverse("backlog:item", kwargs={"key": project.key, "item_key": item.key})
    for user in users:
        notify(
            recipient=user,
            kind=Kind.MENTION,
            subject=f"comment:{comment.pk}",
            local_date=timezone.localdate(comment.created_at, timezone=project.tzinfo),
            title=title,
            body=comment.body[:500],
            url=url,
            project=project,
            payload={"comment": comment.pk, "item": item.key},
        )
