import datetime

import pytest
import time_machine
from django.urls import reverse

from projects.models import Project
from roles.models import Membership
from tests.factories import UserFactory, make_member, make_project

pytestmark = pytest.mark.django_db

VALID_SETTINGS = {
    "name": "Mobile app",
    "description": "The phone client.",
    "product_goal": "Ship 1.0",
    "timezone": "Europe/Berlin",
    "sprint_length_days": "10",
    "daily_scrum_time": "09:30",
    "daily_scrum_minutes": "15",
    "working_days": ["1", "2", "3", "4", "5"],
    "definition_of_done": "Reviewed\nTested",
}


def test_projects_list_sends_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_projects_list_shows_my_projects_with_my_role_and_archived_ones_apart(client, developer, admin):
    archived = make_project(admin=admin, key="OLD", name="Old project")
    make_member(archived, "frontend", user=developer)
    Project.objects.filter(pk=archived.pk).update(archived=True)
    make_project(key="NOTMINE", name="Not mine")
    client.force_login(developer)

    response = client.get(reverse("projects:list"))

    assert [p.key for p in response.context["active_projects"]] == ["SB"]
    assert [p.key for p in response.context["archived_projects"]] == ["OLD"]
    html = response.content.decode()
    assert "Backend Developer" in html
    assert '<details class="archived-section">' in html  # collapsed by default
    assert "Not mine" not in html


def test_projects_list_empty_state_invites_to_create_a_project(client):
    client.force_login(UserFactory())
    response = client.get(reverse("projects:list"))
    assert "No projects yet" in response.content.decode()
    assert reverse("projects:create") in response.content.decode()


def test_projects_list_runs_a_fixed_number_of_queries(client, admin, django_assert_num_queries):
    client.force_login(admin)
    # session, user, projects (with member counts), the user's memberships with roles
    with django_assert_num_queries(4):
        assert client.get(reverse("projects:list")).status_code == 200


@pytest.mark.parametrize("count", [2, 20])
def test_projects_list_query_count_does_not_grow_with_projects(client, count, django_assert_num_queries):
    user = UserFactory()
    for _ in range(count):
        project = make_project(admin=user)
        for role in ("backend", "stakeholder"):
            make_member(project, role)
    client.force_login(user)
    with django_assert_num_queries(4):
        response = client.get(reverse("projects:list"))
    assert len(response.context["active_projects"]) == count
    assert response.context["active_projects"][0].member_count == 3


def test_creating_a_project_makes_me_its_administrator(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("projects:create"), {**VALID_SETTINGS, "key": "app"})

    project = Project.objects.get(key="APP")
    assert response.status_code == 302
    assert response["Location"] == reverse("roles:team", kwargs={"key": "APP"})
    assert project.name == "Mobile app"
    assert project.working_days == [1, 2, 3, 4, 5]
    assert project.definition_of_done_items() == ["Reviewed", "Tested"]
    membership = Membership.objects.get(project=project, user=user)
    assert membership.is_admin
    assert membership.role.slug == "scrum-master"


def test_create_form_starts_with_the_model_defaults(client):
    client.force_login(UserFactory())
    form = client.get(reverse("projects:create")).context["form"]
    assert form["timezone"].value() == "Asia/Almaty"
    assert [int(day) for day in form["working_days"].value()] == [1, 2, 3, 4, 5]


def test_create_form_shows_an_error_for_a_bad_key(client):
    client.force_login(UserFactory())

    response = client.post(reverse("projects:create"), {**VALID_SETTINGS, "key": "S1"})

    assert response.status_code == 200
    assert "key" in response.context["form"].errors
    assert "Use 2 to 10 capital Latin letters" in response.content.decode()
    assert not Project.objects.filter(name="Mobile app").exists()


def test_create_form_shows_an_error_for_a_duplicate_key(client, project):
    client.force_login(UserFactory())

    response = client.post(reverse("projects:create"), {**VALID_SETTINGS, "key": "sb"})

    assert response.status_code == 200
    assert response.context["form"].errors["key"] == ["Project with this Key already exists."]
    assert Project.objects.count() == 1


def test_create_form_shows_errors_for_missing_fields(client):
    client.force_login(UserFactory())
    response = client.post(reverse("projects:create"), {"key": "NEW"})
    errors = response.context["form"].errors
    assert {"name", "working_days", "timezone"} <= set(errors)
    assert "Please correct the highlighted fields." in response.content.decode()


