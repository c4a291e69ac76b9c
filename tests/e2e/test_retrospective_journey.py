"""A retrospective from writing to closing: two members write, the facilitator reveals and groups, the team
votes (one member hits the limit), discusses, agrees on an action item and closes; the action is in the backlog."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backlog.models import BacklogItem
from retrospectives.models import Phase, Retrospective
from tests.e2e.pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 (where the brief collects screenshots)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"retro-{name}.png"), full_page=True)


def column(page, title: str):
    return page.locator(".retro-col").filter(has=page.get_by_role("heading", name=re.compile(rf"^{title}")))


def write_card(page, title: str, text: str) -> None:
    col = column(page, title)
    col.get_by_placeholder("Add a card…").fill(text)
    col.get_by_role("button", name="Add").click()
    expect(col.locator(".retro-card", has_text=text)).to_be_visible()


def test_a_retrospective_from_writing_to_closing(live_server, new_page, team):
    base = live_server.url
    developer, product_owner = team.developer, team.product_owner
    developer.first_name, developer.last_name = "Dana", "Dev"
    developer.save()

    # The Scrum Master starts a retrospective from the Retrospectives tab: 2 votes each.
    facilitator = new_page()
    facilitator.on("dialog", lambda dialog: dialog.accept())  # "Close the retrospective?"
    log_in(facilitator, base, team.scrum_master.username)
    facilitator.goto(base + "/projects/SB/backlog/")
    facilitator.get_by_role("link", name="Retrospectives", exact=True).click()
    expect(facilitator.get_by_text("No retrospectives yet")).to_be_visible()
    facilitator.get_by_text("+ New retrospective").click()
    facilitator.get_by_label("Title").fill("Sprint 1 retrospective")
    facilitator.get_by_label("Votes per member").fill("2")
    facilitator.get_by_role("button", name="Create retrospective").click()
    expect(facilitator.get_by_text("Retrospective created.")).to_be_visible()
    retro = Retrospective.objects.get()
    board_url = f"{base}/projects/SB/retrospectives/{retro.pk}/"
    facilitator.get_by_role("button", name="Next phase").click()
    expect(facilitator.locator(".retro-phase-step.is-current")).to_have_text("Write")

    # Two members write cards in their own browsers; each sees only their own until the reveal.
    dev = new_page()
    log_in(dev, base, developer.username)
    dev.goto(board_url)
    write_card(dev, "To improve", "Flaky tests block merges")
    po = new_page()
    log_in(po, base, product_owner.username)
    po.goto(board_url)
    write_card(po, "To improve", "The pipeline takes 40 minutes")
    write_card(po, "Went well", "The demo went smoothly")
    expect(po.get_by_text("Flaky tests block merges")).to_have_count(0)
    expect(po.get_by_text("1 card by others is hidden until the reveal.")).to_be_visible()
    shot(po, "1-writing")

    # The facilitator reveals: everyone's board refreshes by itself and shows every card.
    facilitator.reload()
    facilitator.get_by_role("button", name="Reveal the cards").click()
    expect(facilitator.locator(".retro-phase-step.is-current")).to_have_text("Group")
    expect(dev.get_by_text("The pipeline takes 40 minutes")).to_be_visible(timeout=15_000)
    expect(dev.locator(".retro-card", has_text="Flaky tests").get_by_text("Yours")).to_be_visible()
    expect(dev.locator(".retro-card", has_text="The pipeline").get_by_text("Ysolde")).to_have_count(0)

    # Group the two CI cards under a name.
    for text in ("Flaky tests block merges", "The pipeline takes 40 minutes"):
        facilitator.locator(".retro-card", has_text=text).locator('input[name="cards"]').check()
    facilitator.get_by_label("Group the selected cards as").fill("CI is slow and flaky")
    facilitator.get_by_role("button", name="Group", exact=True).click()
    group = facilitator.locator(".retro-group", has_text="CI is slow and flaky")
    expect(group.locator(".retro-card")).to_have_count(2)
    shot(facilitator, "2-grouped")

    # Voting: the developer spends both votes on the group, then tries a third and is refused.
    facilitator.get_by_role("button", name="Next phase").click()
    expect(facilitator.locator(".retro-phase-step.is-current")).to_have_text("Vote")
    expect(dev.get_by_text("Votes left: 2 of 2")).to_be_visible(timeout=15_000)
    dev_group = dev.locator(".retro-group", has_text="CI is slow and flaky")
    dev_group.get_by_role("button", name="Vote for this group").click()
    expect(dev.get_by_text("Votes left: 1 of 2")).to_be_visible()
    dev.locator(".retro-group", has_text="CI is slow").get_by_role("button", name="Vote for this group").click()
    expect(dev.get_by_text("Votes left: 0 of 2")).to_be_visible()
    dev.locator(".retro-card", has_text="The demo went").get_by_role("button", name="Vote for this card").click()
    expect(dev.get_by_text("You have used all 2 of your votes. Take one back to vote elsewhere.")).to_be_visible()
    shot(dev, "3-vote-limit")
    po.reload()
    po.locator(".retro-card", has_text="The demo went").get_by_role("button", name="Vote for this card").click()
    expect(po.get_by_text("Votes left: 1 of 2")).to_be_visible()
    # Totals stay hidden while voting.
    expect(po.locator(".retro-votes")).to_have_count(0)

    # Discuss: topics by votes, a note; then the action item with an owner; close.
    facilitator.reload()
    facilitator.get_by_role("button", name="Next phase").click()
    topics = facilitator.locator(".retro-topic")
    expect(topics.first).to_contain_text("CI is slow and flaky")
    expect(topics.first.locator(".retro-votes")).to_have_text("2")
    topics.first.get_by_placeholder("A note…").fill("Quarantine flaky tests; cache dependencies")
    topics.first.get_by_role("button", name="Add note").click()
    expect(facilitator.get_by_text("Quarantine flaky tests; cache dependencies")).to_be_visible()
    facilitator.get_by_role("button", name="Next phase").click()
    expect(facilitator.locator(".retro-phase-step.is-current")).to_have_text("Action items")
    facilitator.get_by_label("Action", exact=True).fill("Quarantine flaky tests in CI")
    facilitator.get_by_label("Owner").select_option(label="Dana Dev")
    facilitator.get_by_label("Due date").fill("2030-01-31")
    facilitator.get_by_role("button", name="Add action item").click()
    expect(facilitator.locator(".retro-action-list")).to_contain_text("Quarantine flaky tests in CI · Dana Dev")
    shot(facilitator, "4-actions")
    facilitator.get_by_role("button", name="Close the retrospective").click()
    expect(
        facilitator.get_by_text("Retrospective closed: its action items are in the product backlog.")
    ).to_be_visible()
    expect(facilitator).to_have_url(re.compile(rf"/retrospectives/{retro.pk}/summary/$"))
    item = BacklogItem.objects.get(title="Quarantine flaky tests in CI")
    expect(facilitator.get_by_role("link", name=item.key)).to_be_visible()
    shot(facilitator, "5-summary")
    assert Retrospective.objects.get().phase == Phase.CLOSED

    # The action item is in the product backlog, labelled as a retrospective action.
    facilitator.get_by_role("link", name="Backlog", exact=True).click()
    row = facilitator.locator("body").get_by_text("Quarantine flaky tests in CI")
    expect(row.first).to_be_visible()
    shot(facilitator, "6-backlog")
    assert list(item.labels.values_list("name", flat=True)) == ["retrospective-action"]
    assert item.assignee == developer
