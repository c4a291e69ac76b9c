"""Permission-matrix rows for the roadmap's pages (collected by tests/matrix_pages.py).

Every member reads the timeline, a phase's and a milestone's page (read-only without the right) and
a release's page; every form and post takes "manage roadmap". A successful post redirects (302).
"""

from tests.matrix import Row
from tests.matrix_pages import manage, members
from tests.roadmap.matrix_rows import _item_key, milestone, phase, project_key, release, with_roadmap


def _phase_data(ctx) -> dict:
    return {"name": "Month 2", "start_date": "2026-04-01", "end_date": "2026-04-30", "status": "planned"}


def _release_data(ctx) -> dict:
    return {"version": "1.1.0", "target_date": "2026-06-30", "status": "planned", "item_keys": _item_key(ctx)}


PAGE_ROWS: list[Row] = [
    Row("roadmap:timeline", "GET", with_roadmap, members(200)),
    Row("roadmap:template", "POST", project_key, manage(302), data=lambda ctx: {"start": "2026-03-01"}),
    Row("roadmap:phase_create", "GET", project_key, manage(200)),
    Row("roadmap:phase_create", "POST", project_key, manage(302), data=_phase_data),
    Row("roadmap:phase", "GET", phase, members(200)),
    Row("roadmap:phase", "POST", phase, manage(302), data=lambda ctx: {**_phase_data(ctx), "name": "Month 1"}),
    Row("roadmap:phase_delete", "POST", phase, manage(302)),
    Row("roadmap:milestone_create", "GET", project_key, manage(200)),
    Row(
        "roadmap:milestone_create",
        "POST",
        project_key,
        manage(302),
        data=lambda ctx: {"name": "MVP demo", "date": "2026-04-30"},
    ),
    Row("roadmap:milestone", "GET", milestone, members(200)),
    Row("roadmap:milestone", "POST", milestone, manage(302), data=lambda ctx: {"name": "Demo", "date": "2026-03-31"}),
    Row("roadmap:milestone_delete", "POST", milestone, manage(302)),
    Row("roadmap:release_create", "GET", project_key, manage(200)),
    Row("roadmap:release_create", "POST", project_key, manage(302), data=_release_data),
    Row("roadmap:release", "GET", release, members(200)),
    Row("roadmap:release_edit", "GET", release, manage(200)),
    Row(
        "roadmap:release_edit", "POST", release, manage(302), data=lambda ctx: {"version": "1.0.0", "status": "planned"}
    ),
    Row("roadmap:release_notes", "POST", release, manage(302), data=lambda ctx: {"notes": "# 1.0.0\n"}),
    Row("roadmap:release_ship", "POST", release, manage(302), data=lambda ctx: {"released_on": "2026-03-31"}),
    Row("roadmap:release_delete", "POST", release, manage(302)),
]
