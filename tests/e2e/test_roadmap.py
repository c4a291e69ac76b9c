"""A Product Owner plans the roadmap: a phase with an epic and a release due too soon; the timeline shows the
phase's bar and flags the release "at risk" because the team's velocity forecasts it after its target."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backlog import services as backlog_services
from backlog.models import ItemType
from roadmap.models import Phase, Release
from tests.e2e.pages import log_in
from tests.roadmap.conftest import velocity_history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 (where the brief collects screenshots)


def test_product_owner_plans_a_phase_and_a_release_and_sees_the_risk(live_server, page, team):
    project, po = team.project, team.product_owner
    epic = backlog_services.create_item(project=project, by=po, title="Sign-in and accounts", type=ItemType.EPIC)
    for title, estimate in (("Sign in with e-mail", "5"), ("Reset a password", "5"), ("Invite a member", "8")):
        backlog_services.create_item(project=project, by=po, title=title, estimate=estimate, parent=epic)
    velocity_history(project, 2, 3, 2)  # a slow team: 18 points take months
    today = timezone.localdate(timezone=project.tzinfo)
    first = today.replace(day=1)
    log_in(page, live_server.url, po.username)

    # The Roadmap tab starts empty; add a phase with the epic ticked.
    page.goto(live_server.url + "/projects/SB/backlog/")
    page.get_by_role("link", name="Roadmap", exact=True).click()
    expect(page.get_by_text("No roadmap yet")).to_be_visible()
    page.get_by_role("link", name="+ Phase").click()
    page.get_by_label("Name").fill("Month 1: Accounts")
    page.get_by_label("Start", exact=True).fill(first.isoformat())
    page.get_by_label("End", exact=True).fill((first + datetime.timedelta(days=40)).isoformat())
    page.get_by_label("SB-1 Sign-in and accounts").check()
    page.get_by_role("button", name="Add phase").click()
    expect(page.get_by_text("Phase “Month 1: Accounts” added.")).to_be_visible()
    assert list(Phase.objects.get(project=project).items.all()) == [epic]

    # A release of the epic, due next week: too soon for this team.
    page.get_by_role("link", name="+ Release").click()
    page.get_by_label("Version").fill("1.0.0")
    page.get_by_label("Target date").fill((today + datetime.timedelta(days=7)).isoformat())
    page.get_by_label("SB-1 Sign-in and accounts").check()
    page.get_by_role("button", name="Add release").click()
    expect(page.get_by_role("heading", name="Release 1.0.0")).to_be_visible()
    expect(page.locator(".rm-tile-risk")).to_contain_text("At risk")
    release = Release.objects.get(project=project)
    assert [item.pk for item in release.items.all()] == [epic.pk]

    # The timeline: the phase's bar links to the phase, the release is flagged in words.
    page.get_by_role("link", name="Roadmap", exact=True).first.click()
    timeline = page.locator("svg.rm-svg")
    phase_bar = timeline.locator("a.rm-phase")
    expect(phase_bar).to_have_count(1)
    expect(phase_bar).to_contain_text("Month 1: Accounts")
    expect(phase_bar.locator(".rm-phase-track")).to_be_visible()
    expect(timeline.locator("a.rm-epic")).to_contain_text("SB-1 Sign-in and accounts")
    flagged = timeline.locator("a.rm-release.rm-release--at-risk")
    expect(flagged).to_contain_text("1.0.0")
    expect(flagged.locator(".rm-risk-label")).to_have_text("At risk")
    expect(flagged.locator(".rm-forecast")).to_be_visible()
    expect(timeline.locator(".rm-today")).to_be_visible()
    # The chart fits a laptop screen: the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "roadmap-journey-timeline.png"), full_page=True)

    # The bar is a link to the phase's page.
    phase_bar.locator("text.rm-row-label").click()
    expect(page.get_by_role("heading", name="Month 1: Accounts")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Month 1: Accounts")
