"""The demo's retrospective: Sprint 3's, closed, with grouped and voted cards and actions in the backlog."""

import io

from django.core.management import call_command

from backlog.models import BacklogItem
from retrospectives.models import ActionItem, Card, Phase, Retrospective
from tests.retrospectives.conftest import local


def test_the_demo_has_sprint_3s_closed_retrospective_with_actions_in_the_backlog(db, time_machine):
    # Wednesday 2026-03-11, 12:00 in Almaty: the active sprint (4) began on Monday 2026-03-02.
    time_machine.move_to(local("2026-03-11", "12:00"), tick=False)
    call_command("loaddemo", stdout=io.StringIO())
    retro = Retrospective.objects.get(sprint__number=3)
    assert retro.phase == Phase.CLOSED
    assert retro.closed_at.astimezone(retro.project.tzinfo).isoformat() == "2026-02-27T17:20:00+05:00"
    assert Card.objects.filter(retrospective=retro).count() == 8
    assert [t["title"] for t in retro.summary["top_topics"][:2]] == ["Slow and flaky CI", "Design hand-offs"]
    assert retro.summary["sprint"]["name"] == "Sprint 3"
    assert retro.summary["health"]["pace"]["average"] == 2.75
    actions = list(ActionItem.objects.filter(retrospective=retro).select_related("backlog_item"))
    assert len(actions) == 2 and all(a.backlog_item is not None for a in actions)
    labelled = BacklogItem.objects.filter(project__key="SB", labels__name="retrospective-action")
    assert set(labelled.values_list("title", flat=True)) >= {a.text for a in actions}
    # Every completed sprint has its closed retrospective; Sprint 3's review ticked Sprint 2's action.
    assert list(Retrospective.objects.order_by("sprint__number").values_list("sprint__number", "phase")) == [
        (1, Phase.CLOSED),
        (2, Phase.CLOSED),
        (3, Phase.CLOSED),
    ]
    assert ActionItem.objects.get(retrospective__sprint__number=2).done
    assert labelled.count() == 4
