import datetime
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from projects.models import Project
from roles import policy
from roles.models import Membership, Role
from tests.factories import UserFactory, make_member, make_project

PROJECTS = "/api/v1/projects/"
SB = "/api/v1/projects/SB/"
KEY_ERROR = "Use 2 to 10 capital Latin letters, e.g. SB."


def fresh(user):
    """The user as a new request would load it: no membership cached by the policy yet."""
    return type(user).objects.get(pk=user.pk)


def snapshot(key="SB") -> dict:
    return Project.objects.filter(key=key).values().get()


# --- Create --------------------------------------------------------------------------------


def test_creator_becomes_administrator_with_the_scrum_master_role(db, api):
    creator = UserFactory()
    response = api.as_(creator).post(
        PROJECTS, {"key": "NEW", "name": "New", "timezone": "Europe/Berlin"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["key"], body["name"], body["timezone"], body["my_role"]) == (
        "NEW",
        "New",
        "Europe/Berlin",
        "scrum-master",
    )
    assert "administer" in body["my_permissions"]
    assert response["ETag"]
    member = Membership.objects.get(project__key="NEW", user=creator)
    assert member.is_admin
    assert member.role.slug == "scrum-master"
    assert Role.objects.filter(project__key="NEW").count() == 7


@pytest.mark.parametrize("key", ["S", "ABCDEFGHIJK", "S1", "S-B", "ÄB", ""])
def test_project_key_must_be_2_to_10_capital_letters(db, api, key):
    response = api.as_(UserFactory()).post(PROJECTS, {"key": key, "name": "New"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert set(body["errors"]) == {"key"}
    assert body["detail"] == body["errors"]["key"][0]
    assert not Project.objects.exists()


def test_project_key_error_explains_the_rule(db, api):
    response = api.as_(UserFactory()).post(PROJECTS, {"key": "S1", "name": "New"}, format="json")
    assert response.json() == {"type": "validation_error", "detail": KEY_ERROR, "errors": {"key": [KEY_ERROR]}}


def test_duplicate_project_key_is_a_key_error(team, api):
    response = api.as_(team.outsider).post(PROJECTS, {"key": "SB", "name": "Mine"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"key"}
    assert Project.objects.get(key="SB").name == "Scrumboard"
    assert not Membership.objects.filter(user=team.outsider).exists()


def test_project_needs_a_name(db, api):
    response = api.as_(UserFactory()).post(PROJECTS, {"key": "NEW"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}


def test_create_ignores_fields_the_caller_may_not_set(db, api):
    response = api.as_(UserFactory()).post(
        PROJECTS,
        {"key": "NEW", "name": "New", "archived": True, "created_at": "2000-01-01T00:00:00Z", "my_role": "god"},
        format="json",
    )
    assert response.status_code == 201
    project = Project.objects.get(key="NEW")
    assert not project.archived
    assert project.created_at.year > 2000


# --- List ----------------------------------------------------------------------------------


def test_list_shows_only_the_callers_projects(team, api):
    make_project(key="XX")
    make_project(admin=team.developer, key="DEV")
    response = api.as_(team.developer).get(PROJECTS)
    assert response.status_code == 200
    assert [p["key"] for p in response.json()["results"]] == ["DEV", "SB"]
    assert {p["key"]: p["my_role"] for p in response.json()["results"]} == {"SB": "backend", "DEV": "scrum-master"}


def test_outsider_lists_no_projects(team, api):
    response = api.as_(team.outsider).get(PROJECTS)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_list_is_paginated_by_key_with_a_next_link(db, api):
    user = UserFactory()
    for key in ["EE", "AA", "DD", "BB", "CC"]:
        make_project(admin=user, key=key)
    client = api.as_(user)
    first = client.get(PROJECTS, {"limit": 2}).json()
    assert [p["key"] for p in first["results"]] == ["AA", "BB"]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [p["key"] for p in second["results"]] == ["CC", "DD"]
    third = client.get(second["next"]).json()
    assert [p["key"] for p in third["results"]] == ["EE"]
    assert third["next"] is None


def test_list_limit_is_capped_at_200(db, api):
    user = UserFactory()
    projects = Project.objects.bulk_create(
        Project(key=f"K{a}{b}", name="P") for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJKLMNOPQRSTU"
    )
    roles = Role.objects.bulk_create(
        Role(project=p, slug="stakeholder", name="Stakeholder", permissions=["view"]) for p in projects
    )
    Membership.objects.bulk_create(Membership(project=r.project, user=user, role=r) for r in roles)
    assert len(projects) == 210
    response = api.as_(user).get(PROJECTS, {"limit": 1000})
    assert len(response.json()["results"]) == 200
    assert response.json()["next"]


def test_archived_projects_are_listed_only_on_request(team, api):
    make_project(admin=team.admin, key="OLD")
    Project.objects.filter(key="OLD").update(archived=True)
    client = api.as_(team.admin)
    assert [p["key"] for p in client.get(PROJECTS).json()["results"]] == ["SB"]
    assert [p["key"] for p in client.get(PROJECTS, {"archived": "true"}).json()["results"]] == ["OLD"]


@pytest.mark.parametrize("rows", [2, 20])
def test_projects_list_query_count_does_not_grow_with_projects(db, api, django_assert_num_queries, rows):
    user = UserFactory()
    for number in range(rows):
        project = make_project(key=f"Q{chr(65 + number)}")
        make_member(project, "backend" if number % 2 else "stakeholder", user=user)
    client = api.as_(fresh(user))
    with django_assert_num_queries(2):  # the page, the caller's memberships with their roles
        response = client.get(PROJECTS)
    assert len(response.json()["results"]) == rows
    assert {p["my_role"] for p in response.json()["results"]} == {"backend", "stakeholder"}


# --- Retrieve, update, ETag ----------------------------------------------------------------


def test_member_reads_the_project_with_an_etag(team, api):
    response = api.as_(team.stakeholder).get(SB)
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    assert response.json()["my_permissions"] == ["view"]


def test_outsider_gets_404_for_the_project(team, api):
    response = api.as_(team.outsider).get(SB)
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_update_with_a_stale_if_match_is_412_and_changes_nothing(team, api):
    client = api.as_(team.scrum_master)
    etag = client.get(SB)["ETag"]
    assert client.patch(SB, {"name": "First"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    before = snapshot()
    response = client.patch(SB, {"name": "Second"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert response.json()["type"] == "precondition_failed"
    assert snapshot() == before


def test_update_with_the_current_if_match_succeeds_and_returns_a_new_etag(team, api):
    client = api.as_(team.scrum_master)
    etag = client.get(SB)["ETag"]
    response = client.patch(SB, {"name": "Renamed", "sprint_length_days": 7}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert client.get(SB)["ETag"] == response["ETag"]
    assert (snapshot()["name"], snapshot()["sprint_length_days"]) == ("Renamed", 7)


def test_put_replaces_the_settings(team, api):
    response = api.as_(team.admin).put(SB, {"key": "SB", "name": "Replaced", "working_days": [5, 1]}, format="json")
    assert response.status_code == 200
    assert (snapshot()["name"], snapshot()["working_days"]) == ("Replaced", [1, 5])


def test_archived_created_at_and_updated_at_are_not_writable(team, api):
    before = snapshot()
    response = api.as_(team.admin).patch(
        SB,
        {"archived": True, "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    after = snapshot()
    assert (after["archived"], after["created_at"]) == (before["archived"], before["created_at"])
    assert after["updated_at"].year > 2000


def test_key_cannot_be_changed(team, api):
    before = snapshot()
    response = api.as_(team.admin).patch(SB, {"key": "XY"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"key"}
    assert snapshot() == before
    assert not Project.objects.filter(key="XY").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", ""),
        ("working_days", []),
        ("working_days", [0]),
        ("working_days", [8]),
        ("working_days", [1, 1]),
        ("working_days", "weekdays"),
        ("sprint_length_days", 0),
        ("sprint_length_days", 32),
        ("daily_scrum_minutes", 120),
        ("daily_scrum_time", "25:00"),
        ("daily_scrum_time", "09:30+05:00"),  # a wall-clock time in the project's zone: an offset means nothing
        ("daily_scrum_time", "9.30"),
    ],
)
def test_invalid_setting_is_a_field_error_and_changes_nothing(team, api, field, value):
    before = snapshot()
    response = api.as_(team.admin).patch(SB, {field: value}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert set(body["errors"]) == {field}
    assert all(isinstance(message, str) for message in body["errors"][field])
    assert snapshot() == before


@pytest.mark.parametrize(("sent", "stored"), [("09:30", datetime.time(9, 30)), ("09:30:00", datetime.time(9, 30))])
def test_daily_scrum_time_is_a_wall_clock_time_read_back_as_hh_mm(team, api, sent, stored):
    response = api.as_(team.admin).patch(SB, {"daily_scrum_time": sent}, format="json")
    assert response.status_code == 200
    assert response.json()["daily_scrum_time"] == "09:30"
    assert Project.objects.get(key="SB").daily_scrum_time == stored
    assert api.get(SB).json()["daily_scrum_time"] == "09:30"


def test_developer_cannot_update_the_project(team, api):
    before = snapshot()
    response = api.as_(team.developer).patch(SB, {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_updates_with_the_same_if_match_let_only_one_through(team, monkeypatch):
    etag = APIClient()
    etag.force_authenticate(team.admin)
    current = etag.get(SB)["ETag"]
    # Both requests have found the project and checked the caller's rights before either
    # compares the ETag: only the row lock can tell them apart.
    barrier = threading.Barrier(2, timeout=10)
    real_project_for = policy.project_for

    def project_for_when_both_arrive(*args, **kwargs):
        project = real_project_for(*args, **kwargs)
        barrier.wait()
        return project

    monkeypatch.setattr(policy, "project_for", project_for_when_both_arrive)
    statuses: dict[str, int] = {}

    def rename(name):
        client = APIClient()
        client.force_authenticate(fresh(team.admin))
        try:
            statuses[name] = client.patch(SB, {"name": name}, format="json", HTTP_IF_MATCH=current).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=rename, args=(name,)) for name in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses.values()) == [200, 412]
    winner = next(name for name, status in statuses.items() if status == 200)
    assert snapshot()["name"] == winner


# --- Archive -------------------------------------------------------------------------------


def test_administrator_archives_and_unarchives(team, api):
    client = api.as_(team.admin)
    response = client.post(f"{SB}archive/")
    assert response.status_code == 200
    assert response.json()["archived"] is True
    assert snapshot()["archived"]
    assert client.post(f"{SB}archive/").status_code == 409
    response = client.post(f"{SB}unarchive/")
    assert response.status_code == 200
    assert not snapshot()["archived"]
    assert client.post(f"{SB}unarchive/").status_code == 409


def test_scrum_master_cannot_archive(team, api):
    assert api.as_(team.scrum_master).post(f"{SB}archive/").status_code == 403
    assert not snapshot()["archived"]


def test_archive_with_a_stale_if_match_is_412(team, api):
    client = api.as_(team.admin)
    etag = client.get(SB)["ETag"]
    client.patch(SB, {"name": "Renamed"}, format="json")
    assert client.post(f"{SB}archive/", HTTP_IF_MATCH=etag).status_code == 412
    assert not snapshot()["archived"]


def test_archived_project_is_readable_but_refuses_writes(team, api):
    api.as_(team.admin).post(f"{SB}archive/")
    before = snapshot()
    for persona in ("admin", "scrum_master"):
        client = api.as_(fresh(getattr(team, persona)))
        assert client.get(SB).status_code == 200
        assert client.get(f"{SB}members/").status_code == 200
        assert client.patch(SB, {"name": "Changed"}, format="json").status_code == 403
        assert (
            client.post(f"{SB}members/", {"email": "x@example.com", "role": "backend"}, format="json").status_code
            == 403
        )
    assert snapshot() == before
    assert api.as_(fresh(team.admin)).get(SB).json()["my_permissions"] == ["administer", "view"]


# --- Me ------------------------------------------------------------------------------------


def test_me_lists_the_callers_projects_roles_and_permissions(team, api):
    make_project(admin=team.developer, key="DEV")
    response = api.as_(fresh(team.developer)).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["email"]) == ("dev", "dev@example.com")
    projects = {p["key"]: p for p in body["projects"]}
    assert set(projects) == {"SB", "DEV"}
    assert (projects["SB"]["role"], projects["SB"]["is_admin"]) == ("backend", False)
    assert projects["SB"]["permissions"] == ["comment", "edit_backlog", "estimate", "view"]
    assert projects["DEV"]["is_admin"]


def test_me_needs_authentication(db):
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401


@pytest.mark.parametrize("rows", [2, 20])
def test_me_query_count_does_not_grow_with_projects(db, api, django_assert_num_queries, rows):
    user = UserFactory()
    for number in range(rows):
        make_member(make_project(key=f"Q{chr(65 + number)}"), "backend", user=user)
    client = api.as_(fresh(user))
    with django_assert_num_queries(2):
        response = client.get("/api/v1/me/")
    assert len(response.json()["projects"]) == rows
