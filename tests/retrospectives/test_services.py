"""Retrospective business rules, through the services and selectors."""

import json
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404

from backlog.models import BacklogItem
from projects.services import create_project
from retrospectives import selectors, services
from retrospectives.models import ActionItem, Card, Phase, Retrospective, Template, Vote
from roles.models import Role
from roles.services import add_member
from scrumboard.errors import ConflictError
from sprints import services as sprint_services
from tests.factories import UserFactory
from tests.retrospectives.conftest import move_to

# --- creation and templates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "titles"),
    [
        (Template.WENT_WELL, ["Went well", "To improve", "Ideas"]),
        (Template.START_STOP_CONTINUE, ["Start", "Stop", "Continue"]),
        (Template.FOUR_LS, ["Liked", "Learned", "Lacked", "Longed for"]),
        (Template.MAD_SAD_GLAD, ["Mad", "Sad", "Glad"]),
    ],
)
def test_each_template_gives_its_columns(make_retro, template, titles):
    retro = make_retro(template=template)
    assert [column["title"] for column in retro.columns] == titles
    assert len(set(retro.column_keys)) == len(titles)
    assert retro.phase == Phase.REVIEW and retro.votes_per_member == 3


def test_custom_columns_are_given_at_creation(make_retro):
    retro = make_retro(template=Template.CUSTOM, columns=[" Kudos ", {"title": "Risks"}, ""])
    assert retro.columns == [{"key": "c1", "title": "Kudos"}, {"key": "c2", "title": "Risks"}]
    with pytest.raises(ValidationError) as excinfo:
        make_retro(template=Template.CUSTOM, columns=[])
    assert "columns" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        make_retro(template=Template.CUSTOM, columns=["Same", "same"])


def test_only_facilitators_create_retrospectives(project, developer, outsider, product_owner):
    with pytest.raises(PermissionDenied):
        services.create_retrospective(project=project, by=developer)
    with pytest.raises(Http404):
        services.create_retrospective(project=project, by=outsider)
    retro = services.create_retrospective(project=project, by=product_owner, title="  Ours  ")
    assert retro.title == "Ours" and retro.facilitator == product_owner


def test_a_sprint_has_one_retrospective(project, completed_sprint, make_retro):
    # Completing the sprint created it already (in the completion's transaction).
    retro = Retrospective.objects.get(sprint=completed_sprint)
    assert retro.title == "Sprint 1 retrospective"
    with pytest.raises(ConflictError):
        make_retro(sprint=completed_sprint)
    assert Retrospective.objects.filter(sprint=completed_sprint).count() == 1


def test_completing_a_sprint_creates_its_retrospective_once(project, scrum_master, completed_sprint):
    # The signal is sent inside the completion's transaction: no on_commit callback needed.
    retro = Retrospective.objects.get()
    assert (retro.sprint, retro.template, retro.facilitator) == (completed_sprint, Template.WENT_WELL, scrum_master)
    assert retro.phase == Phase.REVIEW
    assert services.create_for_completed_sprint(completed_sprint) is None
    assert Retrospective.objects.count() == 1

    second = sprint_services.create_sprint(project=project, by=scrum_master)
    sprint_services.start_sprint(sprint=second, by=scrum_master)
    sprint_services.complete_sprint(sprint=second, by=scrum_master)
    assert Retrospective.objects.filter(sprint=second, phase=Phase.REVIEW).count() == 1


def test_a_completion_rolled_back_leaves_no_retrospective(project, scrum_master, completed_sprint):
    second = sprint_services.create_sprint(project=project, by=scrum_master)
    sprint_services.start_sprint(sprint=second, by=scrum_master)
    with pytest.raises(RuntimeError), transaction.atomic():
        sprint_services.complete_sprint(sprint=second, by=scrum_master)
        assert Retrospective.objects.filter(sprint=second).exists()
        raise RuntimeError("roll back")
    assert not Retrospective.objects.filter(sprint=second).exists()


def test_a_sprint_with_a_retrospective_gets_no_second_one_on_completion(
    project, scrum_master, make_retro, django_capture_on_commit_callbacks
):
    sprint = sprint_services.create_sprint(project=project, by=scrum_master)
    make_retro(sprint=sprint, template=Template.MAD_SAD_GLAD)
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    with django_capture_on_commit_callbacks(execute=True):
        sprint_services.complete_sprint(sprint=sprint, by=scrum_master)
    assert list(Retrospective.objects.values_list("template", flat=True)) == [Template.MAD_SAD_GLAD]


