"""Permission-matrix rows for the retrospectives' pages (collected by tests/matrix_pages.py).

Every member reads; members who may comment write their own cards, votes, notes and ratings;
facilitation takes "run retrospective". A successful post redirects back to the board (302).
"""

from retrospectives import services
from retrospectives.models import Card, Phase
from tests.matrix import Ctx, Row
from tests.matrix_pages import editors, manage, members
from tests.retrospectives.matrix_rows import _card, _move, at, group, own_card, project_with


def past_action(ctx: Ctx) -> dict:
    """A closed retrospective's action item owned by the developer, ticked from a new retrospective's review."""
    first = services.create_retrospective(project=ctx.project, by=ctx.scrum_master, title="Last time")
    first = _move(first, Phase.ACTIONS, ctx.scrum_master)
    action = services.add_action_item(retro=first, by=ctx.scrum_master, text="Write docs", owner=ctx.developer)
    services.close_retrospective(retro=first, by=ctx.scrum_master)
    current = services.create_retrospective(project=ctx.project, by=ctx.scrum_master, title="This time")
    return {"key": ctx.project.key, "pk": current.pk, "action_id": action.pk}


def _cards(ctx: Ctx) -> dict:
    return {"cards": [str(pk) for pk in Card.objects.values_list("pk", flat=True)], "title": "CI"}


PAGE_ROWS: list[Row] = [
    Row("retrospectives:list", "GET", project_with(Phase.REVIEW), members(200)),
    Row("retrospectives:create", "POST", project_with(Phase.REVIEW), manage(302), data=lambda ctx: {"title": "New"}),
    Row("retrospectives:health_trend", "GET", project_with(Phase.REVIEW, health_check=True), members(200)),
    Row("retrospectives:detail", "GET", at(Phase.WRITE), members(200)),
    Row("retrospectives:version", "GET", at(Phase.WRITE), members(200)),
    Row("retrospectives:phase", "POST", at(Phase.WRITE), manage(302), data=lambda ctx: {"direction": "next"}),
    Row("retrospectives:settings", "POST", at(Phase.WRITE), manage(302), data=lambda ctx: {"title": "Renamed"}),
    Row(
        "retrospectives:card_add",
        "POST",
        at(Phase.WRITE),
        editors(302),
        data=lambda ctx: {"column": "ideas", "text": "Demo earlier"},
    ),
    Row("retrospectives:card_edit", "POST", own_card, editors(302), data=lambda ctx: {"text": "Edited"}),
    Row("retrospectives:card_delete", "POST", own_card, editors(302)),
    Row("retrospectives:group_create", "POST", at(Phase.GROUP), manage(302), data=_cards),
    Row("retrospectives:ungroup", "POST", group, manage(302)),
    Row("retrospectives:vote", "POST", at(Phase.VOTE), editors(302), data=lambda ctx: {"card": _card(ctx).pk}),
    Row(
        "retrospectives:note_add",
        "POST",
        at(Phase.DISCUSS),
        editors(302),
        data=lambda ctx: {"text": "Quarantine them", "card": _card(ctx).pk},
    ),
    Row(
        "retrospectives:action_add",
        "POST",
        at(Phase.ACTIONS),
        manage(302),
        data=lambda ctx: {"text": "Fix CI", "owner": ctx.developer.pk, "due_date": "2030-01-31"},
    ),
    # The owner (the developer) or a facilitator ticks it; the stakeholder may not.
    Row("retrospectives:action_done", "POST", past_action, editors(302), data=lambda ctx: {"done": "1"}),
    Row(
        "retrospectives:health_rate",
        "POST",
        at(Phase.REVIEW, health_check=True),
        editors(302),
        data=lambda ctx: {"fun": "4", "pace": "3"},
    ),
    Row("retrospectives:summary", "GET", at(Phase.DISCUSS), members(200)),
]
