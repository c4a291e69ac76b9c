"""A mention reaches the bell and the inbox; the reader marks it read and switches mention e-mail off."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from backlog import services as backlog_services
from notifications.models import Channel, Kind, Notification, NotificationPreference
from tests.e2e.pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Screenshots for reviewers; only written, never read back, so a shared /tmp is harmless.
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))  # noqa: S108


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"notifications-{name}.png"), full_page=True)


def test_a_mention_shows_on_the_bell_and_in_the_inbox_and_its_email_can_be_switched_off(live_server, new_page, team):
    author, reader = team.scrum_master, team.developer
    item = backlog_services.create_item(project=team.project, by=author, title="Sign in with e-mail")
    item_url = live_server.url + reverse("backlog:item", kwargs={"key": "SB", "item_key": item.key})

    # A comments on the item, mentioning B.
    writer = new_page()
    log_in(writer, live_server.url, author.username)
    writer.goto(item_url)
    writer.get_by_label("Add a comment").fill(f"Can you review this, @{reader.username}?")
    writer.get_by_role("button", name="Comment", exact=True).click()
    expect(writer.locator(".comment").last).to_contain_text("Can you review this")

    # B logs in elsewhere: the bell shows one unread notification.
    page = new_page()
    log_in(page, live_server.url, reader.username)
    bell = page.locator("a.bell")
    expect(bell.locator(".badge")).to_have_text("1")

    # The inbox shows the mention; marking it read empties the bell.
    bell.click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    mention = page.locator(".notification.unread")
    expect(mention).to_have_count(1)
    expect(mention).to_contain_text(re.compile(r"mentioned you on SB-1"))
    expect(mention).to_contain_text("Can you review this")
    shot(page, "inbox")
    mention.get_by_role("button", name="Mark read").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator(".notification")).to_contain_text(re.compile(r"mentioned you on SB-1"))
    expect(bell.locator(".badge")).to_be_hidden()
    assert Notification.objects.inbox(reader).unread().count() == 0

    # Settings: switch mention e-mail off; it stays off after a reload.
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    email_box = page.get_by_label("Mention: Email")
    expect(email_box).to_be_checked()
    email_box.uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Notification settings saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Mention: Email")).not_to_be_checked()
    expect(page.get_by_label("Mention: In app")).to_be_checked()
    shot(page, "settings")
    assert NotificationPreference.objects.get(user=reader, kind=Kind.MENTION, channel=Channel.EMAIL).enabled is False