# --- phases ------------------------------------------------------------------------------------


def test_the_facilitator_moves_through_the_phases_in_order_and_may_step_back(make_retro, scrum_master, developer):
    retro = make_retro()
    with pytest.raises(ConflictError):
        services.set_phase(retro=retro, by=scrum_master, phase=Phase.GROUP)
    with pytest.raises(PermissionDenied):
        services.advance_phase(retro=retro, by=developer)
    retro = services.advance_phase(retro=retro, by=scrum_master)
    retro = services.advance_phase(retro=retro, by=scrum_master)
    assert retro.phase == Phase.GROUP
    retro = services.step_back(retro=retro, by=scrum_master)
    assert Retrospective.objects.get(pk=retro.pk).phase == Phase.WRITE
    with pytest.raises(ConflictError):
        services.set_phase(retro=retro, by=scrum_master, phase=Phase.VOTE)


def test_the_first_phase_has_nothing_before_it(make_retro, scrum_master):
    with pytest.raises(ConflictError):
        services.step_back(retro=make_retro(), by=scrum_master)


# --- writing: own cards, hidden until the reveal ---------------------------------------------


def test_cards_are_hidden_from_others_until_the_writing_ends(make_retro, developer, product_owner, advance):
    retro = make_retro(Phase.WRITE)
    mine = services.add_card(retro=retro, by=developer, column="went_well", text="  Pairing  ")
    services.add_card(retro=retro, by=product_owner, column="ideas", text="Demo earlier")
    own_view = selectors.board(retro, developer)
    assert [(c.text, c.mine) for c in own_view.cards] == [("Pairing", True)]
    assert own_view.hidden_count == 1
    assert selectors.board(retro, UserFactory()).cards == []
    retro = advance(retro, Phase.GROUP)
    revealed = selectors.board(retro, developer)
    assert [(c.text, c.mine) for c in revealed.cards] == [("Pairing", True), ("Demo earlier", False)]
    assert revealed.hidden_count == 0
    assert selectors.card_for(retro, mine.pk, product_owner) is not None


def test_members_write_edit_and_delete_only_their_own_cards(make_retro, developer, product_owner, stakeholder):
    retro = make_retro(Phase.WRITE)
    card = services.add_card(retro=retro, by=developer, column="to_improve", text="Flaky CI")
    with pytest.raises(PermissionDenied):
        services.add_card(retro=retro, by=stakeholder, column="ideas", text="Read-only")
    with pytest.raises(PermissionDenied):
        services.edit_card(card=card, by=product_owner, text="Hijacked")
    with pytest.raises(PermissionDenied):
        services.delete_card(card=card, by=product_owner)
    services.edit_card(card=card, by=developer, text="Very flaky CI", column="ideas")
    assert Card.objects.values_list("text", "column").get() == ("Very flaky CI", "ideas")
    with pytest.raises(ValidationError) as excinfo:
        services.add_card(retro=retro, by=developer, column="nope", text="x")
    assert "column" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        services.add_card(retro=retro, by=developer, column="ideas", text="   ")
    services.delete_card(card=card, by=developer)
    assert not Card.objects.exists()


def test_cards_are_written_only_in_the_write_phase(make_retro, developer, scrum_master, advance):
    retro = make_retro()
    with pytest.raises(ConflictError):
        services.add_card(retro=retro, by=developer, column="ideas", text="Too early")
    retro = advance(retro, Phase.WRITE)
    card = services.add_card(retro=retro, by=developer, column="ideas", text="On time")
    retro = advance(retro, Phase.GROUP)
    with pytest.raises(ConflictError):
        services.edit_card(card=Card.objects.get(pk=card.pk), by=developer, text="Late")


# --- anonymity ---------------------------------------------------------------------------------


def _written(make_retro, advance, developer, product_owner, *, anonymous: bool) -> Retrospective:
    retro = make_retro(Phase.WRITE, anonymous=anonymous)
    developer.first_name, developer.last_name = "Dana", "Secret"
    developer.save()
    services.add_card(retro=retro, by=developer, column="to_improve", text="Reviews take days")
    services.add_card(retro=retro, by=product_owner, column="went_well", text="Demo went well")
    return advance(retro, Phase.DISCUSS)


