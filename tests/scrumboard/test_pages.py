"""The layout and the authentication pages every other page relies on."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_links_to_password_reset(client):
    html = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in html
    assert 'name="password"' in html


def test_logging_in_lands_on_the_projects_list(client):
    UserFactory(username="amina")
    response = client.post(reverse("login"), {"username": "amina", "password": PASSWORD})
    assert response["Location"] == reverse("projects:list")


def test_password_reset_email_links_to_the_site_url(client):
    UserFactory(username="amina", email="amina@example.com")

    response = client.post(reverse("password_reset"), {"email": "amina@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reset your Scrumboard password"
    assert "“amina”" in mail.outbox[0].body
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    assert link.startswith(settings.SITE_URL + "/accounts/reset/")
    confirm = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    assert "Choose a new password" in confirm.content.decode()


def test_an_invalid_reset_link_says_so(client):
    response = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "nope"}))
    assert "This link does not work" in response.content.decode()


def test_layout_offers_logout_as_a_post_form_and_the_language_switcher(client):
    client.force_login(UserFactory())
    html = client.get(reverse("projects:list")).content.decode()
    assert f'<form action="{reverse("logout")}" method="post">' in html
    assert f'action="{reverse("set_language")}" method="post"' in html
    for code, _name in settings.LANGUAGES:
        assert f'name="language" value="{code}"' in html


def test_switching_language_changes_the_page_language(client):
    client.force_login(UserFactory())
    response = client.post(reverse("set_language"), {"language": "kk", "next": reverse("projects:list")})
    assert response["Location"] == reverse("projects:list")
    assert '<html lang="kk">' in client.get(reverse("projects:list")).content.decode()


def test_error_pages_use_the_layout(client, developer, outsider, project):
    client.force_login(developer)
    forbidden = client.get(reverse("projects:edit", kwargs={"key": "SB"}))
    assert forbidden.status_code == 403
    assert "You are not allowed to do that" in forbidden.content.decode()

    client.force_login(outsider)
    missing = client.get(reverse("projects:detail", kwargs={"key": "SB"}))
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode()
