import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from roles.models import Invitation, Membership, Role
from roles.services import create_role, invite_member
from tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db

User = get_user_model()


def team_url(**kwargs) -> str:
    return reverse("roles:team", kwargs={"key": "SB", **kwargs})


def role(project, slug: str) -> Role:
    return Role.objects.get(project=project, slug=slug)


def invite(project, by, email="newcomer@example.com", slug="backend") -> str:
    """A pending invitation; returns its raw token."""
    _invitation, raw = invite_member(project=project, email=email, role=role(project, slug), by=by)
    return raw


def accept_url(token: str) -> str:
    return reverse("roles:accept_invitation", kwargs={"token": token})


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Team page ------------------------------------------------------------------------


def test_team_page_lists_members_with_roles(client, developer, project):
    client.force_login(developer)
    response = client.get(team_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert [m.user.username for m in response.context["memberships"]] == ["admin", "sm", "po", "dev", "stake"]
    assert "Backend Developer" in html and "Stakeholder" in html
    # Developers cannot manage members: no invite form, no change controls, only "Leave" on their own row.
    assert reverse("roles:invite", kwargs={"key": "SB"}) not in html
    assert 'name="role"' not in html
    assert html.count("/remove/") == 1
    assert reverse("roles:member_remove", kwargs={"key": "SB", "pk": Membership.objects.get(user=developer).pk}) in html


def test_team_page_shows_invite_form_and_pending_invitations_to_managers(client, scrum_master, admin, project):
    invite(project, admin)
    client.force_login(scrum_master)
    response = client.get(team_url())
    html = response.content.decode()
    assert reverse("roles:invite", kwargs={"key": "SB"}) in html
    assert "newcomer@example.com" in html
    assert [i.email for i in response.context["invitations"]] == ["newcomer@example.com"]


def test_inviting_sends_an_email_with_a_link_to_the_site(
    client, scrum_master, project, django_capture_on_commit_callbacks
):
    client.force_login(scrum_master)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("roles:invite", kwargs={"key": "SB"}),
            {"email": "Newcomer@Example.com", "role": role(project, "frontend").pk},
        )

    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "newcomer@example.com"
    assert invitation.role.slug == "frontend"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newcomer@example.com"]
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert len(links) == 1
    assert links[0].startswith(settings.SITE_URL + "/invitations/")
    assert "Frontend Developer" in mail.outbox[0].body
    client.logout()
    assert "Create your account" in client.get(links[0].removeprefix(settings.SITE_URL)).content.decode()


def test_invite_form_shows_errors_for_a_bad_address_and_an_existing_member(client, admin, developer, project):
    client.force_login(admin)
    url = reverse("roles:invite", kwargs={"key": "SB"})

    bad = client.post(url, {"email": "not-an-address", "role": role(project, "backend").pk})
    assert bad.status_code == 200
    assert "email" in bad.context["invite_form"].errors

    member = client.post(url, {"email": developer.email, "role": role(project, "backend").pk})
    assert member.status_code == 200
    assert member.context["invite_form"].errors["email"] == ["This person is already a member of the project."]
    assert "This person is already a member of the project." in member.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_invite_needs_a_role(client, admin, project):
    client.force_login(admin)
    response = client.post(reverse("roles:invite", kwargs={"key": "SB"}), {"email": "a@example.com", "role": ""})
    assert "role" in response.context["invite_form"].errors


