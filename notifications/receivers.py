"""Signal receivers: how domain apps reach the outbox without importing it.

Every signal here is sent inside the transaction that caused it, so the outbox rows
commit (or roll back) with the change; delivery is queued after the commit.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind
from notifications.services import Message, notify_many
from roles.models import Membership


def _members(project) -> list:
    memberships = Membership.objects.filter(project=project, user__is_active=True).select_related("user")
    return [m.user for m in memberships.order_by("user__username")]


def comment_mentions_changed(sender, instance, action, pk_set, **kwargs) -> None:
    """Members newly mentioned in a comment get a ``mention`` notification (once per comment)."""
    if action != "post_add" or not pk_set or kwargs.get("reverse"):
        return
    comment = instance
    item = comment.item
    project = item.project
    author = comment.author
    users = get_user_model().objects.filter(pk__in=pk_set, is_active=True).exclude(pk=comment.author_id)
    url = reverse("backlog:item", kwargs={"key": project.key, "item_key": item.key})
    payload = {
        "project": project.key,
        "comment": comment.pk,
        "item": item.key,
        "author": (author.get_full_name() or author.username) if author else "?",
    }
    day = timezone.localdate(comment.created_at, timezone=project.tzinfo)
    notify_many(
        Message(user, Kind.MENTION, f"comment:{comment.pk}", day, project, url, payload, body=comment.body[:500])
        for user in users
    )


def sprint_completed(sender, sprint, **kwargs) -> None:
    """The whole team: the sprint is over, its review and retrospective are due."""
    project = sprint.project
    day = timezone.localdate(sprint.completed_at or timezone.now(), timezone=project.tzinfo)
    url = reverse("sprints:review", kwargs={"key": project.key, "pk": sprint.pk})
    payload = {"project": project.key, "sprint": sprint.name}
    subject = f"sprint:{sprint.pk}"
    notify_many(
        Message(user, Kind.RETROSPECTIVE_DUE, subject, day, project, url, payload) for user in _members(project)
    )


def daily_scrum_ended(sender, meeting, **kwargs) -> None:
    """The daily scrum's summary to every member: who reported, who did not, impediments raised."""
    project = meeting.project
    summary = meeting.summary or {}
    reported, missing = summary.get("reported", []), summary.get("missing", [])
    url = reverse("standups:summary", kwargs={"key": project.key, "date": meeting.date.isoformat()})
    payload = {
        "project": project.key,
        "date": meeting.date.isoformat(),
        "reported": len(reported),
        "team": len(reported) + len(missing),
        "missing": missing,
        "raised": len(summary.get("raised", [])),
    }
    subject = f"standup:{project.key}:{meeting.date.isoformat()}"
    notify_many(
        Message(user, Kind.STANDUP_SUMMARY, subject, meeting.date, project, url, payload) for user in _members(project)
    )
