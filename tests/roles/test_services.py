import datetime
import hashlib
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from roles import services
from roles.models import Invitation, Membership, Permission, Role
from roles.services import (
    accept_invitation,
    add_member,
    change_member,
    create_role,
    delete_role,
    invite_member,
    remove_member,
    revoke_invitation,
    update_role,
)
from scrumboard.errors import ConflictError
from tests.factories import UserFactory, make_project

P = Permission


def role(project, slug: str) -> Role:
    return Role.objects.get(project=project, slug=slug)


def fresh(user):
    """The user reloaded: a thread must not share the policy's per-request cache."""
    return type(user).objects.get(pk=user.pk)


def membership(project, user) -> Membership:
    return Membership.objects.get(project=project, user=user)


def invite(team, email="newcomer@example.com", slug="backend", by=None):
    return invite_member(project=team.project, email=email, role=role(team.project, slug), by=by or team.admin)


@pytest.fixture
def lead(team):
    """A member whose custom role may manage members but not sprints (nor anything else)."""
    lead_role = create_role(
        project=team.project, name="Team Lead", permissions=[P.VIEW, P.COMMENT, P.MANAGE_MEMBERS], by=team.admin
    )
    return add_member(project=team.project, user=UserFactory(username="lead"), role=lead_role).user


# --- Default roles -------------------------------------------------------------------------


def test_new_project_is_seeded_with_the_scrum_roles_and_their_permissions(db):
    project = make_project(key="NEW")
    member = ["comment", "edit_backlog", "estimate", "view"]
    assert {r.slug: sorted(r.permissions) for r in project.roles.all()} == {
        "scrum-master": sorted(P.values),
        "product-owner": sorted([*member, "manage_roadmap", "manage_sprints", "run_retrospective"]),
        "system-analyst": sorted([*member, "manage_roadmap"]),
        "backend": member,
        "frontend": member,
        "devops": sorted([*member, "manage_integrations"]),
        "stakeholder": ["view"],
    }
    assert [r.slug for r in project.roles.filter(estimates_points=True)] == ["backend", "frontend", "devops"]


def test_project_creator_is_an_administrator_with_the_scrum_master_role(db):
    creator = UserFactory()
    project = make_project(admin=creator, key="NEW")
    creator_membership = membership(project, creator)
    assert creator_membership.is_admin
    assert creator_membership.role.slug == "scrum-master"


# --- Invitations ---------------------------------------------------------------------------


def test_invitation_stores_only_the_hash_of_its_token(team):
    invitation, raw = invite(team)
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(value) for value in stored.values()}


