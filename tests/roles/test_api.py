import pytest

from roles.models import Invitation, Membership, Permission, Role
from roles.services import add_member, change_member, create_role, invite_member
from tests.factories import UserFactory, make_member, make_project

P = Permission
MEMBERS = "/api/v1/projects/SB/members/"
INVITATIONS = "/api/v1/projects/SB/invitations/"
ROLES = "/api/v1/projects/SB/roles/"
ACCEPT = "/api/v1/invitations/accept/"


def membership(project, user) -> Membership:
    return Membership.objects.get(project=project, user=user)


def fresh(user):
    """The user as a new request would load it: no membership cached by the policy yet."""
    return type(user).objects.get(pk=user.pk)


def member_url(project, user) -> str:
    return f"{MEMBERS}{membership(project, user).pk}/"


def invite(team, email="newcomer@example.com", slug="backend"):
    role = Role.objects.get(project=team.project, slug=slug)
    return invite_member(project=team.project, email=email, role=role, by=team.admin)


@pytest.fixture
def lead(team):
    """A member whose custom role may manage members but not sprints."""
    lead_role = create_role(
        project=team.project, name="Team Lead", permissions=[P.VIEW, P.COMMENT, P.MANAGE_MEMBERS], by=team.admin
    )
    return add_member(project=team.project, user=UserFactory(username="lead"), role=lead_role).user


# --- Members -------------------------------------------------------------------------------


def test_members_list_shows_each_member_with_role(team, api):
    response = api.as_(team.stakeholder).get(MEMBERS)
    assert response.status_code == 200
    roles = {m["user"]["username"]: (m["role"], m["is_admin"]) for m in response.json()["results"]}
    assert roles == {
        "admin": ("scrum-master", True),
        "sm": ("scrum-master", False),
        "po": ("product-owner", False),
        "dev": ("backend", False),
        "stake": ("stakeholder", False),
    }


def test_outsider_gets_404_for_members_list(team, api):
    response = api.as_(team.outsider).get(MEMBERS)
    assert response.status_code == 404
    assert response.json() == {"type": "not_found", "detail": "Not found.", "errors": {}}


