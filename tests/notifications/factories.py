import datetime

from notifications.models import Kind
from notifications.services import notify


def make_notifications(user, count: int, *, project=None, start: int = 0) -> list:
    """``count`` in-app (and e-mail) notifications for ``user``; returns the in-app rows, oldest first."""
    rows = []
    for number in range(start, start + count):
        written = notify(
            recipient=user,
            kind=Kind.MENTION,
            subject=f"comment:{number}",
            local_date=datetime.date(2026, 3, 3),
            title=f"Mention {number}",
            url="/projects/SB/",
            project=project,
        )
        rows += [row for row in written if row.channel == "in_app"]
    return rows
