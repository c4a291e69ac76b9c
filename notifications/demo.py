"""The demo's notifications: what the replayed history wrote before today counts as delivered and read."""

import datetime

from django.db.models import F

from notifications.models import Notification, State
from projects.models import Project


def settle_history(project: Project, now: datetime.datetime) -> int:
    """Marks rows written before the project's today sent and read; today's stay for the worker and the bell.

    Without it, loading the demo would mail every member about each past daily scrum and sprint.
    """
    local = now.astimezone(project.tzinfo)
    start_of_today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return Notification.objects.filter(project=project, created_at__lt=start_of_today).update(
        state=State.SENT, sent_at=F("created_at"), read_at=F("created_at")
    )