def test_developers_cannot_invite(client, developer, project):
    client.force_login(developer)
    response = client.post(
        reverse("roles:invite", kwargs={"key": "SB"}), {"email": "a@example.com", "role": role(project, "backend").pk}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_withdrawing_an_invitation(client, admin, project):
    invite(project, admin)
    invitation = Invitation.objects.get()
    client.force_login(admin)

    client.post(reverse("roles:invitation_revoke", kwargs={"key": "SB", "pk": invitation.pk}))
    response = client.post(reverse("roles:invitation_revoke", kwargs={"key": "SB", "pk": invitation.pk}), follow=True)

    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    assert "Only a pending invitation can be withdrawn." in messages_of(response)


def test_changing_a_members_role(client, scrum_master, developer, project):
    membership = Membership.objects.get(user=developer)
    client.force_login(scrum_master)

    response = client.post(
        reverse("roles:member_change", kwargs={"key": "SB", "pk": membership.pk}),
        {"role": role(project, "frontend").pk},
        follow=True,
    )

    membership.refresh_from_db()
    assert membership.role.slug == "frontend"
    assert not membership.is_admin
    assert any("is now Frontend Developer" in m for m in messages_of(response))


def test_only_administrators_grant_administrator_rights(client, scrum_master, admin, developer, project):
    membership = Membership.objects.get(user=developer)
    url = reverse("roles:member_change", kwargs={"key": "SB", "pk": membership.pk})
    data = {"role": role(project, "backend").pk, "is_admin": "on", "admin_field": "on"}

    client.force_login(scrum_master)
    response = client.post(url, data, follow=True)
    membership.refresh_from_db()
    assert not membership.is_admin
    assert "You cannot grant a role with more rights than your own." in messages_of(response)

    client.force_login(admin)
    client.post(url, data)
    membership.refresh_from_db()
    assert membership.is_admin


def test_a_role_of_another_project_is_refused(client, admin, developer, project):
    from tests.factories import make_project

    other = make_project(admin=admin)
    membership = Membership.objects.get(user=developer, project=project)
    client.force_login(admin)
    response = client.post(
        reverse("roles:member_change", kwargs={"key": "SB", "pk": membership.pk}),
        {"role": role(other, "frontend").pk},
        follow=True,
    )
    membership.refresh_from_db()
    assert membership.role.slug == "backend"
    assert response.status_code == 200
    assert messages_of(response)


def test_cannot_remove_the_last_administrator(client, admin, project):
    membership = Membership.objects.get(user=admin)
    client.force_login(admin)

    response = client.post(reverse("roles:member_remove", kwargs={"key": "SB", "pk": membership.pk}), follow=True)

    assert response.status_code == 200
    assert "A project needs at least one administrator." in messages_of(response)
    assert "A project needs at least one administrator." in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk, is_admin=True).exists()


def test_cannot_demote_the_last_administrator(client, admin, project):
    membership = Membership.objects.get(user=admin)
    client.force_login(admin)

    response = client.post(
        reverse("roles:member_change", kwargs={"key": "SB", "pk": membership.pk}),
        {"role": membership.role_id, "admin_field": "on"},  # the admin box left unticked
        follow=True,
    )

    assert "A project needs at least one administrator." in messages_of(response)
    membership.refresh_from_db()
    assert membership.is_admin


def test_removing_a_member(client, scrum_master, developer, project):
    membership = Membership.objects.get(user=developer)
    client.force_login(scrum_master)
    response = client.post(reverse("roles:member_remove", kwargs={"key": "SB", "pk": membership.pk}))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_member_may_leave_but_not_remove_others(client, developer, stakeholder, project):
    client.force_login(developer)
    others = Membership.objects.get(user=stakeholder)
    assert client.post(reverse("roles:member_remove", kwargs={"key": "SB", "pk": others.pk})).status_code == 403

    mine = Membership.objects.get(user=developer)
    response = client.post(reverse("roles:member_remove", kwargs={"key": "SB", "pk": mine.pk}))
    assert response["Location"] == reverse("projects:list")
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert Membership.objects.filter(pk=others.pk).exists()


def test_team_page_runs_a_fixed_number_of_queries(client, admin, project, django_assert_num_queries):
    invite(project, admin)
    client.force_login(admin)
    # session, user, project, my membership, roles, memberships with users and roles, invitations
    with django_assert_num_queries(7):
        assert client.get(team_url()).status_code == 200


@pytest.mark.parametrize("count", [2, 20])
def test_team_page_query_count_does_not_grow_with_members(client, admin, project, count, django_assert_num_queries):
    for n in range(count):
        make_member(project, "frontend")
        invite(project, admin, email=f"person{n}@example.com")
    client.force_login(admin)
    with django_assert_num_queries(7):
        response = client.get(team_url())
    assert len(response.context["memberships"]) == 5 + count
    assert len(response.context["invitations"]) == count


# --- Roles page -----------------------------------------------------------------------


