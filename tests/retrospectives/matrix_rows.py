"""Permission-matrix rows for the retrospectives' API routes (see tests/matrix.py).

Every member reads (stakeholders included). Members who may comment write their own cards,
votes, notes and health ratings; the facilitation (phases, groups, action items, creating a
retrospective) takes "run retrospective" (Scrum Master, Product Owner; administrators).
"""

from retrospectives import services
from retrospectives.models import (
    PHASES,
    ActionItem,
    Card,
    CardGroup,
    DiscussionNote,
    HealthRating,
    Phase,
    Retrospective,
    Vote,
)
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, editors, manage, members

WRITERS = ("developer", "scrum_master", "admin")


def _move(retro: Retrospective, phase: str, by) -> Retrospective:
    while retro.phase_index < PHASES.index(phase):
        retro = services.advance_phase(retro=retro, by=by)
    return retro


def _retro(ctx: Ctx, phase: str = Phase.REVIEW, *, health_check: bool = False) -> Retrospective:
    """One retrospective per test with two cards (the developer's and the Product Owner's), moved to ``phase``."""
    retro = Retrospective.objects.filter(project=ctx.project).first()
    if retro is None:
        retro = services.create_retrospective(project=ctx.project, by=ctx.scrum_master, health_check=health_check)
        retro = _move(retro, Phase.WRITE, ctx.scrum_master)
        services.add_card(retro=retro, by=ctx.developer, column="to_improve", text="Flaky tests")
        services.add_card(retro=retro, by=ctx.product_owner, column="to_improve", text="Slow pipeline")
    return _move(retro, phase, ctx.scrum_master)


def _writer(ctx: Ctx):
    """The acting persona when they may write cards, else the developer."""
    return ctx.user if ctx.persona in WRITERS else ctx.developer


def at(phase: str, **options):
    return lambda ctx: {"key": ctx.project.key, "pk": _retro(ctx, phase, **options).pk}


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def project_with(phase: str, **options):
    """Only the project's key, once it has a retrospective in ``phase``."""

    def kwargs(ctx: Ctx) -> dict:
        _retro(ctx, phase, **options)
        return project_key(ctx)

    return kwargs


def own_card(ctx: Ctx) -> dict:
    retro = _retro(ctx, Phase.WRITE)
    card = services.add_card(retro=retro, by=_writer(ctx), column="ideas", text="Mine")
    return {"key": ctx.project.key, "pk": retro.pk, "card_id": card.pk}


def voted(ctx: Ctx) -> dict:
    """The vote phase, with a vote of the acting writer on the developer's card."""
    retro = _retro(ctx, Phase.VOTE)
    services.cast_vote(retro=retro, by=_writer(ctx), card=_card(ctx))
    return {"key": ctx.project.key, "pk": retro.pk}


def _card(ctx: Ctx) -> Card:
    return Card.objects.get(retrospective__project=ctx.project, text="Flaky tests")


def group(ctx: Ctx) -> dict:
    retro = _retro(ctx, Phase.GROUP)
    cards = list(Card.objects.filter(retrospective=retro))
    made = services.group_cards(retro=retro, by=ctx.scrum_master, cards=cards, title="CI")
    return {"key": ctx.project.key, "pk": retro.pk, "group_id": made.pk}


def action(ctx: Ctx) -> dict:
    retro = _retro(ctx, Phase.ACTIONS)
    made = services.add_action_item(retro=retro, by=ctx.scrum_master, text="Quarantine flaky tests")
    return {"key": ctx.project.key, "pk": retro.pk, "action_id": made.pk}


RETROSPECTIVES_ROWS: list[Row] = [
    Row("api:retrospective-list", "GET", project_with(Phase.REVIEW), members(200)),
    Row(
        "api:retrospective-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"template": "mad_sad_glad", "anonymous": True},
    ),
    Row("api:retrospective-health-trend", "GET", project_with(Phase.REVIEW, health_check=True), members(200)),
    Row("api:retrospective-detail", "GET", at(Phase.WRITE), members(200)),
    Row("api:retrospective-detail", "PATCH", at(Phase.WRITE), manage(200), data=lambda ctx: {"phase": "group"}),
    Row("api:retrospective-card-list", "GET", at(Phase.WRITE), members(200)),
    Row(
        "api:retrospective-card-list",
        "POST",
        at(Phase.WRITE),
        editors(201),
        data=lambda ctx: {"column": "ideas", "text": "Demo earlier"},
    ),
    Row("api:retrospective-card-detail", "PATCH", own_card, editors(200), data=lambda ctx: {"text": "Edited"}),
    Row("api:retrospective-card-detail", "DELETE", own_card, editors(204)),
    Row("api:retrospective-votes", "GET", at(Phase.VOTE), members(200)),
    Row("api:retrospective-votes", "POST", at(Phase.VOTE), editors(201), data=lambda ctx: {"card": _card(ctx).pk}),
    Row("api:retrospective-votes", "DELETE", voted, editors(200), data=lambda ctx: {"card": _card(ctx).pk}),
    Row("api:retrospective-group-list", "GET", at(Phase.GROUP), members(200)),
    Row(
        "api:retrospective-group-list",
        "POST",
        at(Phase.GROUP),
        manage(201),
        data=lambda ctx: {"cards": list(Card.objects.values_list("pk", flat=True)), "title": "CI"},
    ),
    Row("api:retrospective-group-detail", "PATCH", group, manage(200), data=lambda ctx: {"title": "Pipeline"}),
    Row("api:retrospective-group-detail", "DELETE", group, manage(204)),
    Row("api:retrospective-notes", "GET", at(Phase.DISCUSS), members(200)),
    Row(
        "api:retrospective-notes",
        "POST",
        at(Phase.DISCUSS),
        editors(201),
        data=lambda ctx: {"text": "Quarantine them", "card": _card(ctx).pk},
    ),
    Row("api:retrospective-action-list", "GET", at(Phase.ACTIONS), members(200)),
    Row(
        "api:retrospective-action-list",
        "POST",
        at(Phase.ACTIONS),
        manage(201),
        data=lambda ctx: {"text": "Fix CI", "owner": ctx.developer.username, "due_date": "2030-01-31"},
    ),
    Row("api:retrospective-action-detail", "PATCH", action, manage(200), data=lambda ctx: {"text": "Fix CI now"}),
    Row("api:retrospective-action-detail", "DELETE", action, manage(204)),
    Row("api:retrospective-health", "GET", at(Phase.REVIEW, health_check=True), members(200)),
    Row(
        "api:retrospective-health",
        "POST",
        at(Phase.REVIEW, health_check=True),
        editors(201),
        data=lambda ctx: {"statement": "fun", "score": 4},
    ),
    Row("api:retrospective-export", "GET", at(Phase.DISCUSS), members(200)),
]


