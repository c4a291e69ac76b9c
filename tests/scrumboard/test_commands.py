"""Management commands a new user runs first: ``loaddemo`` and ``createtoken``."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from projects.models import Project
from roles.models import Membership, Role
from roles.services import DEFAULT_ROLES
from scrumboard.demo import DEMO_TEAM

pytestmark = pytest.mark.django_db


def loaddemo() -> str:
    out = StringIO()
    call_command("loaddemo", stdout=out)
    return out.getvalue()


def test_loaddemo_creates_project_sb_with_a_member_in_every_role():
    loaddemo()

    project = Project.objects.get(key="SB")
    memberships = Membership.objects.filter(project=project).select_related("role", "user")
    assert len(DEFAULT_ROLES) == 7
    assert sorted(m.role.slug for m in memberships) == sorted(slug for slug, *_ in DEFAULT_ROLES)
    assert set(Role.objects.filter(project=project).values_list("slug", flat=True)) == {
        m.role.slug for m in memberships
    }
    admins = [m.user.username for m in memberships if m.is_admin]
    assert admins == ["aigerim"]


def test_loaddemo_twice_leaves_one_project_and_seven_memberships():
    loaddemo()
    second_output = loaddemo()

    assert Project.objects.filter(key="SB").count() == 1
    assert Membership.objects.filter(project__key="SB").count() == 7
    assert get_user_model().objects.filter(username__in=[name for name, *_ in DEMO_TEAM]).count() == 7
    assert "Demo project SB ready." in second_output


def test_demo_users_log_in_with_the_printed_password(client, api):
    output = loaddemo()
    match = re.search(r"Log in as (\w+) / (\S+) ", output)
    assert match, output
    username, password = match.groups()
    assert username == "aigerim"

    for name, *_ in DEMO_TEAM:
        assert client.login(username=name, password=password), name
        client.logout()

    response = api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 201, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api.get("/api/v1/me/").json()["username"] == "aigerim"


def test_createtoken_prints_a_token_that_authenticates(api):
    loaddemo()
    out = StringIO()
    call_command("createtoken", "aigerim", stdout=out)
    token = out.getvalue().strip()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "aigerim"


def test_createtoken_for_unknown_user_fails():
    with pytest.raises(CommandError, match="No user called 'nobody'"):
        call_command("createtoken", "nobody", stdout=StringIO())