def test_project_overview_shows_its_settings(client, developer, project):
    client.force_login(developer)
    response = client.get(reverse("projects:detail", kwargs={"key": "SB"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Asia/Almaty" in html
    assert "Monday, Tuesday, Wednesday, Thursday, Friday" in html
    assert "5 members" in html


def test_project_pages_render_times_in_the_project_time_zone(client, developer, project):
    client.force_login(developer)
    with time_machine.travel(datetime.datetime(2025, 3, 3, 4, 0, tzinfo=datetime.UTC), tick=False):
        response = client.get(reverse("projects:detail", kwargs={"key": "SB"}))
    assert "(now 09:00)" in response.content.decode()  # Asia/Almaty is UTC+5


def test_project_pages_hide_from_outsiders_and_anonymous_visitors(client, outsider, project):
    url = reverse("projects:detail", kwargs={"key": "SB"})
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("projects:detail", kwargs={"key": "NOPE"})).status_code == 404


def test_navigation_shows_settings_only_to_those_who_may_manage_the_project(client, developer, scrum_master, project):
    settings_url = reverse("projects:edit", kwargs={"key": "SB"})
    client.force_login(developer)
    assert settings_url not in client.get(reverse("projects:detail", kwargs={"key": "SB"})).content.decode()
    client.force_login(scrum_master)
    assert settings_url in client.get(reverse("projects:detail", kwargs={"key": "SB"})).content.decode()


def test_editing_settings_saves_them(client, scrum_master, project):
    client.force_login(scrum_master)

    response = client.post(reverse("projects:edit", kwargs={"key": "SB"}), VALID_SETTINGS)

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Mobile app"
    assert project.timezone == "Europe/Berlin"
    assert project.daily_scrum_time == datetime.time(9, 30)
    assert project.key == "SB"


def test_editing_settings_is_forbidden_to_a_developer(client, developer, project):
    client.force_login(developer)
    url = reverse("projects:edit", kwargs={"key": "SB"})
    assert client.get(url).status_code == 403
    assert client.post(url, VALID_SETTINGS).status_code == 403
    project.refresh_from_db()
    assert project.name == "Scrumboard"


def test_invalid_settings_show_errors_and_change_nothing(client, admin, project):
    client.force_login(admin)

    response = client.post(
        reverse("projects:edit", kwargs={"key": "SB"}), {**VALID_SETTINGS, "sprint_length_days": "40", "name": "X"}
    )

    assert response.status_code == 200
    assert "sprint_length_days" in response.context["form"].errors
    assert response.context["project"].name == "Scrumboard"  # the header still shows the saved name
    project.refresh_from_db()
    assert project.name == "Scrumboard"


def test_admin_archives_and_restores_the_project(client, admin, project):
    client.force_login(admin)

    response = client.post(reverse("projects:archive", kwargs={"key": "SB"}), follow=True)
    project.refresh_from_db()
    assert project.archived
    assert "Project archived." in response.content.decode()
    assert "This project is archived and read-only." in response.content.decode()

    client.post(reverse("projects:unarchive", kwargs={"key": "SB"}))
    project.refresh_from_db()
    assert not project.archived


def test_archiving_twice_shows_a_message_not_an_error_page(client, admin, project):
    client.force_login(admin)
    client.post(reverse("projects:archive", kwargs={"key": "SB"}))
    response = client.post(reverse("projects:archive", kwargs={"key": "SB"}), follow=True)
    assert response.status_code == 200
    assert "The project is already archived." in response.content.decode()


def test_only_administrators_archive(client, scrum_master, project):
    client.force_login(scrum_master)
    assert client.post(reverse("projects:archive", kwargs={"key": "SB"})).status_code == 403
    assert client.get(reverse("projects:archive", kwargs={"key": "SB"})).status_code == 405
    project.refresh_from_db()
    assert not project.archived


def test_settings_of_an_archived_project_are_read_only(client, admin, project):
    Project.objects.filter(pk=project.pk).update(archived=True)
    client.force_login(admin)
    assert client.get(reverse("projects:edit", kwargs={"key": "SB"})).status_code == 403
    assert client.get(reverse("projects:detail", kwargs={"key": "SB"})).status_code == 200