def test_an_anonymous_retrospective_never_names_a_cards_author(
    make_retro, advance, developer, product_owner, scrum_master
):
    retro = _written(make_retro, advance, developer, product_owner, anonymous=True)
    view = selectors.board(retro, developer)
    assert {c.author for c in view.cards} == {None}
    assert [c.mine for c in view.cards] == [True, False]
    data = selectors.snapshot(retro, developer)
    text = json.dumps(data) + selectors.summary_markdown(data)
    for secret in ("Dana", "Secret", developer.username, product_owner.username):
        assert secret not in text
    assert "author" not in json.dumps(data["columns"])
    retro = advance(retro, Phase.ACTIONS)
    closed = services.close_retrospective(retro=retro, by=scrum_master)
    assert developer.username not in json.dumps(closed.summary)
    # The database keeps the author, for edit rights only.
    assert Card.objects.filter(author=developer).count() == 1


def test_a_named_retrospective_shows_authors(make_retro, advance, developer, product_owner):
    retro = _written(make_retro, advance, developer, product_owner, anonymous=False)
    assert "Dana Secret" in {c.author for c in selectors.board(retro, product_owner).cards}
    assert "Dana Secret" in selectors.summary_markdown(selectors.snapshot(retro, product_owner))


def test_anonymity_cannot_change_once_cards_are_written(make_retro, developer, scrum_master):
    retro = make_retro(Phase.WRITE, anonymous=True)
    services.update_retrospective(retro=retro, by=scrum_master, anonymous=False)
    services.update_retrospective(retro=retro, by=scrum_master, anonymous=True)
    services.add_card(retro=retro, by=developer, column="ideas", text="Shh")
    with pytest.raises(ConflictError):
        services.update_retrospective(retro=retro, by=scrum_master, anonymous=False)


# --- grouping ----------------------------------------------------------------------------------


@pytest.fixture
def grouped(make_retro, advance, developer, product_owner, scrum_master):
    """Cards a, b (grouped as "CI"), c alone; the retrospective in the group phase."""
    retro = make_retro(Phase.WRITE)
    a = services.add_card(retro=retro, by=developer, column="to_improve", text="Flaky tests")
    b = services.add_card(retro=retro, by=product_owner, column="to_improve", text="Slow pipeline")
    c = services.add_card(retro=retro, by=developer, column="went_well", text="Pairing")
    retro = advance(retro, Phase.GROUP)
    group = services.group_cards(retro=retro, by=scrum_master, cards=[a, b], title="CI")
    return retro, group, a, b, c


def test_the_facilitator_groups_similar_cards_under_a_name(grouped, scrum_master, developer):
    retro, group, a, _b, c = grouped
    view = selectors.board(retro, developer)
    column = next(col for col in view.columns if col.key == "to_improve")
    assert [(g.title, [card.text for card in g.cards]) for g in column.groups] == [
        ("CI", ["Flaky tests", "Slow pipeline"])
    ]
    assert column.cards == []
    with pytest.raises(PermissionDenied):
        services.group_cards(retro=retro, by=developer, cards=[a, c], title="Mine")
    with pytest.raises(ValidationError):
        services.group_cards(retro=retro, by=scrum_master, cards=[c], title="Alone")
    services.rename_group(group=group, by=scrum_master, title="Pipeline")
    services.ungroup(group=group, by=scrum_master)
    assert set(Card.objects.values_list("group", flat=True)) == {None}


# --- voting ------------------------------------------------------------------------------------


def test_members_vote_several_times_up_to_their_limit(grouped, advance, developer, product_owner):
    retro, group, a, _b, c = grouped
    retro = advance(retro, Phase.VOTE)
    services.cast_vote(retro=retro, by=developer, card=c)
    services.cast_vote(retro=retro, by=developer, card=c)
    services.cast_vote(retro=retro, by=developer, card=a)  # a is in the group: the vote counts for the group
    with pytest.raises(ValidationError) as excinfo:
        services.cast_vote(retro=retro, by=developer, group=group)
    assert excinfo.value.message_dict["votes"] == [
        "You have used all 3 of your votes. Take one back to vote elsewhere."
    ]
    assert Vote.objects.filter(voter=developer).count() == 3
    assert Vote.objects.filter(group=group).count() == 1
    services.cast_vote(retro=retro, by=product_owner, group=group)
    view = selectors.board(retro, developer)
    assert (view.votes_used, view.votes_left) == (3, 0)
    # Totals are hidden while the team votes; each member sees their own.
    assert {(card.text, card.votes, card.my_votes) for card in view.cards if card.group_id is None} == {
        ("Pairing", None, 2)
    }
    assert [(g.votes, g.my_votes) for g in view.groups] == [(None, 1)]
    services.remove_vote(retro=retro, by=developer, card=c)
    services.cast_vote(retro=retro, by=developer, group=group)
    with pytest.raises(ValidationError):
        services.remove_vote(retro=retro, by=product_owner, card=c)
    retro = advance(retro, Phase.DISCUSS)
    view = selectors.board(retro, product_owner)
    assert [(t.kind, t.title, t.votes) for t in view.topics] == [("group", "CI", 3), ("card", "Pairing", 1)]


