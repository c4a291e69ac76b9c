"""The sprint pages: the list, planning, the board, the review, velocity."""

import datetime
import json
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from backlog import ranking
from backlog import services as backlog_services
from backlog.models import BacklogItem, EventKind, ItemCounter, ItemEvent, Label, Status
from sprints import services
from sprints.models import DaysOff, Sprint
from tests.factories import make_project
from tests.html_safety import unsafe_parts

pytestmark = pytest.mark.django_db

# A Monday morning in the project's time zone (Asia/Almaty): sprints start today by default.
MONDAY = datetime.datetime(2025, 3, 3, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))
PAGE_TAGS = frozenset({"script", "form", "link", "meta", "svg"})
EVIL = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sm_client(client, scrum_master):
    client.force_login(scrum_master)
    return client


def url(name: str, sprint: Sprint | None = None, **query) -> str:
    kwargs = {"key": "SB"} if sprint is None else {"key": "SB", "pk": sprint.pk}
    address = reverse(f"sprints:{name}", kwargs=kwargs)
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def make(project, by, title="Story", **fields) -> BacklogItem:
    return backlog_services.create_item(project=project, by=by, title=title, **fields)


def status(project, name: str) -> Status:
    return Status.objects.get(project=project, name=name)


def planned(project, by, **fields) -> Sprint:
    return services.create_sprint(project=project, by=by, **fields)


def started(project, by, items=(), **fields) -> Sprint:
    sprint = planned(project, by, **fields)
    for item in items:
        backlog_services.move_item(item=item, by=by, sprint=sprint)
    return services.start_sprint(sprint=sprint, by=by)


def set_status(item, by, name: str) -> None:
    backlog_services.update_item(item=BacklogItem.objects.get(pk=item.pk), by=by, status=status(item.project, name))


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def textareas(html: str) -> list[str]:
    return [text.strip() for text in re.findall(r"<textarea[^>]*>(.*?)</textarea>", html, re.S)]


def keys_in(html: str, list_name: str) -> list[str]:
    block = re.search(rf'data-list="{list_name}".*?</ol>', html, re.S)
    assert block is not None
    return re.findall(r'<li class="plan-row" data-key="([^"]+)"', block.group(0))


# --- the sprints list --------------------------------------------------------------------------


def test_list_groups_sprints_by_state_with_counts_points_and_links(sm_client, project, scrum_master):
    story = make(project, scrum_master, "Sign in", estimate="5")
    make(project, scrum_master, "Sign out", estimate="3")
    active = started(project, scrum_master, [story], name="Login", goal="People can sign in")
    upcoming = planned(project, scrum_master, goal="Reports")

    html = html_of(sm_client.get(url("list")))

    assert html.index("Login") < html.index(upcoming.name)
    assert "People can sign in" in html and "Reports" in html
    assert url("board", active) in html and url("plan", upcoming) in html
    assert url("edit", upcoming) in html and url("delete", upcoming) in html
    assert url("edit", active) not in html  # only planned sprints are edited from the list
    assert re.search(r"<dt>Points</dt><dd>5</dd>", html)
    assert 'aria-current="page">Sprints</a>' in html


def test_new_sprint_form_defaults_to_the_next_dates_and_name(sm_client, project, scrum_master):
    planned(project, scrum_master)  # 3 Mar - 16 Mar
    html = html_of(sm_client.get(url("list")))
    assert 'value="2025-03-17"' in html and 'value="2025-03-30"' in html
    assert 'placeholder="Sprint 2"' in html


def test_creating_a_sprint_without_a_name_numbers_it_and_opens_planning(sm_client, project):
    response = sm_client.post(
        url("create"), {"name": "", "goal": "Ship login", "start_date": "2025-03-03", "end_date": "2025-03-14"}
    )
    sprint = Sprint.objects.get()
    assert (sprint.name, sprint.goal, sprint.end_date) == ("Sprint 1", "Ship login", datetime.date(2025, 3, 14))
    assert response["Location"] == url("plan", sprint)


def test_a_refused_new_sprint_shows_the_error_on_its_field_and_keeps_what_was_typed(sm_client, project):
    response = sm_client.post(
        url("create"), {"name": "Long one", "goal": "Everything", "start_date": "2025-03-03", "end_date": "2025-04-10"}
    )
    html = html_of(response)
    assert "one month at most" in html
    assert re.search(r'field-date has-error">\s*<label for="id_end_date"', html)
    assert 'value="Long one"' in html and "Everything" in textareas(html)
    assert not Sprint.objects.exists()


