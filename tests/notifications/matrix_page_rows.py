"""Permission-matrix rows for the inbox and settings pages (see tests/matrix_pages.py): every logged-in user has one."""

from tests.matrix import Row, no_kwargs
from tests.matrix_pages import everyone
from tests.notifications.matrix_rows import with_notifications


def settings_form(ctx) -> dict:
    return {"mention__in_app": "on", "quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"}


PAGE_ROWS: list[Row] = [
    Row("notifications:inbox", "GET", with_notifications, everyone(200)),
    Row("notifications:mark_read", "POST", with_notifications, everyone(302), data=lambda ctx: {"all": "1"}),
    Row("notifications:unread", "GET", with_notifications, everyone(200)),
    Row("notifications:mark_read", "GET", no_kwargs, everyone(405, anonymous=405)),
    Row("notifications:settings", "GET", no_kwargs, everyone(200)),
    Row("notifications:settings", "POST", no_kwargs, everyone(302), data=settings_form),
]
