"""Permission-matrix rows for the inbox page (see tests/matrix_pages.py): every logged-in user has one."""

from tests.matrix import Row, no_kwargs
from tests.matrix_pages import everyone
from tests.notifications.matrix_rows import with_notifications

PAGE_ROWS: list[Row] = [
    Row("notifications:inbox", "GET", with_notifications, everyone(200)),
    Row("notifications:mark_read", "POST", with_notifications, everyone(302), data=lambda ctx: {"all": "1"}),
    Row("notifications:unread", "GET", with_notifications, everyone(200)),
    Row("notifications:mark_read", "GET", no_kwargs, everyone(405, anonymous=405)),
]
