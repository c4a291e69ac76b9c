"""The reminder schedule: what ``tick`` writes to the outbox."""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from notifications import selectors
from notifications.models import Kind
from notifications.services import notify


def send_due_reminders(now: datetime.datetime | None = None) -> int:
    """Every reminder due at ``now``; returns how many rows were written (0 when already sent)."""
    now = now or timezone.now()
    written = 0
    for due in selectors.daily_scrums_due(now):
        project = due.project
        minutes = max(1, round((due.starts_at - now).total_seconds() / 60))
        title = _("Daily scrum of %(key)s starts in %(minutes)d min") % {"key": project.key, "minutes": minutes}
        body = formats.time_format(due.starts_at.time(), "H:i") + f" ({project.timezone})"
        url = reverse("standups:day", kwargs={"key": project.key, "date": due.day.isoformat()})
        with transaction.atomic():
            for user in due.recipients:
                written += len(
                    notify(
                        recipient=user,
                        kind=Kind.DAILY_SCRUM_SOON,
                        subject=f"standup:{project.key}:{due.day.isoformat()}",
                        local_date=due.day,
                        title=title,
                        body=body,
                        url=url,
                        project=project,
                        payload={"project": project.key, "date": due.day.isoformat()},
                    )
                )
    return written
