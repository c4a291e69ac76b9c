"""The retrospective pages: per-phase board, anonymity on every page, votes over the limit, closing, counts."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from backlog.models import BacklogItem
from retrospectives import services
from retrospectives.models import Card, Phase, Retrospective
from tests.retrospectives.conftest import move_to

MONDAY = datetime.datetime(2026, 3, 2, 5, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(MONDAY, tick=False)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(name: str, retro: Retrospective, **extra) -> str:
    return reverse(f"retrospectives:{name}", kwargs={"key": retro.project.key, "pk": retro.pk, **extra})


@pytest.fixture
def named(developer, product_owner):
    developer.first_name, developer.last_name, developer.username = "Zebulon", "Quillfeather", "zquill"
    developer.save()
    product_owner.first_name, product_owner.last_name, product_owner.username = "Ysolde", "Marrowby", "ymarrow"
    product_owner.save()
    return developer, product_owner


SECRETS = ("Zebulon", "Quillfeather", "zquill")


def _retro(project, scrum_master, developer, product_owner, *, anonymous: bool) -> Retrospective:
    retro = services.create_retrospective(project=project, by=scrum_master, anonymous=anonymous, title="Sprint 9")
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    services.add_card(retro=retro, by=developer, column="to_improve", text="Reviews take days")
    services.add_card(retro=retro, by=product_owner, column="went_well", text="Demo went well")
    return retro


def test_while_writing_members_see_only_their_own_cards(project, named, scrum_master):
    developer, product_owner = named
    retro = _retro(project, scrum_master, developer, product_owner, anonymous=False)
    html = client_for(developer).get(page("detail", retro)).content.decode()
    assert "Reviews take days" in html and "Demo went well" not in html
    assert "1 card by others is hidden until the reveal." in html
    assert 'name="column" value="ideas"' in html  # a write form per column
    facilitator = client_for(scrum_master).get(page("detail", retro)).content.decode()
    assert "Reveal the cards" in facilitator and "Demo went well" not in facilitator


def test_an_anonymous_retrospective_names_nobody_on_any_page(project, named, scrum_master, stakeholder):
    developer, product_owner = named
    retro = _retro(project, scrum_master, developer, product_owner, anonymous=True)
    retro = move_to(retro, Phase.GROUP, by=scrum_master)
    cards = list(Card.objects.filter(retrospective=retro))
    services.group_cards(retro=retro, by=scrum_master, cards=cards, title="Flow")
    retro = move_to(retro, Phase.VOTE, by=scrum_master)
    retro = move_to(retro, Phase.DISCUSS, by=scrum_master)
    services.add_note(retro=retro, by=developer, text="Said in the room", group=retro.groups.get())
    # The stakeholder's pages carry no member lists (owner choices), so any name would come from a card.
    viewer = client_for(stakeholder)
    own = client_for(developer).get(page("detail", retro)).content.decode()
    assert own.count("Yours") == 1
    urls = [
        page("detail", retro),
        page("detail", retro) + "?fragment=board",
        page("summary", retro),
        reverse("retrospectives:list", kwargs={"key": "SB"}),
    ]
    for url in urls:
        html = viewer.get(url).content.decode()
        assert "Reviews take days" in html or url.endswith("/retrospectives/")
        for secret in SECRETS:
            assert secret not in html, (url, secret)
    retro = move_to(retro, Phase.ACTIONS, by=scrum_master)
    services.close_retrospective(retro=retro, by=scrum_master)
    html = viewer.get(page("summary", retro)).content.decode()
    assert "Flow" in html and not any(secret in html for secret in SECRETS)


def test_a_named_retrospective_shows_authors_after_the_reveal(project, named, scrum_master):
    developer, product_owner = named
    retro = _retro(project, scrum_master, developer, product_owner, anonymous=False)
    retro = move_to(retro, Phase.GROUP, by=scrum_master)
    html = client_for(product_owner).get(page("detail", retro)).content.decode()
    assert "Zebulon Quillfeather" in html and "Yours" in html


def test_a_vote_over_the_limit_shows_the_error(project, developer, scrum_master, product_owner):
    retro = services.create_retrospective(project=project, by=scrum_master, votes_per_member=1)
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    card = services.add_card(retro=retro, by=product_owner, column="ideas", text="Pizza Friday")
    retro = move_to(retro, Phase.VOTE, by=scrum_master)
    client = client_for(developer)
    html = client.get(page("detail", retro)).content.decode()
    assert "Votes left: 1 of 1" in html
    client.post(page("vote", retro), {"card": card.pk})
    response = client.post(page("vote", retro), {"card": card.pk}, follow=True)
    html = response.content.decode()
    assert "You have used all 1 of your votes." in html and "Votes left: 0 of 1" in html
    # Totals stay hidden from everyone while voting.
    assert "1 vote" not in client_for(product_owner).get(page("detail", retro)).content.decode()


def test_closing_from_the_page_puts_the_action_items_in_the_backlog(project, developer, scrum_master):
    retro = services.create_retrospective(project=project, by=scrum_master)
    retro = move_to(retro, Phase.ACTIONS, by=scrum_master)
    client = client_for(scrum_master)
    client.post(page("action_add", retro), {"text": "Pair on reviews", "owner": developer.pk, "due_date": "2026-03-20"})
    response = client.post(page("phase", retro), {"direction": "next"})
    assert response.status_code == 302 and response["Location"] == page("summary", retro)
    html = client.get(page("summary", retro)).content.decode()
    item = BacklogItem.objects.get(title="Pair on reviews")
    assert item.key in html and "Export Markdown" in html
    backlog = client.get(reverse("backlog:list", kwargs={"key": "SB"})).content.decode()
    assert "Pair on reviews" in backlog
    # Closed: the board sends everyone to the summary; writes are refused.
    assert client.get(page("detail", retro))["Location"] == page("summary", retro)
    follow = client.post(page("phase", retro), {"direction": "back"}, follow=True).content.decode()
    assert "This retrospective is closed: it is read-only." in follow


def test_the_version_changes_when_a_card_is_written(project, developer, scrum_master, time_machine):
    retro = services.create_retrospective(project=project, by=scrum_master)
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    client = client_for(developer)
    before = client.get(page("version", retro)).json()["version"]
    time_machine.move_to(MONDAY + datetime.timedelta(seconds=5), tick=False)
    client.post(page("card_add", retro), {"column": "ideas", "text": "New"})
    assert client.get(page("version", retro)).json() == {
        "version": client.get(page("detail", retro) + "?fragment=board")
        .content.decode()
        .split('data-version="')[1][:16],
        "phase": "write",
    }
    assert client.get(page("version", retro)).json()["version"] != before


def test_health_check_and_trend(project, developer, scrum_master):
    retro = services.create_retrospective(project=project, by=scrum_master, health_check=True, title="Health")
    client = client_for(developer)
    assert "We deliver value" in client.get(page("detail", retro)).content.decode()
    client.post(page("health_rate", retro), {"fun": "4", "value": "5"})
    html = client.get(reverse("retrospectives:health_trend", kwargs={"key": "SB"})).content.decode()
    assert "<svg" in html and "Health" in html


def test_creating_from_the_list_page(project, scrum_master, developer):
    client = client_for(scrum_master)
    response = client.post(
        reverse("retrospectives:create", kwargs={"key": "SB"}),
        {"template": "custom", "columns": "Kudos\nRisks", "anonymous": "on", "votes_per_member": "5"},
    )
    retro = Retrospective.objects.get()
    assert response["Location"] == page("detail", retro)
    assert (retro.column_keys, retro.anonymous, retro.votes_per_member) == (["c1", "c2"], True, 5)
    html = client_for(developer).get(reverse("retrospectives:list", kwargs={"key": "SB"})).content.decode()
    assert "Review last actions" in html and "New retrospective" not in html


@pytest.mark.parametrize("count", [2, 30])
def test_the_list_page_takes_a_constant_number_of_queries(project, scrum_master, django_assert_num_queries, count):
    for n in range(count):
        services.create_retrospective(project=project, by=scrum_master, title=f"Retro {n}")
    client = client_for(scrum_master)
    with django_assert_num_queries(6):
        response = client.get(reverse("retrospectives:list", kwargs={"key": "SB"}))
    assert response.content.decode().count("retro-phase--review") == count


@pytest.mark.parametrize("count", [2, 30])
def test_the_board_takes_a_constant_number_of_queries(
    project, scrum_master, developer, django_assert_num_queries, count
):
    retro = services.create_retrospective(project=project, by=scrum_master)
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    for n in range(count):
        services.add_card(retro=retro, by=developer, column="ideas", text=f"Card {n}")
    retro = move_to(retro, Phase.VOTE, by=scrum_master)
    client = client_for(developer)
    with django_assert_num_queries(9):
        response = client.get(page("detail", retro))
    assert response.content.decode().count("data-card-id=") == count


def test_the_review_phase_ticks_the_last_retrospectives_actions(project, developer, scrum_master, time_machine):
    first = move_to(
        services.create_retrospective(project=project, by=scrum_master, title="Last"), Phase.ACTIONS, by=scrum_master
    )
    action = services.add_action_item(retro=first, by=scrum_master, text="Write the runbook", owner=developer)
    services.close_retrospective(retro=first, by=scrum_master)
    current = services.create_retrospective(project=project, by=scrum_master, title="This")
    client = client_for(developer)
    html = client.get(page("detail", current)).content.decode()
    assert "Write the runbook" in html and "Not done" in html
    before = client.get(page("version", current)).json()["version"]
    time_machine.move_to(MONDAY + datetime.timedelta(seconds=5), tick=False)
    response = client.post(page("action_done", current, action_id=action.pk), {"done": "1"})
    assert response.status_code == 302
    assert "✓ Done" in client.get(page("detail", current)).content.decode()
    assert client.get(page("version", current)).json()["version"] != before  # everyone's board refreshes


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Asia/Almaty", "March 8, 2026, 7:30 p.m."), ("America/New_York", "March 8, 2026, 10:30 a.m.")],
)
def test_the_summary_shows_the_closing_time_in_the_projects_time_zone(project, scrum_master, time_machine, zone, shown):
    from projects.services import update_project

    update_project(project=project, by=scrum_master, timezone=zone)
    # 14:30 UTC on the day New York moves to daylight saving time (EDT, UTC-4).
    time_machine.move_to(datetime.datetime(2026, 3, 8, 14, 30, tzinfo=datetime.UTC), tick=False)
    retro = move_to(services.create_retrospective(project=project, by=scrum_master), Phase.ACTIONS, by=scrum_master)
    services.close_retrospective(retro=retro, by=scrum_master)
    html = client_for(scrum_master).get(page("summary", retro)).content.decode()
    assert f"Closed {shown}" in html


def test_the_summary_names_action_owners_and_shows_due_dates_as_dates(project, scrum_master, developer, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    retro = move_to(services.create_retrospective(project=project, by=scrum_master), Phase.ACTIONS, by=scrum_master)
    services.add_action_item(
        retro=retro, by=scrum_master, text="Write the runbook", owner=developer, due_date=datetime.date(2026, 3, 20)
    )
    services.close_retrospective(retro=retro, by=scrum_master)
    html = client_for(scrum_master).get(page("summary", retro)).content.decode()
    assert f"Write the runbook</strong> · {developer.get_full_name()} · due March 20, 2026" in html