def test_roles_page_shows_the_permission_matrix_read_only_to_members(client, scrum_master, project):
    client.force_login(scrum_master)
    response = client.get(reverse("roles:roles", kwargs={"key": "SB"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert not response.context["editable"]
    assert 'type="checkbox"' not in html
    assert "Manage project settings" in html
    assert "Scrum Master / Project Manager" in html


def test_admin_edits_a_roles_permissions(client, admin, project):
    backend = role(project, "backend")
    client.force_login(admin)

    response = client.post(
        reverse("roles:role_edit", kwargs={"key": "SB", "pk": backend.pk}),
        {"permissions": ["comment", "manage_sprints"], "estimates_points": "on"},
    )

    assert response.status_code == 302
    backend.refresh_from_db()
    assert sorted(backend.permissions) == ["comment", "manage_sprints", "view"]
    assert backend.estimates_points
    assert backend.name == "Backend Developer"


def test_role_edit_is_for_administrators_only(client, scrum_master, project):
    backend = role(project, "backend")
    client.force_login(scrum_master)
    response = client.post(
        reverse("roles:role_edit", kwargs={"key": "SB", "pk": backend.pk}), {"permissions": ["manage_project"]}
    )
    assert response.status_code == 403
    backend.refresh_from_db()
    assert "manage_project" not in backend.permissions


def test_unknown_permissions_are_reported_not_crashed_on(client, admin, project):
    backend = role(project, "backend")
    client.force_login(admin)
    response = client.post(
        reverse("roles:role_edit", kwargs={"key": "SB", "pk": backend.pk}), {"permissions": ["fly"]}, follow=True
    )
    assert response.status_code == 200
    assert any("Unknown permissions: fly." in m for m in messages_of(response))
    backend.refresh_from_db()
    assert "fly" not in backend.permissions


def test_admin_creates_a_custom_role(client, admin, project):
    client.force_login(admin)
    response = client.post(
        reverse("roles:roles", kwargs={"key": "SB"}), {"name": "QA Engineer", "permissions": ["comment", "estimate"]}
    )
    assert response.status_code == 302
    qa = Role.objects.get(project=project, name="QA Engineer")
    assert sorted(qa.permissions) == ["comment", "estimate", "view"]


def test_a_duplicate_role_name_is_shown_on_the_form(client, admin, project):
    client.force_login(admin)
    response = client.post(reverse("roles:roles", kwargs={"key": "SB"}), {"name": "Product Owner"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Role.objects.filter(project=project, name="Product Owner").count() == 1


def test_scrum_master_cannot_create_roles(client, scrum_master, project):
    client.force_login(scrum_master)
    response = client.post(reverse("roles:roles", kwargs={"key": "SB"}), {"name": "QA"})
    assert response.status_code == 403


def test_roles_page_runs_a_fixed_number_of_queries(client, admin, project, django_assert_num_queries):
    client.force_login(admin)
    # session, user, project, my membership, roles with member counts
    with django_assert_num_queries(5):
        assert client.get(reverse("roles:roles", kwargs={"key": "SB"})).status_code == 200


@pytest.mark.parametrize("count", [2, 20])
def test_roles_page_query_count_does_not_grow_with_roles(client, admin, project, count, django_assert_num_queries):
    for n in range(count):
        create_role(project=project, name=f"Custom {n}", permissions=["comment"], by=admin)
        make_member(project, "frontend")
    client.force_login(admin)
    with django_assert_num_queries(5):
        response = client.get(reverse("roles:roles", kwargs={"key": "SB"}))
    assert len(response.context["roles"]) == 7 + count


# --- Accepting an invitation ----------------------------------------------------------


def test_invitation_link_offers_a_sign_up_form_to_a_new_person(client, admin, project):
    token = invite(project, admin)
    response = client.get(accept_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Join Scrumboard" in html
    assert "Backend Developer" in html
    assert 'value="newcomer@example.com" readonly' in html
    assert response.context["form"] is not None


def test_signing_up_from_the_invitation_creates_the_account_logs_in_and_joins(client, admin, project):
    token = invite(project, admin)

    response = client.post(
        accept_url(token),
        {
            "username": "newcomer",
            "name": "Nur Sultanov",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", kwargs={"key": "SB"})
    user = User.objects.get(username="newcomer")
    assert user.email == "newcomer@example.com"
    assert (user.first_name, user.last_name) == ("Nur", "Sultanov")
    assert user.check_password("a-long-pass-phrase")
    assert Membership.objects.get(project=project, user=user).role.slug == "backend"
    assert Invitation.objects.get().state == "accepted"
    # Logged in: the project opens.
    assert client.get(reverse("projects:detail", kwargs={"key": "SB"})).status_code == 200


def test_sign_up_errors_are_shown_and_nothing_is_created(client, admin, project):
    token = invite(project, admin)

    response = client.post(
        accept_url(token),
        {
            "username": "newcomer",
            "name": "",
            "password1": "a-long-pass-phrase",
            "password2": "different-phrase",
        },
    )

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not User.objects.filter(username="newcomer").exists()
    assert Invitation.objects.get().state == "pending"


def test_sign_up_with_a_taken_username_is_refused(client, admin, project):
    token = invite(project, admin)
    response = client.post(
        accept_url(token),
        {
            "username": "admin",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert "username" in response.context["form"].errors
    assert Invitation.objects.get().state == "pending"


def test_a_person_with_an_account_is_asked_to_log_in(client, admin, outsider, project):
    token = invite(project, admin, email=outsider.email)
    response = client.get(accept_url(token))
    html = response.content.decode()
    assert response.context["account_exists"]
    assert response.context["form"] is None
    assert f"{reverse('login')}?next={accept_url(token)}" in html

    # A sign-up attempt anyway creates nothing.
    client.post(accept_url(token), {"username": "dup", "password1": "a-long-pass", "password2": "a-long-pass"})
    assert not User.objects.filter(username="dup").exists()


def test_the_invited_user_accepts_when_logged_in(client, admin, outsider, project):
    token = invite(project, admin, email=outsider.email)
    client.force_login(outsider)

    page = client.get(accept_url(token))
    assert "Accept invitation" in page.content.decode()
    response = client.post(accept_url(token))

    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=outsider).role.slug == "backend"
    assert client.get(reverse("projects:detail", kwargs={"key": "SB"})).status_code == 200


def test_an_invitation_for_another_address_cannot_be_accepted(client, admin, developer, project):
    token = invite(project, admin)  # newcomer@example.com
    other = UserFactory()
    client.force_login(other)

    page = client.get(accept_url(token))
    assert "This invitation was sent to another e-mail address." in page.content.decode()
    response = client.post(accept_url(token))

    assert response.status_code == 200
    assert "This invitation was sent to another e-mail address." in response.content.decode()
    assert not Membership.objects.filter(user=other).exists()
    assert Invitation.objects.get().state == "pending"


def test_an_expired_invitation_is_refused(client, admin, project):
    token = invite(project, admin)
    later = timezone.now() + datetime.timedelta(days=settings.INVITATION_TTL_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        page = client.get(accept_url(token))
        response = client.post(
            accept_url(token),
            {
                "username": "late",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
        )
    assert "This invitation has expired. Ask for a new one." in page.content.decode()
    assert "This invitation has expired. Ask for a new one." in response.content.decode()
    assert not User.objects.filter(username="late").exists()


def test_an_invitation_works_once(client, admin, project):
    token = invite(project, admin)
    signup = {"username": "first", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    client.post(accept_url(token), signup)
    client.logout()

    page = client.get(accept_url(token))
    client.post(accept_url(token), {**signup, "username": "second"})

    assert "This invitation has already been used." in page.content.decode()
    assert not User.objects.filter(username="second").exists()
    assert Membership.objects.filter(project=project).count() == 6


def test_an_unknown_invitation_link_is_404(client):
    response = client.get(accept_url("no-such-token"))
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_an_existing_member_is_told_so(client, admin, developer, project):
    invitation, token = invite_member(
        project=project, email="someone@example.com", role=role(project, "backend"), by=admin
    )
    Invitation.objects.filter(pk=invitation.pk).update(email=developer.email)
    client.force_login(developer)
    response = client.get(accept_url(token))
    assert response.context["already_member"]
    assert "You are already a member of this project." in response.content.decode()
