"""The retrospectives REST API: a whole retrospective, anonymity on every endpoint, limits, read-only, counts."""

import datetime

import pytest

from backlog.models import BacklogItem
from retrospectives import services
from retrospectives.models import Card, Phase, Retrospective
from tests.retrospectives.conftest import move_to

BASE = "/api/v1/projects/SB/retrospectives/"
ERROR_KEYS = {"type", "detail", "errors"}
MONDAY = datetime.datetime(2026, 3, 2, 5, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(MONDAY, tick=False)


def url(retro: Retrospective, suffix: str = "") -> str:
    return f"{BASE}{retro.pk}/{suffix}"


def assert_error(response, code: int, error_type: str, field: str | None = None) -> dict:
    assert response.status_code == code, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS and body["type"] == error_type
    if field is not None:
        assert field in body["errors"], body
    return body


@pytest.fixture
def named(developer, product_owner):
    """Distinctive names, so a leak shows up in any response text."""
    developer.first_name, developer.last_name, developer.username = "Zebulon", "Quillfeather", "zquill"
    developer.save()
    product_owner.first_name, product_owner.last_name, product_owner.username = "Ysolde", "Marrowby", "ymarrow"
    product_owner.save()
    return developer, product_owner


SECRETS = ("Zebulon", "Quillfeather", "zquill", "Ysolde", "Marrowby", "ymarrow")


def test_creating_with_a_template_or_custom_columns(api, scrum_master, developer):
    client = api.as_(scrum_master)
    response = client.post(BASE, {"template": "four_ls", "votes_per_member": 5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["title"] for c in body["columns"]] == ["Liked", "Learned", "Lacked", "Longed for"]
    assert (body["phase"], body["votes_per_member"], body["facilitator"]) == ("review", 5, scrum_master.username)
    assert response["ETag"]
    response = client.post(BASE, {"template": "custom", "columns": ["Kudos", "Risks"]}, format="json")
    assert [c["title"] for c in response.json()["columns"]] == ["Kudos", "Risks"]
    assert_error(client.post(BASE, {"template": "custom"}, format="json"), 400, "validation_error", "columns")
    assert_error(client.post(BASE, {"template": "nope"}, format="json"), 400, "validation_error", "template")
    assert_error(client.post(BASE, {"sprint": 999}, format="json"), 400, "validation_error", "sprint")
    assert_error(api.as_(developer).post(BASE, {}, format="json"), 403, "permission_denied")


def test_a_retrospective_from_writing_to_closing(api, named, scrum_master):
    developer, product_owner = named
    retro_id = api.as_(scrum_master).post(BASE, {"title": "Sprint 7"}, format="json").json()["id"]
    retro = Retrospective.objects.get(pk=retro_id)
    assert api.as_(scrum_master).patch(url(retro), {"phase": "write"}, format="json").json()["phase"] == "write"

    mine = api.as_(developer).post(url(retro, "cards/"), {"column": "to_improve", "text": "Flaky tests"}, format="json")
    assert mine.status_code == 201 and mine.json()["mine"] is True and mine.json()["author"] == "zquill"
    api.as_(product_owner).post(url(retro, "cards/"), {"column": "to_improve", "text": "Slow CI"}, format="json")
    listed = api.as_(developer).get(url(retro, "cards/")).json()
    assert [c["text"] for c in listed["results"]] == ["Flaky tests"] and listed["hidden"] == 1

    assert_error(api.as_(scrum_master).patch(url(retro), {"phase": "vote"}, format="json"), 409, "conflict")
    api.as_(scrum_master).patch(url(retro), {"phase": "group"}, format="json")
    cards = api.as_(developer).get(url(retro, "cards/")).json()["results"]
    assert [(c["text"], c["mine"]) for c in cards] == [("Flaky tests", True), ("Slow CI", False)]
    group = api.as_(scrum_master).post(
        url(retro, "groups/"), {"cards": [c["id"] for c in cards], "title": "CI"}, format="json"
    )
    assert group.status_code == 201 and group.json()["cards"] == [c["id"] for c in cards]

    api.as_(scrum_master).patch(url(retro), {"phase": "vote"}, format="json")
    for _ in range(3):
        assert (
            api.as_(developer).post(url(retro, "votes/"), {"group": group.json()["id"]}, format="json").status_code
            == 201
        )
    over = assert_error(
        api.as_(developer).post(url(retro, "votes/"), {"card": cards[0]["id"]}, format="json"),
        400,
        "validation_error",
        "votes",
    )
    assert over["detail"] == "You have used all 3 of your votes. Take one back to vote elsewhere."
    votes = api.as_(developer).get(url(retro, "votes/")).json()
    assert (votes["used"], votes["left"], votes["totals"]) == (3, 0, None)
    assert votes["mine"] == [{"group": group.json()["id"], "count": 3}]
    taken = api.as_(developer).delete(url(retro, "votes/"), {"group": group.json()["id"]}, format="json")
    assert taken.status_code == 200 and taken.json()["left"] == 1
    # The target may go in the query too: many clients and proxies drop a DELETE's body.
    taken = api.as_(developer).delete(url(retro, "votes/") + f"?group={group.json()['id']}")
    assert taken.status_code == 200 and taken.json()["left"] == 2
    assert_error(api.as_(developer).delete(url(retro, "votes/") + "?card=x"), 400, "validation_error", "card")
    again = api.as_(developer).post(url(retro, "votes/"), {"group": group.json()["id"]}, format="json")
    assert again.status_code == 201
    assert api.as_(product_owner).get(url(retro, "cards/")).json()["results"][0]["votes"] is None

    api.as_(scrum_master).patch(url(retro), {"phase": "discuss"}, format="json")
    totals = api.as_(product_owner).get(url(retro, "votes/")).json()["totals"]
    assert totals == [{"group": group.json()["id"], "votes": 2}]
    note = api.as_(developer).post(
        url(retro, "notes/"), {"text": "Quarantine them", "group": group.json()["id"]}, format="json"
    )
    assert note.status_code == 201 and note.json()["group"] == group.json()["id"]
    api.as_(scrum_master).patch(url(retro), {"phase": "actions"}, format="json")
    action = api.as_(scrum_master).post(
        url(retro, "action-items/"),
        {"text": "Quarantine flaky tests", "owner": "zquill", "due_date": "2026-03-20"},
        format="json",
    )
    assert action.status_code == 201, action.content
    assert_error(
        api.as_(scrum_master).post(url(retro, "action-items/"), {"text": "x", "owner": "nobody"}, format="json"),
        400,
        "validation_error",
        "owner",
    )
    closed = api.as_(scrum_master).patch(url(retro), {"phase": "closed"}, format="json")
    assert closed.status_code == 200 and closed.json()["phase"] == "closed"
    assert closed.json()["summary"]["top_topics"][0]["title"] == "CI"
    item = BacklogItem.objects.get(labels__name="retrospective-action")
    assert (item.title, item.assignee, str(item.due_date)) == ("Quarantine flaky tests", developer, "2026-03-20")
    actions = api.as_(scrum_master).get(url(retro, "action-items/")).json()["results"]
    assert actions[0]["backlog_item"] == item.key

    # Read-only now.
    assert_error(api.as_(scrum_master).patch(url(retro), {"phase": "actions"}, format="json"), 409, "conflict")
    assert_error(
        api.as_(developer).post(url(retro, "cards/"), {"column": "ideas", "text": "Late"}, format="json"),
        409,
        "conflict",
    )
    # The owner ticks it at the next retrospective's review.
    done = api.as_(developer).patch(url(retro, f"action-items/{actions[0]['id']}/"), {"done": True}, format="json")
    assert done.status_code == 200 and done.json()["done"] is True


def _anonymous_retro(scrum_master, developer, product_owner) -> tuple[Retrospective, Card]:
    retro = services.create_retrospective(
        project=scrum_master.memberships.get().project, by=scrum_master, anonymous=True
    )
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    card = services.add_card(retro=retro, by=developer, column="to_improve", text="Reviews take days")
    services.add_card(retro=retro, by=product_owner, column="went_well", text="Demo went well")
    return retro, card


def _assert_no_author(response) -> None:
    assert response.status_code < 300, response.content
    text = response.content.decode()
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    assert '"author"' not in text


def test_anonymous_cards_never_name_their_author_on_any_endpoint(api, named, scrum_master):
    developer, product_owner = named
    retro, card = _anonymous_retro(scrum_master, developer, product_owner)
    _assert_no_author(api.as_(developer).get(url(retro, "cards/")))
    _assert_no_author(
        api.as_(developer).post(url(retro, "cards/"), {"column": "ideas", "text": "Second"}, format="json")
    )
    _assert_no_author(
        api.as_(developer).patch(url(retro, f"cards/{card.pk}/"), {"text": "Reviews take a week"}, format="json")
    )
    assert api.as_(developer).get(url(retro, "cards/")).json()["results"][0]["mine"] is True
    retro = move_to(retro, Phase.GROUP, by=scrum_master)
    cards = list(Card.objects.filter(retrospective=retro))
    services.group_cards(retro=retro, by=scrum_master, cards=cards[:2], title="Flow")
    retro = move_to(retro, Phase.VOTE, by=scrum_master)
    services.cast_vote(retro=retro, by=developer, card=cards[2])
    retro = move_to(retro, Phase.DISCUSS, by=scrum_master)
    services.add_note(retro=retro, by=developer, text="Said in the room", card=cards[2])
    for persona in (product_owner, scrum_master):
        for suffix in ("cards/", "votes/", "groups/", "notes/", "export/", "export/?format=md", ""):
            _assert_no_author(api.as_(persona).get(url(retro, suffix)))
    flags = {c["text"]: c["mine"] for c in api.as_(product_owner).get(url(retro, "cards/")).json()["results"]}
    assert flags == {"Reviews take a week": False, "Demo went well": True, "Second": False}
    retro = move_to(retro, Phase.ACTIONS, by=scrum_master)
    services.close_retrospective(retro=retro, by=scrum_master)
    for suffix in ("", "export/", "export/?format=md", "cards/"):
        _assert_no_author(api.as_(scrum_master).get(url(retro, suffix)))
    _assert_no_author(api.as_(scrum_master).get(BASE))


def test_named_cards_show_their_author(api, named, scrum_master):
    developer, product_owner = named
    retro = services.create_retrospective(project=developer.memberships.get().project, by=scrum_master)
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    services.add_card(retro=retro, by=developer, column="ideas", text="Mob on Fridays")
    retro = move_to(retro, Phase.GROUP, by=scrum_master)
    assert api.as_(product_owner).get(url(retro, "cards/")).json()["results"][0]["author"] == "zquill"
    assert "Zebulon Quillfeather" in api.as_(product_owner).get(url(retro, "export/?format=md")).content.decode()


def test_others_cards_are_not_reachable_before_the_reveal(api, named, scrum_master):
    developer, product_owner = named
    retro, card = _anonymous_retro(scrum_master, developer, product_owner)
    response = api.as_(product_owner).patch(url(retro, f"cards/{card.pk}/"), {"text": "Mine now"}, format="json")
    assert_error(response, 404, "not_found")
    retro = move_to(retro, Phase.GROUP, by=scrum_master)
    # Visible now, but still the author's own.
    response = api.as_(product_owner).delete(url(retro, f"cards/{card.pk}/"))
    assert_error(response, 403, "permission_denied")


def test_export_as_markdown_and_json(api, scrum_master, developer):
    retro = services.create_retrospective(
        project=developer.memberships.get().project, by=scrum_master, title="Sprint *7*"
    )
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    services.add_card(retro=retro, by=developer, column="ideas", text="Line one\nline two")
    response = api.as_(developer).get(url(retro, "export/?format=md"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("# Sprint \\*7\\*\n") and "- Line one line two" in text
    data = api.as_(developer).get(url(retro, "export/")).json()
    assert data["columns"][2]["cards"][0]["text"] == "Line one\nline two"
    # Another member sees no hidden card in the export either.
    assert api.as_(scrum_master).get(url(retro, "export/")).json()["columns"][2]["cards"] == []


def test_a_stale_if_match_is_refused(api, scrum_master, time_machine):
    retro = services.create_retrospective(project=scrum_master.memberships.get().project, by=scrum_master)
    client = api.as_(scrum_master)
    etag = client.get(url(retro))["ETag"]
    time_machine.move_to(MONDAY + datetime.timedelta(minutes=1), tick=False)
    client.patch(url(retro), {"title": "Renamed"}, format="json")
    response = client.patch(url(retro), {"phase": "write"}, format="json", HTTP_IF_MATCH=etag)
    assert_error(response, 412, "precondition_failed")
    assert Retrospective.objects.get(pk=retro.pk).phase == Phase.REVIEW


def test_health_ratings_and_trend(api, scrum_master, developer):
    project = developer.memberships.get().project
    retro = services.create_retrospective(project=project, by=scrum_master, health_check=True)
    client = api.as_(developer)
    response = client.post(url(retro, "health/"), {"statement": "fun", "score": 4}, format="json")
    assert response.status_code == 201
    fun = next(s for s in response.json()["statements"] if s["key"] == "fun")
    assert (fun["mine"], fun["average"], fun["count"]) == (4, 4.0, 1)
    assert_error(
        client.post(url(retro, "health/"), {"statement": "fun", "score": 9}, format="json"),
        400,
        "validation_error",
        "score",
    )
    trend = client.get(BASE + "health/").json()
    assert next(s for s in trend["statements"] if s["key"] == "fun")["averages"] == [4.0]


def _cards(retro, by, count: int) -> None:
    for n in range(count):
        services.add_card(retro=retro, by=by, column="ideas", text=f"Card {n}")


@pytest.mark.parametrize("count", [2, 30])
def test_the_card_list_takes_a_constant_number_of_queries(
    api, scrum_master, developer, django_assert_num_queries, count
):
    retro = services.create_retrospective(project=developer.memberships.get().project, by=scrum_master)
    retro = move_to(retro, Phase.WRITE, by=scrum_master)
    _cards(retro, developer, count)
    retro = move_to(retro, Phase.DISCUSS, by=scrum_master)
    client = api.as_(developer)
    with django_assert_num_queries(8):
        response = client.get(url(retro, "cards/"))
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [2, 30])
def test_the_retrospective_list_takes_a_constant_number_of_queries(
    api, scrum_master, developer, django_assert_num_queries, count
):
    project = developer.memberships.get().project
    for n in range(count):
        services.create_retrospective(project=project, by=scrum_master, title=f"Retro {n}")
    client = api.as_(developer)
    with django_assert_num_queries(3):
        response = client.get(BASE)
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize(
    ("suffix", "body", "field"), [("groups/", {"cards": [2**70]}, "cards"), ("notes/", {"card": 2**64}, "card")]
)
def test_an_id_beyond_64_bits_is_400_not_a_server_error(api, make_retro, scrum_master, suffix, body, field):
    # Found by the API fuzzer: the database driver cannot bind such a number in "pk__in" (a 500).
    retro = make_retro(Phase.GROUP)
    assert_error(api.as_(scrum_master).post(url(retro, suffix), body, format="json"), 400, "validation_error", field)