def test_stakeholders_read_sprints_but_cannot_plan_them(client, project, stakeholder, scrum_master):
    sprint = planned(project, scrum_master)
    client.force_login(stakeholder)
    html = html_of(client.get(url("list")))
    assert url("create") not in html and url("delete", sprint) not in html
    data = {"name": "", "goal": "", "start_date": "2025-03-17", "end_date": "2025-03-28"}
    assert client.post(url("create"), data).status_code == 403
    assert client.post(url("delete", sprint)).status_code == 403
    assert client.post(url("start", sprint)).status_code == 403
    assert Sprint.objects.get().is_planned


@pytest.mark.parametrize("name", ["list", "velocity", "active_board"])
def test_outsiders_get_404_and_visitors_log_in_first(client, project, outsider, name):
    assert client.get(url(name))["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(url(name)).status_code == 404


def test_a_sprint_of_another_project_is_not_found_here(sm_client, project, scrum_master):
    other = make_project(key="XX")
    theirs = services.create_sprint(project=other, by=other.memberships.get().user)
    for name in ("plan", "board", "review", "board_version", "edit", "complete"):
        address = reverse(f"sprints:{name}", kwargs={"key": "SB", "pk": theirs.pk})
        assert sm_client.get(address).status_code == 404, name
    address = reverse("sprints:start", kwargs={"key": "SB", "pk": theirs.pk})
    assert sm_client.post(address).status_code == 404
    assert Sprint.objects.get(pk=theirs.pk).is_planned


def test_planning_rows_carry_unlocalised_points_for_the_script(client, project, scrum_master):
    item = make(project, scrum_master, estimate="5")
    sprint = planned(project, scrum_master)
    client.force_login(scrum_master)
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    html = html_of(client.get(url("plan", sprint)))
    assert '<html lang="ru">' in html
    assert f'data-key="{item.key}" data-rank="{item.rank}" data-points="5.0"' in html  # not "5,0"


def test_outsiders_get_404_on_a_sprints_pages(client, project, outsider, scrum_master):
    sprint = planned(project, scrum_master)
    client.force_login(outsider)
    for name in ("plan", "board", "review", "board_version"):
        assert client.get(url(name, sprint)).status_code == 404


def test_editing_a_planned_sprint(sm_client, project, scrum_master):
    sprint = planned(project, scrum_master, goal="Old")
    data = {"name": "Payments", "goal": "Pay by card", "start_date": "2025-03-04", "end_date": "2025-03-17"}
    response = sm_client.post(url("edit", sprint), data)
    assert response["Location"] == url("plan", sprint)
    sprint.refresh_from_db()
    assert (sprint.name, sprint.goal, sprint.start_date) == ("Payments", "Pay by card", datetime.date(2025, 3, 4))


def test_a_refused_edit_keeps_the_typed_values(sm_client, project, scrum_master):
    sprint = planned(project, scrum_master, name="Payments")
    data = {"name": "Renamed", "goal": "Kept", "start_date": "2025-03-10", "end_date": "2025-03-05"}
    html = html_of(sm_client.post(url("edit", sprint), data))
    assert "must end on or after its start date" in html
    assert 'value="Renamed"' in html and "Kept" in textareas(html)
    assert Sprint.objects.get().name == "Payments"


def test_deleting_a_planned_sprint_returns_its_items_to_the_backlog(sm_client, project, scrum_master):
    item = make(project, scrum_master)
    sprint = planned(project, scrum_master)
    backlog_services.move_item(item=item, by=scrum_master, sprint=sprint)
    response = sm_client.post(url("delete", sprint), follow=True)
    assert "its 1 item is back in the backlog" in response.content.decode()
    assert BacklogItem.objects.get().sprint is None


def test_an_active_sprint_is_not_deleted(sm_client, project, scrum_master):
    sprint = started(project, scrum_master)
    response = sm_client.post(url("delete", sprint), follow=True)
    assert "Only a planned sprint can be deleted." in response.content.decode()
    assert Sprint.objects.filter(pk=sprint.pk).exists()


# --- planning ---------------------------------------------------------------------------------


def test_planning_shows_the_product_backlog_in_rank_order_and_the_sprint(sm_client, project, scrum_master):
    first = make(project, scrum_master, "First", estimate="3")
    make(project, scrum_master, "Epic", type="epic")
    done = make(project, scrum_master, "Finished")
    set_status(done, scrum_master, "Done")
    third = make(project, scrum_master, "Third")
    chosen = make(project, scrum_master, "Chosen", estimate="5")
    other = planned(project, scrum_master, name="Later")
    elsewhere = make(project, scrum_master, "Elsewhere")
    backlog_services.move_item(item=elsewhere, by=scrum_master, sprint=other)
    sprint = planned(project, scrum_master, name="Now")
    backlog_services.move_item(item=chosen, by=scrum_master, sprint=sprint)
    backlog_services.move_item(item=third, by=scrum_master, before=first)

    html = html_of(sm_client.get(url("plan", sprint)))

    assert keys_in(html, "backlog") == [third.key, first.key]  # no epic, nothing done, nothing in a sprint
    assert keys_in(html, "sprint") == [chosen.key]
    assert 'draggable="true"' in html
    assert reverse("api:item-move", kwargs={"key": "SB", "item_key": "ITEM-KEY"}) in html
    assert "2 items · 3 points" in html  # the product backlog's totals
    assert "1 item · 5 points" in html


def test_planning_summary_compares_points_with_velocity_capacity_and_roles(sm_client, project, scrum_master, developer):
    history = started(project, scrum_master, [make(project, scrum_master, "Old", estimate="8", assignee=developer)])
    set_status(BacklogItem.objects.get(title="Old"), scrum_master, "Done")
    services.complete_sprint(sprint=history, by=scrum_master)
    sprint = planned(project, scrum_master)
    for title, estimate in (("Big", "13"), ("Small", "")):
        item = make(project, scrum_master, title, estimate=estimate, assignee=developer)
        backlog_services.move_item(item=item, by=scrum_master, sprint=sprint)

    html = html_of(sm_client.get(url("plan", sprint, fragment="summary")))

    assert "13 <small>/ 8 points</small>" in html  # average velocity of the last sprints
    assert "1 not estimated" in html
    assert "more than the team's average velocity of 8" in html  # a warning, the page still works
    assert "Backend Developer" in html


def test_capacity_lists_each_developer_with_days_off(sm_client, project, scrum_master, developer):
    sprint = planned(project, scrum_master)
    DaysOff.objects.create(sprint=sprint, user=developer, days=2)
    html = html_of(sm_client.get(url("plan", sprint)))
    assert developer.get_full_name() in html
    assert f'name="days_{developer.pk}" value="2"' in html
    assert '<td class="num"><strong>8</strong></td>' in html  # 10 working days - 2


def test_saving_days_off(sm_client, project, scrum_master, developer):
    sprint = planned(project, scrum_master)
    response = sm_client.post(url("days_off", sprint), {f"days_{developer.pk}": "3"})
    assert response["Location"] == url("plan", sprint) + "#capacity"
    assert DaysOff.objects.get(sprint=sprint, user=developer).days == 3


def test_too_many_days_off_is_shown_on_the_form_and_nothing_is_saved(sm_client, project, scrum_master, developer):
    sprint = planned(project, scrum_master)
    html = html_of(sm_client.post(url("days_off", sprint), {f"days_{developer.pk}": "12"}))
    assert "less than or equal to 10" in html
    assert f'name="days_{developer.pk}" value="12"' in html
    assert not DaysOff.objects.exists()


def test_the_sprint_goal_is_edited_on_the_planning_page(sm_client, project, scrum_master):
    sprint = planned(project, scrum_master)
    response = sm_client.post(url("goal", sprint), {"goal": "  Checkout works  "})
    assert response["Location"] == url("plan", sprint)
    assert Sprint.objects.get().goal == "Checkout works"


def test_the_buttons_move_items_without_javascript(sm_client, project, scrum_master):
    item = make(project, scrum_master, estimate="2")
    sprint = planned(project, scrum_master)
    response = sm_client.post(url("plan_move", sprint), {"item": item.key, "to": "sprint"}, follow=True)
    assert f"{item.key} added to {sprint.name}." in response.content.decode()
    assert BacklogItem.objects.get().sprint == sprint
    sm_client.post(url("plan_move", sprint), {"item": item.key, "to": "backlog"})
    assert BacklogItem.objects.get().sprint is None
    response = sm_client.post(url("plan_move", sprint), {"item": "SB-99", "to": "sprint"}, follow=True)
    assert "No such item in this project." in response.content.decode()


def test_the_summary_fragment_follows_a_move_through_the_api(sm_client, api, project, scrum_master):
    item = make(project, scrum_master, estimate="8")
    sprint = planned(project, scrum_master)
    assert ">0 <small>points</small>" in html_of(sm_client.get(url("plan", sprint, fragment="summary")))
    moved = api.as_(scrum_master).post(
        reverse("api:item-move", kwargs={"key": "SB", "item_key": item.key}), {"sprint": sprint.pk}, format="json"
    )
    assert moved.status_code == 200
    assert ">8 <small>points</small>" in html_of(sm_client.get(url("plan", sprint, fragment="summary")))


def test_stakeholders_see_the_plan_read_only(client, project, stakeholder, scrum_master):
    make(project, scrum_master)
    sprint = planned(project, scrum_master)
    client.force_login(stakeholder)
    html = html_of(client.get(url("plan", sprint)))
    assert "plan-row" in html
    for control in ('draggable="true"', 'class="plan-move"', url("start", sprint), url("goal", sprint)):
        assert control not in html
    assert client.post(url("plan_move", sprint), {"item": "SB-1", "to": "sprint"}).status_code == 403


def test_a_long_backlog_shows_its_first_rows_and_a_show_more_link(sm_client, project, scrum_master, monkeypatch):
    from sprints.views import planning

    monkeypatch.setattr(planning, "PLAN_PAGE_SIZE", 2)
    for n in range(3):
        make(project, scrum_master, f"Story {n}")
    sprint = planned(project, scrum_master)
    html = html_of(sm_client.get(url("plan", sprint)))
    assert keys_in(html, "backlog") == ["SB-1", "SB-2"]
    assert "data-plan-more" in html
    after = BacklogItem.objects.get(number=2).rank
    more = html_of(sm_client.get(url("plan", sprint), {"fragment": "backlog", "after": after}))
    assert re.findall(r'data-key="([^"]+)"', more) == ["SB-3"]
    assert "data-plan-more" not in more


def test_the_backlog_filter_on_the_planning_page(sm_client, project, scrum_master):
    make(project, scrum_master, "Pay by card")
    make(project, scrum_master, "Sign in")
    sprint = planned(project, scrum_master)
    html = html_of(sm_client.get(url("plan", sprint, q="card")))
    assert keys_in(html, "backlog") == ["SB-1"]
    assert "filtered" in html


def test_starting_a_sprint_opens_its_board(sm_client, project, scrum_master):
    item = make(project, scrum_master, estimate="5")
    sprint = planned(project, scrum_master)
    backlog_services.move_item(item=item, by=scrum_master, sprint=sprint)
    response = sm_client.post(url("start", sprint), follow=True)
    assert response.redirect_chain[-1][0] == url("board", sprint)
    assert f"{sprint.name} started: 1 item, 5 points committed." in response.content.decode()
    assert Sprint.objects.get(pk=sprint.pk).is_active


def test_starting_while_another_sprint_runs_says_so_on_the_plan(sm_client, project, scrum_master):
    running = started(project, scrum_master, name="Running")
    sprint = planned(project, scrum_master, name="Next")
    response = sm_client.post(url("start", sprint), follow=True)
    assert response.redirect_chain[-1][0] == url("plan", sprint)
    assert "Running is still active; complete it first." in response.content.decode()
    assert Sprint.objects.get(pk=sprint.pk).is_planned and Sprint.objects.get(pk=running.pk).is_active


# --- the board ----------------------------------------------------------------------------------


def test_the_board_has_a_column_per_status_with_cards(sm_client, project, scrum_master, developer):
    label = make(project, scrum_master, "Labelled", estimate="3", labels=["ux"], assignee=developer)
    other = make(project, scrum_master, "Unassigned")
    sprint = started(project, scrum_master, [label, other])
    set_status(other, scrum_master, "In Progress")

    html = html_of(sm_client.get(url("board", sprint)))

    heads = re.findall(r'<span class="board-head-name">([^<]+)</span>', html)
    assert heads == ["To Do", "In Progress", "In Review", "Done"]
    card = re.search(r'<li class="board-card" data-key="SB-1".*?</li>', html, re.S).group(0)
    assert "Labelled" in card and ">3</span>" in card and ">ux</span>" in card
    first, last = developer.first_name[0], developer.last_name[0]
    assert f">{first}{last}</span>".upper() in card.upper()
    assert reverse("backlog:item", kwargs={"key": "SB", "item_key": "SB-1"}) in card
    in_progress = re.search(r'<ol class="board-col" data-status="In Progress".*?</ol>', html, re.S).group(0)
    assert 'data-key="SB-2"' in in_progress
    assert 'draggable="true"' in html
    assert 'aria-current="page">Board</a>' in html


def test_a_column_over_its_wip_limit_turns_red(sm_client, project, scrum_master):
    items = [make(project, scrum_master, f"S{n}") for n in range(3)]
    Status.objects.filter(project=project, name="To Do").update(wip_limit=2)
    Status.objects.filter(project=project, name="Done").update(wip_limit=5)
    sprint = started(project, scrum_master, items)
    html = html_of(sm_client.get(url("board", sprint)))
    assert re.search(r'board-head is-over board-head--todo" data-status="To Do">.*?>3 / 2</span>', html, re.S)
    assert '<ol class="board-col is-over" data-status="To Do"' in html
    assert ">0 / 5</span>" in html and 'board-col is-over" data-status="Done"' not in html


def test_swimlanes_by_assignee_and_by_story_and_only_mine(client, project, scrum_master, developer):
    story = make(project, scrum_master, "Checkout story")
    mine = make(project, scrum_master, "Mine", type="task", assignee=developer, parent=story)
    theirs = make(project, scrum_master, "Theirs", assignee=scrum_master)
    sprint = started(project, scrum_master, [story, mine, theirs])
    client.force_login(developer)

    by_person = html_of(client.get(url("board", sprint, lanes="assignee")))
    lanes = re.findall(r'<div class="lane-head">.*?<strong>([^<]+)</strong>', by_person, re.S)
    assert set(lanes) == {developer.get_full_name(), scrum_master.get_full_name(), "Unassigned"}

    by_story = html_of(client.get(url("board", sprint, lanes="parent")))
    assert re.search(rf'href="[^"]+/{story.key}/">{story.key}</a> <strong class="lane-title">Checkout story', by_story)
    assert "Not under a story" in by_story

    only_mine = html_of(client.get(url("board", sprint, mine="1")))
    assert 'data-key="SB-2"' in only_mine and 'data-key="SB-3"' not in only_mine
    assert 'aria-pressed="true"' in only_mine


def test_the_board_fragment_and_its_version_change_with_a_card(sm_client, project, scrum_master, _monday):
    item = make(project, scrum_master)
    sprint = started(project, scrum_master, [item])
    version = json.loads(sm_client.get(url("board_version", sprint)).content)["version"]
    fragment = html_of(sm_client.get(url("board", sprint, fragment="board")))
    assert fragment.lstrip().startswith('<div class="board-area" id="board-area"')
    assert f'data-version="{version}"' in fragment and "<html" not in fragment

    _monday.shift(datetime.timedelta(minutes=1))
    set_status(item, scrum_master, "In Progress")
    assert json.loads(sm_client.get(url("board_version", sprint)).content)["version"] != version


def test_the_board_tab_opens_the_active_sprints_board(sm_client, project, scrum_master):
    sprint = started(project, scrum_master)
    response = sm_client.get(url("active_board") + "?lanes=assignee")
    assert response["Location"] == url("board", sprint) + "?lanes=assignee"


def test_without_an_active_sprint_the_board_tab_points_to_planning(sm_client, project, scrum_master):
    html = html_of(sm_client.get(url("active_board")))
    assert "No sprint is running" in html and "Plan a sprint" in html
    sprint = planned(project, scrum_master, name="Upcoming")
    html = html_of(sm_client.get(url("active_board")))
    assert url("plan", sprint) in html and "Plan Upcoming" in html


def test_the_board_header_has_a_sparkline_and_the_complete_button(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, [make(project, scrum_master, estimate="5")])
    html = html_of(sm_client.get(url("board", sprint)))
    assert '<svg class="sparkline"' in html
    assert url("complete", sprint) in html
    assert "10 working days left" in html


# --- completing -------------------------------------------------------------------------------


def test_completing_asks_where_unfinished_items_go(sm_client, project, scrum_master):
    done, open_item = make(project, scrum_master, "Done one"), make(project, scrum_master, "Open one", estimate="3")
    sprint = started(project, scrum_master, [done, open_item])
    set_status(done, scrum_master, "Done")
    html = html_of(sm_client.get(url("complete", sprint)))
    assert "Where does the unfinished item go?" in html
    assert "No sprint is planned: a new one is created after this one." in html
    assert "3 points" in html


def test_completing_sends_unfinished_items_to_the_backlog_and_opens_the_review(sm_client, project, scrum_master):
    open_item = make(project, scrum_master, "Open one")
    sprint = started(project, scrum_master, [open_item])
    response = sm_client.post(url("complete", sprint), {"unfinished": "backlog"}, follow=True)
    assert response.redirect_chain[-1][0] == url("review", sprint)
    assert "1 unfinished item is back at the top of the backlog" in response.content.decode()
    assert BacklogItem.objects.get().sprint is None
    assert Sprint.objects.get(pk=sprint.pk).is_completed


def test_completing_into_the_next_sprint(sm_client, project, scrum_master):
    open_item = make(project, scrum_master, "Open one")
    sprint = started(project, scrum_master, [open_item])
    next_one = planned(project, scrum_master, name="Next")
    response = sm_client.post(url("complete", sprint), {"unfinished": "next_sprint"}, follow=True)
    assert "1 unfinished item moved to Next." in response.content.decode()
    assert BacklogItem.objects.get().sprint == next_one


def test_an_unknown_choice_is_shown_on_the_complete_form(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, [make(project, scrum_master)])
    html = html_of(sm_client.post(url("complete", sprint), {"unfinished": "bin"}))
    assert "Select a valid choice." in html
    assert Sprint.objects.get(pk=sprint.pk).is_active


def test_developers_cannot_complete_a_sprint(client, project, developer, scrum_master):
    sprint = started(project, scrum_master)
    client.force_login(developer)
    assert client.get(url("complete", sprint)).status_code == 403
    assert client.post(url("complete", sprint), {"unfinished": "backlog"}).status_code == 403


# --- the review --------------------------------------------------------------------------------


def test_the_review_of_a_running_sprint_is_live_with_both_charts(sm_client, project, scrum_master, _monday):
    first, second = make(project, scrum_master, "A", estimate="5"), make(project, scrum_master, "B", estimate="3")
    sprint = started(project, scrum_master, [first, second], goal="Sign-in works")
    _monday.shift(datetime.timedelta(days=1))
    set_status(first, scrum_master, "Done")

    html = html_of(sm_client.get(url("review", sprint)))

    assert "Live figures" in html and "Sign-in works" in html
    assert html.count('<figure class="chart chart--line">') == 2
    assert "Today</text>" in html  # the marker on a running sprint
    assert re.search(r"Completed</span>\s*<span class=\"stat-value\">5 <small>points</small>", html)
    assert "of 8 committed" in html
    assert f"{url('review', sprint)}" in html and reverse("api:sprint-report", kwargs={"key": "SB", "pk": sprint.pk})
    assert "?format=csv" in html and "data-print" in html


def test_the_review_switches_charts_to_item_counts(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, [make(project, scrum_master, estimate="5")])
    points = html_of(sm_client.get(url("review", sprint)))
    items = html_of(sm_client.get(url("review", sprint, unit="items")))
    assert ">Points</text>" in points and ">Items</text>" in items


def test_a_completed_sprints_review_keeps_its_frozen_figures(sm_client, project, scrum_master, _monday):
    first, second = make(project, scrum_master, "A", estimate="5"), make(project, scrum_master, "B", estimate="3")
    sprint = started(project, scrum_master, [first, second])
    set_status(first, scrum_master, "Done")
    services.complete_sprint(sprint=sprint, by=scrum_master)
    before = html_of(sm_client.get(url("review", sprint)))
    assert "Figures frozen" in before and "Carried over" in before

    _monday.shift(datetime.timedelta(days=1))
    item = BacklogItem.objects.get(pk=first.pk)
    backlog_services.update_item(item=item, by=scrum_master, estimate="13", title="Renamed later")

    after = html_of(sm_client.get(url("review", sprint)))
    assert re.search(r"stat-value\">5 <small>points</small>", after)
    assert "Renamed later" not in after and ">A</span>" in after
    assert "Today</text>" not in after


def test_the_verdict_on_the_goal(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, goal="Ship")
    response = sm_client.post(url("goal_outcome", sprint), {"outcome": "partly", "note": "Almost"})
    assert response["Location"] == url("review", sprint) + "#goal"
    html = html_of(sm_client.get(url("review", sprint)))
    assert "Goal partly met" in html and "Almost" in html


def test_a_refused_verdict_is_shown_on_its_form_with_the_note_kept(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, goal="Ship")
    html = html_of(sm_client.post(url("goal_outcome", sprint), {"outcome": "maybe", "note": "Kept note"}))
    assert "Select a valid choice." in html and "Kept note" in textareas(html)
    assert Sprint.objects.get().goal_outcome == ""


def test_stakeholder_feedback_becomes_a_backlog_item(sm_client, project, scrum_master):
    sprint = started(project, scrum_master)
    response = sm_client.post(url("feedback", sprint), {"title": "Export to PDF", "description": "For the board"})
    assert response["Location"] == url("review", sprint) + "#feedback"
    item = BacklogItem.objects.get(title="Export to PDF")
    assert list(item.labels.values_list("name", flat=True)) == ["feedback"]
    html = html_of(sm_client.get(url("review", sprint)))
    assert item.key in html and "Export to PDF" in html


def test_feedback_without_a_title_keeps_the_details(sm_client, project, scrum_master):
    sprint = started(project, scrum_master)
    html = html_of(sm_client.post(url("feedback", sprint), {"title": " ", "description": "Keep me"}))
    assert "This field is required." in html and "Keep me" in textareas(html)
    assert not BacklogItem.objects.exists()


def test_stakeholders_read_the_review_but_cannot_post(client, project, stakeholder, scrum_master):
    sprint = started(project, scrum_master)
    client.force_login(stakeholder)
    html = html_of(client.get(url("review", sprint)))
    assert url("feedback", sprint) not in html and url("goal_outcome", sprint) not in html
    assert client.post(url("feedback", sprint), {"title": "Hi"}).status_code == 403
    assert client.post(url("goal_outcome", sprint), {"outcome": "met"}).status_code == 403


def test_a_planned_sprints_review_waits_for_the_start(sm_client, project, scrum_master):
    sprint = planned(project, scrum_master)
    html = html_of(sm_client.get(url("review", sprint)))
    assert "The review opens when the sprint starts" in html


# --- velocity and forecast --------------------------------------------------------------------------


def test_velocity_page_charts_completed_sprints_and_forecasts_points(sm_client, project, scrum_master, _monday):
    for number, estimate in enumerate(("5", "8"), start=1):
        item = make(project, scrum_master, f"Story {number}", estimate=estimate)
        sprint = started(project, scrum_master, [item], name=f"Sprint {number}")
        set_status(item, scrum_master, "Done")
        services.complete_sprint(sprint=sprint, by=scrum_master)
    html = html_of(sm_client.get(url("velocity"), {"points": "20"}))
    assert '<figure class="chart chart--bar">' in html
    assert "Average of the last 3: 6.5" in html
    assert "50% likely" in html and "85% likely" in html
    assert "sprints" in html


def test_a_forecast_beyond_ten_years_says_so(sm_client, project, scrum_master):
    item = make(project, scrum_master, "Tiny", estimate="1")
    sprint = started(project, scrum_master, [item])
    set_status(item, scrum_master, "Done")
    services.complete_sprint(sprint=sprint, by=scrum_master)
    html = html_of(sm_client.get(url("velocity"), {"points": "100000"}))
    assert html.count("more than ten years") == 2


def test_a_forecast_form_error_is_shown_with_the_number_kept(sm_client, project, scrum_master):
    sprint = started(project, scrum_master, [make(project, scrum_master, estimate="3")])
    services.complete_sprint(sprint=sprint, by=scrum_master)
    html = html_of(sm_client.get(url("velocity"), {"points": "-3"}))
    assert "greater than or equal to 0" in html and 'value="-3"' in html
    assert "50% likely" not in html


def test_velocity_page_without_history(sm_client, project):
    html = html_of(sm_client.get(url("velocity")))
    assert "No completed sprints yet" in html


# --- html safety ------------------------------------------------------------------------------------


def test_pages_keep_user_text_inert(sm_client, project, scrum_master, developer):
    developer.first_name = EVIL
    developer.save()
    item = make(project, scrum_master, EVIL, estimate="3", labels=[EVIL[:40]], assignee=developer)
    backlog = make(project, scrum_master, EVIL)
    sprint = started(project, scrum_master, [item], name=EVIL[:100], goal=EVIL)
    services.record_goal_outcome(sprint=sprint, by=scrum_master, outcome="met", note=EVIL)
    services.add_review_feedback(sprint=sprint, by=scrum_master, title=EVIL)
    set_status(item, scrum_master, "Done")
    assert backlog.sprint is None
    pages = [
        url("list"),
        url("plan", sprint),
        url("plan", sprint, fragment="summary"),
        url("board", sprint),
        url("board", sprint, lanes="assignee"),
        url("board", sprint, lanes="parent", fragment="board"),
        url("review", sprint),
        url("complete", sprint),
    ]
    for address in pages:
        html = html_of(sm_client.get(address))
        assert unsafe_parts(html, allow_tags=PAGE_TAGS) == [], address
        if "fragment=summary" not in address:  # the summary shows figures only
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, address
    services.complete_sprint(sprint=sprint, by=scrum_master)
    html = html_of(sm_client.get(url("review", sprint)))
    assert unsafe_parts(html, allow_tags=PAGE_TAGS) == []


# --- a constant number of queries ---------------------------------------------------------------------


def fill_sprint(project, by, sprint: Sprint, count: int, assignees: list) -> None:
    """``count`` items in the sprint at once, with their "created" events, as the services would leave them."""
    statuses = list(project.statuses.all())
    labels = [Label.objects.get_or_create(project=project, name=name)[0] for name in ("ux", "api")]
    counter, _created = ItemCounter.objects.get_or_create(project=project)
    first = counter.last_number + 1
    last_rank = BacklogItem.objects.filter(project=project).order_by("-rank").values_list("rank", flat=True).first()
    ranks = ranking.keys_between(last_rank, None, count)
    now = timezone.now()
    items = BacklogItem.objects.bulk_create(
        BacklogItem(
            project=project,
            number=first + n,
            title=f"Bulk story {n}",
            status=statuses[n % len(statuses)],
            assignee=assignees[n % len(assignees)],
            sprint=sprint,
            estimate="3",
            points=3,
            rank=ranks[n],
        )
        for n in range(count)
    )
    counter.last_number = first + count - 1
    counter.save()
    BacklogItem.labels.through.objects.bulk_create(
        BacklogItem.labels.through(backlogitem_id=item.pk, label_id=labels[n % 2].pk) for n, item in enumerate(items)
    )
    ItemEvent.objects.bulk_create(
        ItemEvent(
            project=project,
            item_id=item.pk,
            item_number=item.number,
            actor=by,
            at=now,
            kind=EventKind.CREATED,
            new={
                "title": item.title,
                "type": item.type,
                "estimate": "3",
                "status": {"id": item.status.pk, "name": item.status.name, "category": item.status.category},
                "sprint": {"id": sprint.pk, "name": sprint.name},
                "assignee": item.assignee.get_username() if item.assignee else None,
            },
        )
        for item in items
    )


@pytest.fixture
def sprint_of(project, scrum_master, developer, product_owner):
    def build(count: int, *, start: bool = True) -> Sprint:
        for n in range(3):
            make(project, scrum_master, f"Backlog {n}", estimate="2")
        sprint = planned(project, scrum_master, goal="Fast pages")
        fill_sprint(project, scrum_master, sprint, count, [developer, product_owner, None])
        return services.start_sprint(sprint=sprint, by=scrum_master) if start else sprint

    return build


@pytest.mark.parametrize("count", [5, 300])
def test_the_board_runs_a_constant_number_of_queries(sm_client, sprint_of, count, django_assert_num_queries):
    sprint = sprint_of(count)
    # Session, user, project, membership, sprint, statuses, cards, labels, version, and the header's
    # burndown sparkline: the sprint's item ids, their events, the commitment.
    with django_assert_num_queries(12):
        response = sm_client.get(url("board", sprint))
    assert response.content.decode().count('<li class="board-card') == count
    with django_assert_num_queries(12):
        sm_client.get(url("board", sprint, lanes="assignee"))
    with django_assert_num_queries(9):
        sm_client.get(url("board", sprint, fragment="board"))


@pytest.mark.parametrize("count", [5, 300])
def test_planning_runs_a_constant_number_of_queries(sm_client, sprint_of, count, django_assert_num_queries):
    sprint = sprint_of(count, start=False)
    with django_assert_num_queries(14):
        response = sm_client.get(url("plan", sprint))
    assert len(keys_in(response.content.decode(), "sprint")) == count
    with django_assert_num_queries(9):
        sm_client.get(url("plan", sprint, fragment="summary"))


@pytest.mark.parametrize("count", [5, 300])
def test_the_review_runs_a_constant_number_of_queries(sm_client, sprint_of, count, django_assert_num_queries):
    sprint = sprint_of(count)
    with django_assert_num_queries(18):
        response = sm_client.get(url("review", sprint))
    assert response.status_code == 200


# --- column limits ------------------------------------------------------------------------------


def test_a_sprint_manager_sets_and_clears_column_limits(client, project, product_owner):
    client.force_login(product_owner)
    url = f"/projects/{project.key}/board/limits/"
    columns = {status.name: status for status in Status.objects.filter(project=project)}
    page = client.get(url).content.decode()
    assert all(name in page for name in columns)
    data = {f"limit_{status.pk}": "" for status in columns.values()}
    response = client.post(url, {**data, f"limit_{columns['In Progress'].pk}": "3"})
    assert response.status_code == 302
    assert Status.objects.get(pk=columns["In Progress"].pk).wip_limit == 3
    client.post(url, data)
    assert Status.objects.get(pk=columns["In Progress"].pk).wip_limit is None


@pytest.mark.parametrize("value", ["0", "1000", "many"])
def test_a_bad_column_limit_is_shown_on_the_form_and_nothing_changes(client, project, product_owner, value):
    from backlog import services as backlog_services

    client.force_login(product_owner)
    review = Status.objects.get(project=project, name="In Review")
    progress = Status.objects.get(project=project, name="In Progress")
    backlog_services.set_wip_limit(status=review, by=product_owner, limit=2)
    response = client.post(
        f"/projects/{project.key}/board/limits/", {f"limit_{progress.pk}": "4", f"limit_{review.pk}": value}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-invalid="true"' in page and 'role="alert"' in page
    assert f'value="{value}"' in page  # what was typed stays on the form
    assert Status.objects.get(pk=review.pk).wip_limit == 2
    assert Status.objects.get(pk=progress.pk).wip_limit is None  # all or nothing


def test_the_board_links_to_column_limits_for_sprint_managers_only(client, project, product_owner, developer):
    sprint = services.create_sprint(project=project, by=product_owner)
    url = f"/projects/{project.key}/sprints/{sprint.pk}/board/"
    client.force_login(product_owner)
    assert "/board/limits/" in client.get(url).content.decode()
    client.force_login(developer)
    assert "/board/limits/" not in client.get(url).content.decode()


def test_the_board_marks_a_card_an_open_impediment_blocks(client, project, product_owner):
    sprint = services.create_sprint(project=project, by=product_owner)
    blocked = backlog_services.create_item(project=project, by=product_owner, title="Waiting on VPN", sprint=sprint)
    backlog_services.create_item(project=project, by=product_owner, title="Free to go", sprint=sprint)
    BacklogItem.objects.filter(pk=blocked.pk).update(impeded=True)  # as the standups services set it
    client.force_login(product_owner)
    page = client.get(f"/projects/{project.key}/sprints/{sprint.pk}/board/").content.decode()
    cards = re.findall(r'<li class="board-card([^"]*)" data-key="([^"]+)"', page)
    assert dict((key, classes) for classes, key in cards) == {blocked.key: " is-impeded", "SB-2": ""}
    assert page.count('class="impeded-flag"') == 1
