"""Permission-matrix rows for the roadmap's API routes (see tests/matrix.py).

Every member reads (stakeholders included); every write takes "manage roadmap" (Scrum Master,
Product Owner, System Analyst; administrators). The Backend Developer lacks it: 403.
"""

import datetime

from backlog.services import create_item
from roadmap import services
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, manage, members

START = datetime.date(2026, 3, 1)
END = datetime.date(2026, 3, 31)


def _roadmap(project, by) -> tuple[Phase, Milestone, Release]:
    """A phase, a milestone and release 1.0.0 (with an item SB-1 linked), made once per test."""
    phase = Phase.objects.filter(project=project).first()
    if phase is None:
        phase = services.create_phase(project=project, by=by, name="Month 1", start_date=START, end_date=END)
        services.create_milestone(project=project, by=by, name="Demo", date=END, phase=phase)
        release = services.create_release(project=project, by=by, version="1.0.0", target_date=END)
        item = create_item(project=project, by=by, title="Sign in")
        services.link_items(target=release, by=by, add=[item])
        services.link_items(target=phase, by=by, add=[item])
    return phase, Milestone.objects.get(project=project), Release.objects.get(project=project, version="1.0.0")


def _item_key(ctx: Ctx) -> str:
    """A second item to link (SB-2)."""
    item = create_item(project=ctx.project, by=ctx.admin, title="Sign out")
    return item.key


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def with_roadmap(ctx: Ctx) -> dict:
    _roadmap(ctx.project, ctx.admin)
    return project_key(ctx)


def phase(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": _roadmap(ctx.project, ctx.admin)[0].pk}


def milestone(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": _roadmap(ctx.project, ctx.admin)[1].pk}


def release(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": _roadmap(ctx.project, ctx.admin)[2].pk}


ROADMAP_ROWS: list[Row] = [
    Row("api:roadmap", "GET", with_roadmap, members(200)),
    Row("api:roadmap-template", "POST", project_key, manage(201), data=lambda ctx: {"start": "2026-03-01"}),
    Row("api:roadmap-phase-list", "GET", with_roadmap, members(200)),
    Row(
        "api:roadmap-phase-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"name": "Month 2", "start_date": "2026-04-01", "end_date": "2026-04-30"},
    ),
    Row("api:roadmap-phase-detail", "GET", phase, members(200)),
    Row("api:roadmap-phase-detail", "PATCH", phase, manage(200), data=lambda ctx: {"goal": "Architecture"}),
    Row("api:roadmap-phase-detail", "DELETE", phase, manage(204)),
    Row("api:roadmap-phase-items", "POST", phase, manage(200), data=lambda ctx: {"add": [_item_key(ctx)]}),
    Row("api:roadmap-milestone-list", "GET", with_roadmap, members(200)),
    Row(
        "api:roadmap-milestone-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"name": "MVP demo", "date": "2026-04-30"},
    ),
    Row("api:roadmap-milestone-detail", "GET", milestone, members(200)),
    Row("api:roadmap-milestone-detail", "PATCH", milestone, manage(200), data=lambda ctx: {"done": True}),
    Row("api:roadmap-milestone-detail", "DELETE", milestone, manage(204)),
    Row("api:roadmap-release-list", "GET", with_roadmap, members(200)),
    Row(
        "api:roadmap-release-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"version": "1.1.0", "target_date": "2026-06-30"},
    ),
    Row("api:roadmap-release-detail", "GET", release, members(200)),
    Row("api:roadmap-release-detail", "PATCH", release, manage(200), data=lambda ctx: {"name": "First"}),
    Row("api:roadmap-release-detail", "DELETE", release, manage(204)),
    Row("api:roadmap-release-items", "POST", release, manage(200), data=lambda ctx: {"add": [_item_key(ctx)]}),
    Row("api:roadmap-release-release", "POST", release, manage(200), data=lambda ctx: {}),
    Row("api:roadmap-release-notes", "GET", release, members(200)),
]


# --- foreign ids: XX's roadmap through SB's URLs ------------------------------------------------


def _foreign(team) -> tuple[Phase, Milestone, Release]:
    """XX's roadmap, while SB has one too: an id lookup without the project would find the wrong one."""
    _roadmap(team.project, team.admin)
    other = make_project(key="XX")
    return _roadmap(other, other.memberships.get().user)


def _links(release: Release) -> tuple:
    return (
        Release.objects.filter(pk=release.pk).values().first(),
        tuple(ReleaseItem.objects.filter(release=release).values_list("item_id", "released")),
    )


def _phase_links(phase: Phase) -> tuple:
    return Phase.objects.filter(pk=phase.pk).values().first(), tuple(phase.items.values_list("pk", flat=True))


FOREIGN = {
    "api:roadmap-phase-detail": Foreign(lambda team: _foreign(team)[0], {"name": "Hijacked"}, state=_phase_links),
    "api:roadmap-phase-items": Foreign(lambda team: _foreign(team)[0], {"remove": ["XX-1"]}, state=_phase_links),
    "api:roadmap-milestone-detail": Foreign(lambda team: _foreign(team)[1], {"name": "Hijacked", "done": True}),
    "api:roadmap-release-detail": Foreign(lambda team: _foreign(team)[2], {"name": "Hijacked"}, state=_links),
    "api:roadmap-release-items": Foreign(lambda team: _foreign(team)[2], {"remove": ["XX-1"]}, state=_links),
    "api:roadmap-release-release": Foreign(lambda team: _foreign(team)[2], {}, state=_links),
    "api:roadmap-release-notes": Foreign(lambda team: _foreign(team)[2], state=_links),
}