def test_invitation_email_carries_the_link_on_the_site_url(team, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, raw = invite(team)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newcomer@example.com"]
    assert f"https://scrumboard.example.com/invitations/{raw}/" in mailoutbox[0].body


def test_invited_user_becomes_member_with_the_invited_role(team):
    _invitation, raw = invite(team, slug="frontend")
    newcomer = UserFactory(email="Newcomer@Example.com")
    accept_invitation(raw_token=raw, user=newcomer)
    assert membership(team.project, newcomer).role.slug == "frontend"
    assert not membership(team.project, newcomer).is_admin


def test_invitation_expires_after_the_configured_days(team, settings, time_machine):
    settings.INVITATION_TTL_DAYS = 3
    time_machine.move_to(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    invitation, raw = invite(team)
    assert invitation.expires_at == datetime.datetime(2025, 3, 4, 9, 0, tzinfo=datetime.UTC)
    time_machine.move_to(invitation.expires_at + datetime.timedelta(seconds=1), tick=False)
    newcomer = UserFactory(email="newcomer@example.com")
    with pytest.raises(ValidationError, match="expired"):
        accept_invitation(raw_token=raw, user=newcomer)
    assert not Membership.objects.filter(user=newcomer).exists()


def test_invitation_can_be_accepted_just_before_it_expires(team, time_machine):
    time_machine.move_to(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    invitation, raw = invite(team)
    time_machine.move_to(invitation.expires_at - datetime.timedelta(seconds=1), tick=False)
    newcomer = UserFactory(email="newcomer@example.com")
    accept_invitation(raw_token=raw, user=newcomer)
    assert Membership.objects.filter(project=team.project, user=newcomer).exists()


def test_invitation_cannot_be_accepted_by_another_user(team):
    _invitation, raw = invite(team)
    with pytest.raises(ValidationError, match="another e-mail address"):
        accept_invitation(raw_token=raw, user=team.outsider)
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()


def test_invitation_can_be_used_once(team):
    invitation, raw = invite(team)
    newcomer = UserFactory(email="newcomer@example.com")
    accept_invitation(raw_token=raw, user=newcomer)
    with pytest.raises(ValidationError, match="already been used"):
        accept_invitation(raw_token=raw, user=newcomer)
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert invitation.accepted_by == newcomer
    assert Membership.objects.filter(project=team.project, user=newcomer).count() == 1


def test_unknown_invitation_token_is_refused(team):
    with pytest.raises(ValidationError, match="not valid"):
        accept_invitation(raw_token="made-up", user=team.outsider)


def test_revoked_invitation_cannot_be_accepted(team):
    invitation, raw = invite(team, email=team.outsider.email)
    revoke_invitation(invitation=invitation, by=team.scrum_master)
    with pytest.raises(ValidationError, match="withdrawn"):
        accept_invitation(raw_token=raw, user=team.outsider)
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()


def test_only_a_pending_invitation_can_be_revoked(team):
    invitation, raw = invite(team, email=team.outsider.email)
    accept_invitation(raw_token=raw, user=team.outsider)
    invitation.refresh_from_db()
    with pytest.raises(ConflictError):
        revoke_invitation(invitation=invitation, by=team.admin)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None


def test_revoking_needs_manage_members(team):
    invitation, _raw = invite(team)
    with pytest.raises(PermissionDenied):
        revoke_invitation(invitation=invitation, by=team.developer)
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


def test_new_invitation_to_the_same_address_replaces_the_pending_one(team):
    first, first_raw = invite(team)
    invite(team, slug="frontend")
    first.refresh_from_db()
    assert first.state == "revoked"
    with pytest.raises(ValidationError):
        accept_invitation(raw_token=first_raw, user=UserFactory(email="newcomer@example.com"))


def test_inviting_a_member_again_is_refused(team):
    with pytest.raises(ValidationError) as error:
        invite(team, email=team.developer.email.upper())
    assert "email" in error.value.message_dict
    assert not Invitation.objects.exists()


def test_developer_cannot_invite(team):
    with pytest.raises(PermissionDenied):
        invite(team, by=team.developer)
    assert not Invitation.objects.exists()


def test_inviting_with_a_role_of_another_project_is_refused(team):
    other = make_project(key="XX")
    with pytest.raises(ValidationError):
        invite_member(project=team.project, email="x@example.com", role=role(other, "backend"), by=team.admin)
    assert not Invitation.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_accepts_of_one_invitation_make_one_member(team, monkeypatch):
    _invitation, raw = invite(team)
    newcomer = UserFactory(email="newcomer@example.com")
    # Both threads are inside accept_invitation's transaction before either reads the row.
    barrier = threading.Barrier(2, timeout=10)
    real_hash = services.hash_token

    def hash_token_when_both_arrive(value):
        barrier.wait()
        return real_hash(value)

    monkeypatch.setattr(services, "hash_token", hash_token_when_both_arrive)
    accept = lambda: accept_invitation(raw_token=raw, user=newcomer)  # noqa: E731
    outcomes = run_concurrently(accept, accept)
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Membership", "ValidationError"]
    assert Membership.objects.filter(project=team.project, user=newcomer).count() == 1


def run_concurrently(*functions) -> list:
    """Runs each function in its own thread (and database connection); returns each result or exception."""
    outcomes: list = [None] * len(functions)

    def run(index):
        try:
            outcomes[index] = functions[index]()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


# --- Granting rights -----------------------------------------------------------------------


def test_member_with_manage_members_cannot_invite_with_a_role_holding_rights_they_lack(team, lead):
    with pytest.raises(PermissionDenied):
        invite(team, slug="product-owner", by=lead)  # Product Owner manages sprints; the lead does not
    assert not Invitation.objects.exists()


def test_member_with_manage_members_can_invite_with_a_role_within_their_rights(team, lead):
    invitation, _raw = invite(team, slug="stakeholder", by=lead)
    assert invitation.state == "pending"


def test_member_with_manage_members_cannot_give_a_role_holding_rights_they_lack(team, lead):
    target = membership(team.project, team.stakeholder)
    with pytest.raises(PermissionDenied):
        change_member(membership=target, role=role(team.project, "product-owner"), by=lead)
    assert membership(team.project, team.stakeholder).role.slug == "stakeholder"


def test_member_with_manage_members_cannot_change_someone_holding_rights_they_lack(team, lead):
    target = membership(team.project, team.product_owner)
    with pytest.raises(PermissionDenied):
        change_member(membership=target, role=role(team.project, "stakeholder"), by=lead)
    with pytest.raises(PermissionDenied):
        remove_member(membership=target, by=lead)
    assert membership(team.project, team.product_owner).role.slug == "product-owner"


def test_scrum_master_cannot_grant_administrator_rights(team):
    target = membership(team.project, team.developer)
    with pytest.raises(PermissionDenied):
        change_member(membership=target, is_admin=True, by=team.scrum_master)
    with pytest.raises(PermissionDenied):
        change_member(membership=membership(team.project, team.scrum_master), is_admin=True, by=team.scrum_master)
    assert not Membership.objects.filter(project=team.project, is_admin=True).exclude(user=team.admin).exists()


def test_scrum_master_cannot_change_or_remove_an_administrator(team):
    target = membership(team.project, team.admin)
    with pytest.raises(PermissionDenied):
        change_member(membership=target, role=role(team.project, "stakeholder"), by=team.scrum_master)
    with pytest.raises(PermissionDenied):
        remove_member(membership=target, by=team.scrum_master)
    target = membership(team.project, team.admin)
    assert target.is_admin
    assert target.role.slug == "scrum-master"


def test_scrum_master_can_change_a_developer_role(team):
    change_member(
        membership=membership(team.project, team.developer), role=role(team.project, "devops"), by=team.scrum_master
    )
    assert membership(team.project, team.developer).role.slug == "devops"


def test_administrator_can_make_another_administrator(team):
    change_member(membership=membership(team.project, team.scrum_master), is_admin=True, by=team.admin)
    assert membership(team.project, team.scrum_master).is_admin


# --- The last administrator ----------------------------------------------------------------


def test_last_administrator_cannot_step_down(team):
    with pytest.raises(ConflictError):
        change_member(membership=membership(team.project, team.admin), is_admin=False, by=team.admin)
    assert membership(team.project, team.admin).is_admin


def test_last_administrator_cannot_leave(team):
    with pytest.raises(ConflictError):
        remove_member(membership=membership(team.project, team.admin), by=team.admin)
    assert membership(team.project, team.admin).is_admin


def test_administrator_can_step_down_when_another_remains(team):
    change_member(membership=membership(team.project, team.scrum_master), is_admin=True, by=team.admin)
    change_member(membership=membership(team.project, team.admin), is_admin=False, by=team.admin)
    assert list(Membership.objects.admins().filter(project=team.project).values_list("user__username", flat=True)) == [
        "sm"
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_demoting_each_other_at_once_leave_one_administrator(team, monkeypatch):
    change_member(membership=membership(team.project, team.scrum_master), is_admin=True, by=team.admin)
    # Both requests have passed their permission checks before either takes the lock.
    barrier = threading.Barrier(2, timeout=10)
    real_guard = services._guard_last_admin

    def guard_when_both_arrive(target):
        barrier.wait()
        return real_guard(target)

    monkeypatch.setattr(services, "_guard_last_admin", guard_when_both_arrive)
    project, admin, sm = team.project, team.admin, team.scrum_master
    outcomes = run_concurrently(
        lambda: change_member(membership=membership(project, sm), is_admin=False, by=fresh(admin)),
        lambda: change_member(membership=membership(project, admin), is_admin=False, by=fresh(sm)),
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ConflictError", "Membership"]
    assert Membership.objects.admins().filter(project=team.project).count() == 1


# --- Leaving -------------------------------------------------------------------------------


def test_member_can_leave_the_project(team):
    remove_member(membership=membership(team.project, team.stakeholder), by=team.stakeholder)
    assert not Membership.objects.filter(project=team.project, user=team.stakeholder).exists()


def test_member_cannot_remove_someone_else(team):
    with pytest.raises(PermissionDenied):
        remove_member(membership=membership(team.project, team.stakeholder), by=team.developer)
    assert Membership.objects.filter(project=team.project, user=team.stakeholder).exists()


# --- Roles ---------------------------------------------------------------------------------


def test_administrator_creates_a_role_that_always_includes_view(team):
    qa = create_role(project=team.project, name="QA Engineer", permissions=[P.ESTIMATE], by=team.admin)
    assert qa.slug == "qa-engineer"
    assert sorted(qa.permissions) == ["estimate", "view"]


@pytest.mark.parametrize("persona", ["scrum_master", "product_owner", "developer", "stakeholder"])
def test_only_administrators_edit_roles(team, persona):
    user = getattr(team, persona)
    qa = create_role(project=team.project, name="QA", permissions=[P.VIEW], by=team.admin)
    with pytest.raises(PermissionDenied):
        create_role(project=team.project, name="Other", permissions=[P.VIEW], by=user)
    with pytest.raises(PermissionDenied):
        update_role(role=qa, permissions=list(P.values), by=user)
    with pytest.raises(PermissionDenied):
        delete_role(role=qa, by=user)
    assert Role.objects.get(pk=qa.pk).permissions == ["view"]
    assert not Role.objects.filter(name="Other").exists()


def test_role_name_must_be_unique_in_the_project(team):
    with pytest.raises(ValidationError) as error:
        create_role(project=team.project, name="Product Owner", permissions=[P.VIEW], by=team.admin)
    assert "name" in error.value.message_dict
    assert team.project.roles.filter(name="Product Owner").count() == 1


def test_role_held_by_members_cannot_be_deleted(team):
    with pytest.raises(ConflictError):
        delete_role(role=role(team.project, "backend"), by=team.admin)
    assert Role.objects.filter(project=team.project, slug="backend").exists()


def test_an_unreachable_mail_server_does_not_lose_the_invitation(
    team, settings, caplog, django_capture_on_commit_callbacks
):
    from roles.models import Invitation, Role
    from roles.services import invite_member

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    backend = Role.objects.get(project=team.project, slug="backend")
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _raw = invite_member(project=team.project, email="new@example.com", role=backend, by=team.admin)
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"
    assert "could not be sent" in caplog.text
