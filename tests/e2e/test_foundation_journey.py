"""A team lead starts a project and brings a new colleague in through an e-mailed invitation."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from roles.models import Membership
from tests.e2e.pages import log_in
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_creates_project_invites_colleague_who_signs_up_and_joins(live_server, new_page):
    UserFactory(username="lead", first_name="Aigerim", last_name="Sadykova")
    lead = new_page()

    # The lead logs in and lands on an empty projects list.
    log_in(lead, live_server.url, "lead", PASSWORD)
    expect(lead.get_by_role("heading", name="No projects yet")).to_be_visible()

    # Creates a project; the team page opens next.
    lead.get_by_role("link", name="Create your first project").click()
    lead.get_by_label("Key").fill("web")
    lead.get_by_label("Name").fill("Website relaunch")
    lead.get_by_label("Product goal").fill("Launch the new site by June")
    lead.get_by_role("button", name="Create project").click()
    expect(lead.get_by_text("Project WEB created.")).to_be_visible()
    expect(lead.get_by_role("heading", name="Team")).to_be_visible()

    # Invites a colleague as a Frontend Developer.
    invite = lead.locator("form", has=lead.get_by_role("button", name="Send invitation"))
    invite.get_by_label("E-mail").fill("dana@example.com")
    invite.get_by_label("Role").select_option(label="Frontend Developer")
    invite.get_by_role("button", name="Send invitation").click()
    expect(lead.get_by_text("Invitation sent to dana@example.com.")).to_be_visible()
    expect(lead.get_by_role("cell", name="dana@example.com")).to_be_visible()

    # The e-mail holds the link (SITE_URL points at the live server).
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.com"]
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(live_server.url)

    # The colleague opens it in her own browser, signs up and joins in one step.
    dana = new_page()
    dana.goto(link)
    expect(dana.get_by_role("heading", name="Join Website relaunch")).to_be_visible()
    expect(dana.get_by_text("Frontend Developer")).to_be_visible()
    dana.get_by_label("Your name").fill("Dana Ivanova")
    dana.get_by_label("Username").fill("dana")
    dana.locator("#id_password1").fill("a-long-pass-phrase")
    dana.locator("#id_password2").fill("a-long-pass-phrase")
    dana.get_by_role("button", name="Create account and join").click()
    expect(dana.get_by_text("Welcome to Website relaunch! You joined as Frontend Developer.")).to_be_visible()
    expect(dana.get_by_role("heading", name="Launch the new site by June")).to_have_count(0)
    expect(dana.get_by_text("Launch the new site by June")).to_be_visible()

    # She sees the project in her list, with her role.
    dana.get_by_role("link", name="Projects", exact=True).click()
    card = dana.locator(".project-card", has_text="Website relaunch")
    expect(card).to_be_visible()
    expect(card.get_by_text("Frontend Developer")).to_be_visible()
    expect(card.get_by_text("2 members")).to_be_visible()

    membership = Membership.objects.get(project__key="WEB", user__username="dana")
    assert membership.role.slug == "frontend"
    assert membership.user.email == "dana@example.com"

    # The lead's team page now lists her, and the invitation is no longer pending.
    lead.reload()
    expect(lead.get_by_text("Dana Ivanova")).to_be_visible()
    expect(lead.get_by_text("No pending invitations.")).to_be_visible()