def test_votes_are_cast_only_in_the_vote_phase_by_members(grouped, stakeholder, developer):
    retro, _group, _a, _b, c = grouped
    with pytest.raises(ConflictError):
        services.cast_vote(retro=retro, by=developer, card=c)
    with pytest.raises(PermissionDenied):
        services.cast_vote(retro=retro, by=stakeholder, card=c)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_never_exceed_the_limit():
    owner = UserFactory()
    project = create_project(key="CV", name="Concurrent votes", by=owner)
    voter = UserFactory()
    add_member(project=project, user=voter, role=Role.objects.get(project=project, slug="backend"))
    retro = services.create_retrospective(project=project, by=owner, votes_per_member=2)
    retro = move_to(retro, Phase.WRITE, by=owner)
    card = services.add_card(retro=retro, by=voter, column="ideas", text="Vote me")
    retro = move_to(retro, Phase.VOTE, by=owner)
    barrier = threading.Barrier(5)
    outcomes: list[object] = []

    def vote() -> None:
        try:
            user = get_user_model().objects.get(pk=voter.pk)
            loaded = Retrospective.objects.select_related("project").get(pk=retro.pk)
            target = Card.objects.get(pk=card.pk)
            barrier.wait()
            outcomes.append(services.cast_vote(retro=loaded, by=user, card=target))
        except Exception as exc:  # asserted below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=vote) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Vote.objects.filter(voter=voter).count() == 2
    assert sum(isinstance(o, Vote) for o in outcomes) == 2
    assert all(isinstance(o, ValidationError) for o in outcomes if not isinstance(o, Vote))


# --- discussion, action items, closing --------------------------------------------------------


def test_closing_turns_action_items_into_labelled_backlog_items_and_freezes_the_summary(
    project, completed_sprint, make_retro, advance, developer, product_owner, scrum_master
):
    # The retrospective completing the sprint created, made anonymous before any card is written.
    retro = services.update_retrospective(
        retro=Retrospective.objects.get(sprint=completed_sprint), by=scrum_master, anonymous=True
    )
    retro = advance(retro, Phase.WRITE)
    a = services.add_card(retro=retro, by=developer, column="to_improve", text="Flaky tests")
    b = services.add_card(retro=retro, by=product_owner, column="to_improve", text="Slow pipeline")
    retro = advance(retro, Phase.GROUP)
    group = services.group_cards(retro=retro, by=scrum_master, cards=[a, b], title="CI")
    retro = advance(retro, Phase.VOTE)
    services.cast_vote(retro=retro, by=developer, group=group)
    retro = advance(retro, Phase.DISCUSS)
    services.add_note(retro=retro, by=developer, group=group, text="Quarantine flaky tests")
    with pytest.raises(PermissionDenied):
        services.add_action_item(retro=retro, by=developer, text="Not mine to add")
    retro = advance(retro, Phase.ACTIONS)
    action = services.add_action_item(
        retro=retro, by=scrum_master, text="Quarantine flaky tests", owner=developer, due_date=completed_sprint.end_date
    )
    with pytest.raises(ValidationError):
        services.add_action_item(retro=retro, by=scrum_master, text="x", owner=UserFactory())
    retro = services.set_phase(retro=retro, by=scrum_master, phase=Phase.CLOSED)

    action.refresh_from_db()
    item = action.backlog_item
    assert item is not None and item.title == "Quarantine flaky tests"
    assert list(item.labels.values_list("name", flat=True)) == ["retrospective-action"]
    assert item.assignee == developer and item.due_date == completed_sprint.end_date
    assert f"/projects/SB/retrospectives/{retro.pk}/" in item.description
    assert retro.phase == Phase.CLOSED and retro.closed_at is not None
    summary = Retrospective.objects.get(pk=retro.pk).summary
    assert summary["sprint"]["committed_points"] == 8.0
    assert summary["sprint"]["completed_points"] == 3.0
    assert summary["sprint"]["completion_percent"] == 38
    assert summary["top_topics"][0] == {
        "kind": "group",
        "title": "CI",
        "column": "to_improve",
        "votes": 1,
        "cards": ["Flaky tests", "Slow pipeline"],
        "notes": ["Quarantine flaky tests"],
    }
    assert summary["action_items"][0]["backlog_item"] == item.key
    assert BacklogItem.objects.filter(labels__name="retrospective-action").count() == 1


