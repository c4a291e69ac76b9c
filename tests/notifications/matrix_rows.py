"""Permission-matrix rows for the notification API (see tests/matrix.py).

Per-user routes, not under a project: every logged-in user reads and changes their own
notifications and preferences; anonymous callers get 401.
"""

from tests.matrix import Ctx, Row, everyone, no_kwargs
from tests.notifications.factories import make_notifications


def with_notifications(ctx: Ctx) -> dict:
    if ctx.user is not None:
        make_notifications(ctx.user, 2, project=ctx.project)
    return {}


API_ROWS: list[Row] = [
    Row("api:notification-list", "GET", with_notifications, everyone(200)),
    Row("api:notification-mark-read", "POST", with_notifications, everyone(200), data=lambda ctx: {"all": True}),
    Row("api:notification-preferences", "GET", no_kwargs, everyone(200)),
    Row(
        "api:notification-preferences",
        "PUT",
        no_kwargs,
        everyone(200),
        data=lambda ctx: {
            "preferences": [{"kind": "mention", "channel": "email", "enabled": False}],
            "quiet_hours": {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"},
        },
    ),
    Row(
        "api:notification-preferences",
        "PATCH",
        no_kwargs,
        everyone(200),
        data=lambda ctx: {"preferences": [{"kind": "mention", "channel": "email", "enabled": False}]},
    ),
]
