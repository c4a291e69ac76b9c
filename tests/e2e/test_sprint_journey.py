"""A Scrum Master plans a sprint by dragging, starts it, moves a card to Done, completes it and reviews it."""

import re

import pytest
from playwright.sync_api import expect

from backlog import services as backlog_services
from backlog.models import BacklogItem
from sprints import services as sprint_services
from sprints.models import Sprint
from tests.e2e.pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def drag(page, source, target) -> None:
    """A real mouse drag: press on the source, move in steps onto the target, release."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + 30, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def test_scrum_master_plans_runs_completes_and_reviews_a_sprint(live_server, page, team):
    project, po = team.project, team.product_owner
    for title, estimate in (("Sign in with e-mail", "3"), ("Reset a password", "5"), ("Sign out", "2")):
        backlog_services.create_item(project=project, by=po, title=title, estimate=estimate)
    page.on("dialog", lambda dialog: dialog.accept())  # "Start the sprint?"
    log_in(page, live_server.url, team.scrum_master.username)

    # Create a sprint from the Sprints tab: only a goal, the name and dates come by default.
    page.goto(live_server.url + "/projects/SB/backlog/")
    page.get_by_role("link", name="Sprints", exact=True).click()
    expect(page.get_by_text("No sprints yet")).to_be_visible()
    page.get_by_label("Sprint goal").fill("People can sign in and out")
    page.get_by_role("button", name="Create sprint").click()
    expect(page.get_by_text("Sprint 1 planned. Drag items into it.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sprint 1", exact=True)).to_be_visible()

    # Plan it: drag two items from the product backlog into the sprint; the totals follow.
    sprint_panel = page.locator(".plan-panel--sprint")
    totals = page.locator('[data-list-totals="sprint"]')
    for key, expected in (("SB-1", "1 item · 3 points"), ("SB-3", "2 items · 5 points")):
        with page.expect_response(lambda r, key=key: f"/items/{key}/move/" in r.url) as moved:
            drag(page, page.locator(f'[data-list="backlog"] [data-key="{key}"]'), sprint_panel)
        assert moved.value.status == 200
        expect(page.locator(f'[data-list="sprint"] [data-key="{key}"]')).to_be_visible()
        expect(totals).to_have_text(expected)
    expect(page.locator("#plan-summary [data-summary-points]")).to_contain_text("5")
    expect(page.locator('[data-list="backlog"] .plan-row')).to_have_count(1)
    sprint = Sprint.objects.get()
    assert set(sprint.items.values_list("number", flat=True)) == {1, 3}

    # Start it: the board opens.
    page.get_by_role("button", name="Start sprint").click()
    expect(page.get_by_text("Sprint 1 started: 2 items, 5 points committed.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/sprints/{sprint.pk}/board/$"))

    # Drag a card to Done; after the board refreshes it is in the Done column, counted there.
    done = page.locator('.board-col[data-status="Done"]')
    with page.expect_response(lambda r: "/items/SB-1/" in r.url and r.request.method == "PATCH") as patched:
        drag(page, page.locator('.board-card[data-key="SB-1"]'), done)
    assert patched.value.status == 200
    expect(done.locator('[data-key="SB-1"]')).to_be_visible()
    expect(page.locator('.board-head[data-status="Done"] .board-count')).to_have_text("1")
    assert BacklogItem.objects.get(number=1).status.name == "Done"

    # Complete it: the unfinished item goes back to the top of the backlog.
    page.get_by_role("link", name="Complete sprint").click()
    expect(page.get_by_text("Where does the unfinished item go?")).to_be_visible()
    page.get_by_role("button", name="Complete sprint").click()
    expect(page.get_by_text("Sprint 1 completed; 1 unfinished item is back at the top of the backlog.")).to_be_visible()
    assert BacklogItem.objects.get(number=3).sprint is None

    # The review: both charts and the completed figures.
    expect(page).to_have_url(re.compile(rf"/sprints/{sprint.pk}/review/$"))
    expect(page.locator("figure.chart--line svg")).to_have_count(2)
    completed = page.locator(".stat-tile").filter(has_text="Completed").first
    expect(completed.locator(".stat-value")).to_have_text(re.compile(r"^3\s+points$"))
    expect(completed).to_contain_text("of 5 committed")
    expect(page.get_by_role("heading", name="The increment")).to_be_visible()
    expect(page.get_by_text("Figures frozen when the sprint was completed")).to_be_visible()


def test_the_definition_of_done_asks_for_a_reason_and_a_second_board_follows(live_server, new_page, team):
    project, sm = team.project, team.scrum_master
    project.definition_of_done = "Code reviewed"
    project.save()
    item = backlog_services.create_item(project=project, by=sm, title="Pay by card", estimate="5")
    sprint = sprint_services.create_sprint(project=project, by=sm, goal="Payments")
    backlog_services.move_item(item=item, by=sm, sprint=sprint)
    sprint_services.start_sprint(sprint=sprint, by=sm)
    board_url = f"{live_server.url}/projects/SB/sprints/{sprint.pk}/board/"

    watcher = new_page()  # a developer watching the same board
    log_in(watcher, live_server.url, team.developer.username)
    watcher.goto(board_url)
    expect(watcher.locator('.board-col[data-status="To Do"] [data-key="SB-1"]')).to_be_visible()

    page = new_page()
    log_in(page, live_server.url, sm.username)
    page.goto(board_url)
    done = page.locator('.board-col[data-status="Done"]')
    dialog = page.locator("#override-dialog")

    # Not met and no reason: the card goes back.
    drag(page, page.locator('.board-card[data-key="SB-1"]'), done)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The Definition of Done is not met (Code reviewed)")
    dialog.get_by_role("button", name="Cancel: put the card back").click()
    expect(page.locator('.board-col[data-status="To Do"] [data-key="SB-1"]')).to_be_visible()

    # With a reason it moves, and the other person's board follows by itself.
    drag(page, page.locator('.board-card[data-key="SB-1"]'), done)
    dialog.get_by_label("Say why it counts as done:").fill("Reviewed in pair programming")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        dialog.get_by_role("button", name="Move with this reason").click()
    expect(done.locator('[data-key="SB-1"]')).to_be_visible()
    expect(watcher.locator('.board-col[data-status="Done"] [data-key="SB-1"]')).to_be_visible(timeout=12_000)
    assert BacklogItem.objects.get(pk=item.pk).status.name == "Done"