def test_a_closed_retrospective_is_read_only(make_retro, advance, scrum_master, developer):
    retro = make_retro(Phase.ACTIONS, health_check=True)
    retro = services.close_retrospective(retro=retro, by=scrum_master)
    attempts = [
        lambda: services.add_card(retro=retro, by=developer, column="ideas", text="Late"),
        lambda: services.step_back(retro=retro, by=scrum_master),
        lambda: services.advance_phase(retro=retro, by=scrum_master),
        lambda: services.add_action_item(retro=retro, by=scrum_master, text="Late"),
        lambda: services.update_retrospective(retro=retro, by=scrum_master, title="Renamed"),
        lambda: services.rate_health(retro=retro, by=developer, statement="fun", score=5),
        lambda: services.close_retrospective(retro=retro, by=scrum_master),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError):
            attempt()


def test_closing_needs_the_action_items_phase(make_retro, scrum_master):
    with pytest.raises(ConflictError):
        services.close_retrospective(retro=make_retro(Phase.DISCUSS), by=scrum_master)


# --- the next retrospective's review ----------------------------------------------------------


def test_the_review_shows_the_last_retrospectives_actions_with_done_toggles(
    make_retro, scrum_master, developer, stakeholder
):
    first = make_retro(Phase.ACTIONS, title="First")
    action = services.add_action_item(retro=first, by=scrum_master, text="Write docs", owner=developer)
    services.close_retrospective(retro=first, by=scrum_master)
    second = make_retro(title="Second")
    assert selectors.previous_retrospective(second) == first
    assert selectors.previous_retrospective(first) is None
    action = ActionItem.objects.get(pk=action.pk)
    services.update_action_item(action=action, by=developer, done=True)  # the owner
    assert ActionItem.objects.get(pk=action.pk).done
    services.update_action_item(action=action, by=scrum_master, done=False)  # the facilitator
    with pytest.raises(PermissionDenied):
        services.update_action_item(action=action, by=stakeholder, done=True)
    with pytest.raises(ConflictError):  # the text belongs to the closed retrospective
        services.update_action_item(action=action, by=scrum_master, text="Rewritten")


# --- health check ------------------------------------------------------------------------------


def test_members_rate_the_health_statements_and_see_the_trend(make_retro, developer, product_owner, scrum_master):
    first = make_retro(health_check=True, title="One")
    services.rate_health(retro=first, by=developer, statement="fun", score=2)
    services.rate_health(retro=first, by=developer, statement="fun", score=4)  # a change, not a second rating
    services.rate_health(retro=first, by=product_owner, statement="fun", score=5)
    with pytest.raises(ValidationError):
        services.rate_health(retro=first, by=developer, statement="fun", score=6)
    with pytest.raises(ValidationError):
        services.rate_health(retro=first, by=developer, statement="mood", score=3)
    second = make_retro(health_check=True, title="Two")
    services.rate_health(retro=second, by=developer, statement="pace", score=1)
    without = make_retro(title="No check")
    with pytest.raises(ConflictError):
        services.rate_health(retro=without, by=developer, statement="fun", score=3)
    assert selectors.health_averages(first) == {"fun": {"average": 4.5, "count": 2}}
    trend = selectors.health_trend(first.project)
    assert [r["title"] for r in trend["retrospectives"]] == ["One", "Two"]
    rows = {row["key"]: row["averages"] for row in trend["statements"]}
    assert rows["fun"] == [4.5, None] and rows["pace"] == [None, 1.0]


def test_settings_and_limits(make_retro, scrum_master, developer):
    retro = make_retro(Phase.WRITE)
    with pytest.raises(ValidationError):
        services.update_retrospective(retro=retro, by=scrum_master, votes_per_member=0)
    with pytest.raises(ValidationError):
        services.update_retrospective(retro=retro, by=scrum_master, phase="vote")
    services.update_retrospective(retro=retro, by=scrum_master, votes_per_member=5, facilitator=developer)
    retro = move_to(retro, Phase.VOTE, by=scrum_master)
    with pytest.raises(ConflictError):
        services.update_retrospective(retro=retro, by=scrum_master, votes_per_member=6)