# --- foreign ids: XX's retrospective and its parts through SB's URLs ---------------------------


def _foreign_retro(team, phase: str = Phase.WRITE) -> Retrospective:
    """XX's retrospective (with a card), while SB has one too: an id lookup without the project finds the wrong one."""
    services.create_retrospective(project=team.project, by=team.admin)
    other = make_project(key="XX")
    owner = other.memberships.get().user
    retro = services.create_retrospective(project=other, by=owner, health_check=True)
    retro = _move(retro, Phase.WRITE, owner)
    services.add_card(retro=retro, by=owner, column="ideas", text="Theirs")
    return _move(retro, phase, owner)


def _sb_retro(team) -> Retrospective:
    return Retrospective.objects.get(project=team.project)


def _parts(retro: Retrospective) -> tuple:
    return (
        Retrospective.objects.filter(pk=retro.pk).values().first(),
        tuple(Card.objects.filter(retrospective=retro).values_list("pk", "text", "column", "group_id")),
        Vote.objects.filter(retrospective=retro).count(),
        CardGroup.objects.filter(retrospective=retro).count(),
        DiscussionNote.objects.filter(retrospective=retro).count(),
        ActionItem.objects.filter(retrospective=retro).count(),
        HealthRating.objects.filter(retrospective=retro).count(),
    )


def _foreign_card(team) -> Card:
    return Card.objects.get(retrospective=_foreign_retro(team))


def _foreign_group(team) -> CardGroup:
    retro = _foreign_retro(team, Phase.GROUP)
    owner = retro.project.memberships.get().user
    card = Card.objects.get(retrospective=retro)
    second = Card.objects.create(retrospective=retro, column="ideas", text="Also theirs", author=owner)
    return services.group_cards(retro=retro, by=owner, cards=[card, second], title="Theirs")


def _foreign_action(team) -> ActionItem:
    retro = _foreign_retro(team, Phase.ACTIONS)
    owner = retro.project.memberships.get().user
    return services.add_action_item(retro=retro, by=owner, text="Theirs")


def _nested(name: str):
    return lambda team, obj: {"key": team.project.key, "pk": _sb_retro(team).pk, name: obj.pk}


FOREIGN = {
    "api:retrospective-detail": Foreign(_foreign_retro, {"title": "Hijacked", "phase": "group"}),
    "api:retrospective-card-list": Foreign(_foreign_retro, {"column": "ideas", "text": "Hijacked"}, state=_parts),
    "api:retrospective-card-detail": Foreign(_foreign_card, {"text": "Hijacked"}, kwargs=_nested("card_id")),
    "api:retrospective-votes": Foreign(lambda team: _foreign_retro(team, Phase.VOTE), {"card": 1}, state=_parts),
    "api:retrospective-group-list": Foreign(
        lambda team: _foreign_retro(team, Phase.GROUP), {"cards": [1, 2], "title": "Hijacked"}, state=_parts
    ),
    "api:retrospective-group-detail": Foreign(_foreign_group, {"title": "Hijacked"}, kwargs=_nested("group_id")),
    "api:retrospective-notes": Foreign(
        lambda team: _foreign_retro(team, Phase.DISCUSS), {"text": "Hijacked"}, state=_parts
    ),
    "api:retrospective-action-list": Foreign(
        lambda team: _foreign_retro(team, Phase.ACTIONS), {"text": "Hijacked"}, state=_parts
    ),
    "api:retrospective-action-detail": Foreign(
        _foreign_action, {"text": "Hijacked", "done": True}, kwargs=_nested("action_id")
    ),
    "api:retrospective-health": Foreign(_foreign_retro, {"statement": "fun", "score": 1}, state=_parts),
    "api:retrospective-export": Foreign(_foreign_retro, state=_parts),
}
