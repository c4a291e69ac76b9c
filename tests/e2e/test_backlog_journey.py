"""A Product Owner fills the backlog, ranks it by dragging, refines two items in bulk and one by hand."""

import re

import pytest
from playwright.sync_api import expect

from backlog.models import BacklogItem, Comment
from tests.e2e.pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def drag(page, handle, target) -> None:
    """A real mouse drag: press on the handle, move in steps to the top edge of the target row, release."""
    start = handle.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + 300, end["y"] + 5, steps=8)
    page.mouse.up()


def row_keys(page) -> list[str]:
    return page.locator("#backlog-rows .backlog-row").evaluate_all("rows => rows.map(r => r.dataset.key)")


def test_product_owner_fills_ranks_and_refines_the_backlog(live_server, page, team):
    log_in(page, live_server.url, team.product_owner.username)
    page.get_by_role("link", name="Scrumboard").last.click()
    page.get_by_role("link", name="Backlog", exact=True).click()
    expect(page.get_by_role("heading", name="Backlog", exact=True)).to_be_visible()
    expect(page.get_by_text("The backlog is empty")).to_be_visible()

    # Quick add: a title and Enter.
    quick = page.get_by_label("New item title")
    quick.fill("Sign in with e-mail")
    quick.press("Enter")
    expect(page.get_by_text("Added SB-1 at the bottom of the backlog.")).to_be_visible()
    expect(page.get_by_label("New item title")).to_be_focused()  # ready for the next one

    # A pasted list: one story per line.
    page.keyboard.insert_text("Reset a forgotten password\nSign out everywhere\nTwo-factor sign in")
    add = page.locator("[data-quick-add] button[type=submit]")
    expect(add).to_have_text("Add 3 items")
    add.click()
    expect(page.get_by_text("Added 3 items at the bottom of the backlog: SB-2, SB-3, SB-4.")).to_be_visible()
    assert row_keys(page) == ["SB-1", "SB-2", "SB-3", "SB-4"]
    expect(page.get_by_text("4 items · 0 points")).to_be_visible()

    # Drag the last one to the top with the mouse; the order survives a reload.
    with page.expect_response(lambda r: "/api/v1/projects/SB/items/SB-4/move/" in r.url) as moved:
        drag(page, page.locator('[data-key="SB-4"] .drag-handle'), page.locator('[data-key="SB-1"]'))
    assert moved.value.status == 200
    assert row_keys(page)[0] == "SB-4"
    page.reload()
    assert row_keys(page) == ["SB-4", "SB-1", "SB-2", "SB-3"]

    # Select two items and give them a label in bulk.
    page.get_by_label("Select SB-1", exact=True).check()
    page.get_by_label("Select SB-2", exact=True).check()
    bulk = page.locator("#bulk-form")
    expect(bulk.get_by_text("2 selected")).to_be_visible()
    bulk.get_by_label("Labels", exact=True).fill("auth")
    bulk.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Updated 2 items.")).to_be_visible()

    # Filter by that label: the select submits itself.
    page.get_by_label("Label", exact=True).select_option("auth")
    expect(page).to_have_url(re.compile(r"label=auth"))
    assert row_keys(page) == ["SB-1", "SB-2"]

    # Select both and move them to In Progress in bulk.
    page.get_by_label("Select all shown").check()
    expect(bulk.get_by_text("2 selected")).to_be_visible()
    bulk.get_by_label("Status", exact=True).select_option(label="In Progress")
    bulk.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Updated 2 items.")).to_be_visible()
    expect(page.locator('[data-key="SB-1"] .status-badge')).to_have_text("In Progress")
    assert set(BacklogItem.objects.filter(status__name="In Progress").values_list("number", flat=True)) == {1, 2}

    # Estimate one inline.
    page.get_by_label("Estimate of SB-1", exact=True).select_option("5")
    expect(page.locator("#backlog-totals")).to_have_text("2 items · 5 points")

    # Open an item, edit it, tick off a criterion and comment.
    page.get_by_role("link", name="Sign in with e-mail").click()
    expect(page.locator(".item-key")).to_have_text("SB-1")
    page.get_by_label("Title", exact=True).fill("Sign in with e-mail or phone")
    page.get_by_role("tab", name="Write").first.click()
    page.get_by_label("Description").fill("Users sign in with **e-mail** or a phone number.")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_role("button", name="Save changes").last.click()
    expect(page.get_by_text("SB-1 saved.")).to_be_visible()
    expect(page.locator(".md-preview strong")).to_have_text("e-mail")
    item = BacklogItem.objects.get(number=1)
    assert (item.title, item.priority) == ("Sign in with e-mail or phone", "high")

    page.get_by_placeholder("Add a criterion: what must be true when this is done?").fill("Wrong password says so")
    page.get_by_placeholder("Add a criterion: what must be true when this is done?").press("Enter")
    expect(page.locator("#criteria .criterion-text")).to_have_text(["Wrong password says so"])
    page.get_by_role("checkbox", name="Wrong password says so").click()
    expect(page.get_by_text("1 of 1 met")).to_be_visible()

    page.get_by_label("Add a comment").fill(f"Ready for review, @{team.developer.username}")
    page.get_by_role("button", name="Comment", exact=True).click()
    comment = page.locator(".comment").last
    expect(comment).to_contain_text("Ready for review")
    expect(comment.get_by_role("link", name=f"@{team.developer.username}")).to_be_visible()
    assert Comment.objects.get().mentions.get() == team.developer


def test_show_more_appends_rows_that_rank_like_the_others(live_server, page, team, monkeypatch):
    from backlog import services, views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    for n in range(1, 6):
        services.create_item(project=team.project, by=team.product_owner, title=f"Story {n}")
    log_in(page, live_server.url, team.product_owner.username)
    page.goto(live_server.url + "/projects/SB/backlog/")
    assert row_keys(page) == ["SB-1", "SB-2", "SB-3"]

    page.get_by_role("link", name="Show more").click()
    expect(page.locator("#backlog-rows .backlog-row")).to_have_count(5)
    expect(page.get_by_role("link", name="Show more")).to_have_count(0)

    with page.expect_response(lambda r: r.url.endswith("/items/SB-5/move/")) as moved:
        page.locator('[data-key="SB-5"] .drag-handle').drag_to(
            page.locator('[data-key="SB-1"]'), target_position={"x": 300, "y": 4}
        )
    assert moved.value.status == 200
    page.reload()
    assert row_keys(page) == ["SB-5", "SB-1", "SB-2"]
