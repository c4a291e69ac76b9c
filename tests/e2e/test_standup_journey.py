"""A member writes a daily-scrum entry with a blocker; the Scrum Master runs the meeting with the timer."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backlog import services as backlog_services
from backlog.models import BacklogItem, Status
from sprints import services as sprint_services
from standups.models import DailyScrum, Impediment
from tests.e2e.pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Screenshots for reviewers; only written, never read back, so a shared /tmp is harmless.
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))  # noqa: S108


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"standup-{name}.png"), full_page=True)


def test_member_writes_an_entry_and_the_facilitator_runs_the_daily_scrum(live_server, new_page, team):
    project, sm, dev = team.project, team.scrum_master, team.developer
    # Every day a working day: the journey runs whatever the weekday.
    project.working_days = [1, 2, 3, 4, 5, 6, 7]
    project.save()
    sprint = sprint_services.create_sprint(project=project, by=sm, goal="Sign-in works")
    card = backlog_services.create_item(
        project=project, by=sm, title="Sign in with e-mail", estimate="3", sprint=sprint, assignee=dev
    )
    backlog_services.update_item(item=card, by=sm, status=Status.objects.get(project=project, name="In Progress"))
    sprint_services.start_sprint(sprint=sprint, by=sm)

    # The developer writes an entry ahead of the meeting, with a blocker on their card.
    member = new_page()
    log_in(member, live_server.url, dev.username)
    member.goto(live_server.url + "/projects/SB/board/")
    member.get_by_role("link", name="Daily scrum", exact=True).click()
    expect(member.get_by_role("heading", name="My entry")).to_be_visible()
    member.get_by_label("Done since the last daily scrum").fill("Built the sign-in form")
    member.get_by_label("Next", exact=True).fill("Connect it to the API")
    member.get_by_label("Blockers").fill("The test mail server is down")
    member.get_by_label("SB-1 Sign in with e-mail").check()
    member.get_by_role("button", name="Save my entry").click()
    expect(member.get_by_text("Your entry is saved.")).to_be_visible()
    expect(member.locator(".standup-impediments")).to_contain_text("The test mail server is down")
    assert BacklogItem.objects.get(pk=card.pk).impeded
    shot(member, "1-entry")

    # The Scrum Master opens the facilitator page and starts the meeting: the timer counts down.
    facilitator = new_page()
    log_in(facilitator, live_server.url, sm.username)
    facilitator.goto(live_server.url + "/projects/SB/standups/")
    facilitator.get_by_role("link", name="Facilitate").click()
    expect(facilitator.get_by_role("button", name="Start meeting")).to_be_visible()
    facilitator.get_by_label("Speaking order").select_option("by_role")
    facilitator.get_by_role("button", name="Start meeting").click()
    timer = facilitator.locator("[data-countdown]")
    expect(timer).to_have_text(re.compile(r"^1[45]:\d\d$"))
    first = timer.inner_text()
    expect(timer).not_to_have_text(first, timeout=5_000)
    assert DailyScrum.objects.get().started_at is not None

    # The per-speaker hint: the first in the speaking order (by role: the administrator) speaks first.
    expect(facilitator.locator(".standup-speaker.is-speaking")).to_have_count(1)
    expect(facilitator.locator(".standup-speaker").first).to_have_class(re.compile("is-speaking"))

    # A reload continues the countdown from the server's start time.
    facilitator.reload()
    expect(facilitator.locator("[data-countdown]")).to_have_text(re.compile(r"^14:\d\d$"))

    # Mark the developer absent (sent to the API without a reload).
    speaker = facilitator.locator(f'.standup-speaker[data-member="{dev.username}"]')
    expect(speaker).to_contain_text("The test mail server is down")
    with facilitator.expect_response(lambda r: "/attendance/" in r.url) as marked:
        speaker.get_by_role("button", name="Present").click()
    assert marked.value.status == 200
    expect(speaker.get_by_role("button", name="Absent")).to_be_visible()
    assert DailyScrum.objects.get().attendance[str(dev.pk)] is False
    shot(facilitator, "2-facilitator")

    # End it: the summary shows who reported, who is missing and the blocker raised.
    facilitator.get_by_role("button", name="End meeting").click()
    expect(facilitator).to_have_url(re.compile(r"/standups/\d{4}-\d\d-\d\d/summary/$"))
    expect(facilitator.get_by_text("The daily scrum is closed.")).to_be_visible()
    expect(facilitator.get_by_role("heading", name="Impediments raised")).to_be_visible()
    expect(facilitator.locator("main")).to_contain_text("The test mail server is down")
    shot(facilitator, "3-summary")

    # The history lists the day, closed, with its one entry.
    facilitator.get_by_role("link", name="History").click()
    expect(facilitator.locator(".standup-history tbody tr")).to_have_count(1)
    expect(facilitator.locator(".standup-history")).to_contain_text("Closed")
    shot(facilitator, "4-history")

    # The member's page is now read-only.
    member.reload()
    expect(member.get_by_text("This daily scrum is closed")).to_be_visible()
    expect(member.get_by_role("button", name="Save my entry")).to_have_count(0)
    assert Impediment.objects.get().is_open