def test_scrum_master_invites_by_email_and_only_the_email_holds_the_link(
    team, api, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_(team.scrum_master).post(
            MEMBERS, {"email": "New@Example.com", "role": "frontend"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["state"], body["invited_by"]) == (
        "new@example.com",
        "frontend",
        "pending",
        "sm",
    )
    raw = mailoutbox[0].body.split("/invitations/")[1].split("/")[0]
    assert len(raw) > 30
    assert raw not in response.content.decode()
    assert Invitation.objects.get().token_hash not in response.content.decode()


def test_developer_cannot_invite(team, api):
    response = api.as_(team.developer).post(MEMBERS, {"email": "new@example.com", "role": "backend"}, format="json")
    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
    assert not Invitation.objects.exists()


def test_invite_with_a_role_of_no_such_code_is_a_field_error(team, api):
    response = api.as_(team.admin).post(MEMBERS, {"email": "new@example.com", "role": "astronaut"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"role"}


def test_invite_with_an_invalid_email_is_a_field_error(team, api):
    response = api.as_(team.admin).post(MEMBERS, {"email": "not-an-address", "role": "backend"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email"}


def test_lead_cannot_invite_with_a_role_holding_rights_they_lack(team, lead, api):
    response = api.as_(lead).post(MEMBERS, {"email": "new@example.com", "role": "product-owner"}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_lead_cannot_give_a_role_holding_rights_they_lack(team, lead, api):
    response = api.as_(lead).patch(member_url(team.project, team.stakeholder), {"role": "product-owner"}, format="json")
    assert response.status_code == 403
    assert membership(team.project, team.stakeholder).role.slug == "stakeholder"


def test_lead_can_give_a_role_within_their_rights(team, lead, api):
    response = api.as_(lead).patch(member_url(team.project, team.stakeholder), {"role": "team-lead"}, format="json")
    assert response.status_code == 200
    assert membership(team.project, team.stakeholder).role.slug == "team-lead"


def test_scrum_master_cannot_grant_administrator_rights(team, api):
    response = api.as_(team.scrum_master).patch(
        member_url(team.project, team.developer), {"is_admin": True}, format="json"
    )
    assert response.status_code == 403
    assert not membership(team.project, team.developer).is_admin


def test_scrum_master_cannot_change_an_administrator(team, api):
    response = api.as_(team.scrum_master).patch(
        member_url(team.project, team.admin), {"role": "stakeholder"}, format="json"
    )
    assert response.status_code == 403
    assert membership(team.project, team.admin).role.slug == "scrum-master"


def test_scrum_master_changes_a_developer_role(team, api):
    response = api.as_(team.scrum_master).patch(
        member_url(team.project, team.developer), {"role": "devops"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "devops"
    assert membership(team.project, team.developer).role.slug == "devops"


def test_role_of_another_project_cannot_be_given(team, api):
    other = make_project(key="XX")
    create_role(project=other, name="Foreign", permissions=[P.VIEW], by=other.memberships.get().user)
    response = api.as_(team.admin).patch(member_url(team.project, team.developer), {"role": "foreign"}, format="json")
    assert response.status_code == 400
    assert membership(team.project, team.developer).role.slug == "backend"


def test_last_administrator_cannot_step_down(team, api):
    response = api.as_(team.admin).patch(member_url(team.project, team.admin), {"is_admin": False}, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "conflict"
    assert membership(team.project, team.admin).is_admin


def test_last_administrator_cannot_be_removed(team, api):
    response = api.as_(team.admin).delete(member_url(team.project, team.admin))
    assert response.status_code == 409
    assert membership(team.project, team.admin).is_admin


def test_administrator_steps_down_when_another_remains(team, api):
    change_member(membership=membership(team.project, team.scrum_master), is_admin=True, by=team.admin)
    response = api.as_(team.admin).patch(member_url(team.project, team.admin), {"is_admin": False}, format="json")
    assert response.status_code == 200
    assert not membership(team.project, team.admin).is_admin


def test_member_can_leave_the_project(team, api):
    response = api.as_(team.developer).delete(member_url(team.project, team.developer))
    assert response.status_code == 204
    assert not Membership.objects.filter(project=team.project, user=team.developer).exists()
    assert api.as_(fresh(team.developer)).get(MEMBERS).status_code == 404


def test_member_can_leave_an_archived_project(team, api):
    team.project.archived = True
    team.project.save()
    response = api.as_(team.developer).delete(member_url(team.project, team.developer))
    assert response.status_code == 204


def test_scrum_master_removes_a_developer(team, api):
    response = api.as_(team.scrum_master).delete(member_url(team.project, team.developer))
    assert response.status_code == 204
    assert not Membership.objects.filter(project=team.project, user=team.developer).exists()


def test_member_writes_are_refused_in_an_archived_project(team, api):
    team.project.archived = True
    team.project.save()
    invite_response = api.as_(team.admin).post(MEMBERS, {"email": "new@example.com", "role": "backend"}, format="json")
    change_response = api.as_(team.admin).patch(
        member_url(team.project, team.developer), {"role": "devops"}, format="json"
    )
    assert (invite_response.status_code, change_response.status_code) == (403, 403)
    assert api.as_(team.admin).get(MEMBERS).status_code == 200
    assert membership(team.project, team.developer).role.slug == "backend"
    assert not Invitation.objects.exists()


# --- Invitations ---------------------------------------------------------------------------


def test_invited_user_accepts_and_becomes_member(team, api):
    _invitation, raw = invite(team, email=team.outsider.email)
    response = api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json")
    assert response.status_code == 201
    assert response.json()["role"] == "backend"
    assert api.as_(team.outsider).get(MEMBERS).status_code == 200


def test_invitation_cannot_be_accepted_twice(team, api):
    _invitation, raw = invite(team, email=team.outsider.email)
    assert api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json").status_code == 201
    response = api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "detail": "This invitation has already been used.",
        "errors": {"non_field_errors": ["This invitation has already been used."]},
    }
    assert Membership.objects.filter(project=team.project, user=team.outsider).count() == 1


def test_invitation_cannot_be_accepted_by_another_user(team, api):
    _invitation, raw = invite(team)
    response = api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json")
    assert response.status_code == 400
    assert "another e-mail address" in response.json()["detail"]
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()


def test_accepting_needs_a_login(team, api):
    _invitation, raw = invite(team, email=team.outsider.email)
    response = api.post(ACCEPT, {"token": raw}, format="json")
    assert response.status_code == 401
    assert Invitation.objects.get().state == "pending"


def test_invitations_list_shows_pending_invitations_to_member_managers(team, api):
    invite(team, email="one@example.com")
    revoked, _raw = invite(team, email="two@example.com")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    response = api.as_(team.scrum_master).get(INVITATIONS)
    assert response.status_code == 200
    assert [i["email"] for i in response.json()["results"]] == ["one@example.com"]
    assert api.as_(team.developer).get(INVITATIONS).status_code == 403


def test_scrum_master_revokes_an_invitation_and_it_no_longer_works(team, api):
    invitation, raw = invite(team, email=team.outsider.email)
    response = api.as_(team.scrum_master).delete(f"{INVITATIONS}{invitation.pk}/")
    assert response.status_code == 204
    assert Invitation.objects.get().state == "revoked"
    assert api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json").status_code == 400


def test_revoking_an_accepted_invitation_is_a_conflict(team, api):
    invitation, raw = invite(team, email=team.outsider.email)
    api.as_(team.outsider).post(ACCEPT, {"token": raw}, format="json")
    response = api.as_(team.admin).delete(f"{INVITATIONS}{invitation.pk}/")
    assert response.status_code == 409
    assert Invitation.objects.get().state == "accepted"


def test_developer_gets_403_revoking_even_a_missing_invitation(team, api):
    # The right is checked before the lookup: ids in the project are no oracle for non-managers.
    invitation, _raw = invite(team)
    assert api.as_(team.developer).delete(f"{INVITATIONS}{invitation.pk}/").status_code == 403
    assert api.as_(team.developer).delete(f"{INVITATIONS}{invitation.pk + 1000}/").status_code == 403
    assert Invitation.objects.get().state == "pending"


# --- Roles ---------------------------------------------------------------------------------


def test_roles_list_shows_permissions_and_member_counts(team, api):
    response = api.as_(team.developer).get(ROLES)
    assert response.status_code == 200
    roles = {r["slug"]: (r["members"], sorted(r["permissions"])) for r in response.json()["results"]}
    assert roles["scrum-master"] == (2, sorted(P.values))
    assert roles["stakeholder"] == (1, ["view"])
    assert roles["system-analyst"][0] == 0


def test_administrator_creates_a_role(team, api):
    response = api.as_(team.admin).post(ROLES, {"name": "QA Engineer", "permissions": ["estimate"]}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "qa-engineer"
    assert sorted(response.json()["permissions"]) == ["estimate", "view"]
    assert Role.objects.filter(project=team.project, slug="qa-engineer").exists()


def test_scrum_master_cannot_create_a_role(team, api):
    response = api.as_(team.scrum_master).post(ROLES, {"name": "QA", "permissions": ["view"]}, format="json")
    assert response.status_code == 403
    assert not Role.objects.filter(name="QA").exists()


def test_role_with_an_unknown_permission_is_a_field_error(team, api):
    response = api.as_(team.admin).post(ROLES, {"name": "QA", "permissions": ["fly"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"permissions"}
    assert not Role.objects.filter(name="QA").exists()


def test_duplicate_role_name_is_a_name_error(team, api):
    response = api.as_(team.admin).post(ROLES, {"name": "Stakeholder", "permissions": ["view"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}


def test_administrator_edits_a_role_and_its_holders_gain_the_right(team, api):
    stakeholder_role = Role.objects.get(project=team.project, slug="stakeholder")
    response = api.as_(team.admin).patch(
        f"{ROLES}{stakeholder_role.pk}/", {"permissions": ["view", "comment"]}, format="json"
    )
    assert response.status_code == 200
    me = api.as_(fresh(team.stakeholder)).get("/api/v1/projects/SB/").json()
    assert me["my_permissions"] == ["comment", "view"]


def test_role_held_by_members_cannot_be_deleted(team, api):
    backend = Role.objects.get(project=team.project, slug="backend")
    response = api.as_(team.admin).delete(f"{ROLES}{backend.pk}/")
    assert response.status_code == 409
    assert Role.objects.filter(pk=backend.pk).exists()


def test_administrator_deletes_an_unused_role(team, api):
    analyst = Role.objects.get(project=team.project, slug="system-analyst")
    assert api.as_(team.admin).delete(f"{ROLES}{analyst.pk}/").status_code == 204
    assert not Role.objects.filter(pk=analyst.pk).exists()


# --- Query counts --------------------------------------------------------------------------
# Project lookup + the caller's membership (the policy) + the page: the same for 2 or 20 rows.


@pytest.mark.parametrize("rows", [2, 20])
def test_members_list_query_count_does_not_grow_with_members(db, api, django_assert_num_queries, rows):
    admin = UserFactory()
    project = make_project(admin=admin, key="QC")
    for _ in range(rows - 1):
        make_member(project, "backend")
    client = api.as_(fresh(admin))
    with django_assert_num_queries(3):
        response = client.get("/api/v1/projects/QC/members/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [2, 20])
def test_roles_list_query_count_does_not_grow_with_roles(db, api, django_assert_num_queries, rows):
    admin = UserFactory()
    project = make_project(admin=admin, key="QC")
    project.roles.exclude(slug__in=["scrum-master", "backend"]).delete()
    for number in range(rows - 2):
        create_role(project=project, name=f"Role {number}", permissions=[P.VIEW], by=admin)
    make_member(project, "backend")
    client = api.as_(fresh(admin))
    with django_assert_num_queries(3):
        response = client.get("/api/v1/projects/QC/roles/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [2, 20])
def test_invitations_list_query_count_does_not_grow_with_invitations(db, api, django_assert_num_queries, rows):
    admin = UserFactory()
    project = make_project(admin=admin, key="QC")
    role = Role.objects.get(project=project, slug="backend")
    for number in range(rows):
        invite_member(project=project, email=f"person{number}@example.com", role=role, by=admin)
    client = api.as_(fresh(admin))
    with django_assert_num_queries(3):
        response = client.get("/api/v1/projects/QC/invitations/")
    assert len(response.json()["results"]) == rows
