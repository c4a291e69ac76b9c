"""Permission-matrix rows for the daily scrum's pages (see tests/matrix_pages.py).

As in the API: members read, team roles write their own entry and handle impediments,
"run the daily scrum" facilitates. A successful form post redirects (302).
"""

from tests.matrix import Row
from tests.matrix_pages import editors, manage, members
from tests.standups.matrix_rows import day, impediment, project_key, project_with_meeting, running_day

PAGE_ROWS: list[Row] = [
    Row("standups:today", "GET", project_with_meeting, members(200)),
    Row("standups:history", "GET", project_with_meeting, members(200)),
    Row("standups:export", "GET", project_with_meeting, members(200)),
    Row("standups:day", "GET", day, members(200)),
    Row("standups:entry", "POST", day, editors(302), data=lambda ctx: {"done": "Pages", "next": "More"}),
    Row("standups:facilitate", "GET", day, manage(200)),
    Row("standups:start", "POST", day, manage(302), data=lambda ctx: {"order": "by_role"}),
    Row(
        "standups:attendance",
        "POST",
        running_day,
        manage(302),
        data=lambda ctx: {"member": ctx.developer.pk, "present": "0"},
    ),
    Row("standups:end", "POST", day, manage(302)),
    Row("standups:summary", "GET", day, members(200)),
    Row("standups:impediments", "GET", project_key, members(200)),
    Row("standups:impediments", "POST", project_key, editors(302), data=lambda ctx: {"description": "No server"}),
    Row("standups:resolve", "POST", impediment, editors(302)),
    Row("standups:hand_over", "POST", impediment, editors(302), data=lambda ctx: {"owner": ctx.scrum_master.username}),
]
