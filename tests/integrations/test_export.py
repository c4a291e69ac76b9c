"""The whole-project export: the document, the API download, the page download, secrets, query counts."""

import dataclasses
import datetime
import json

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse

from backlog import services as backlog
from integrations import webhooks
from integrations.calendar import create_feed
from integrations.exporting import export_project
from integrations.models import CalendarFeed, Webhook
from integrations.services import create_token
from tests.factories import make_project
from tests.integrations.export_helpers import build_small_project, new_project_like
from tests.integrations.matrix_rows import PUBLIC_URL

pytestmark = pytest.mark.django_db

# 19:30 UTC on the 24th is already the 25th in Almaty (UTC+5), the project's zone: the file is dated the 25th.
LATE_EVENING_UTC = datetime.datetime(2026, 11, 24, 19, 30, tzinfo=datetime.UTC)


def api_url(key: str = "SB") -> str:
    return reverse("api:project-export", kwargs={"key": key})


def page_url(key: str = "SB") -> str:
    return reverse("integrations:export", kwargs={"key": key})


def without_time(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "exported_at"}


def test_api_sends_the_document_as_a_dated_attachment(api, team):
    build_small_project(team)

    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        response = api.as_(team.admin).get(api_url())

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="SB-2026-11-25.json"'
    document = response.json()
    assert document["format"] == "scrumboard-export" and document["version"] == 1
    assert document["exported_at"] == "2026-11-25T00:30:00+05:00"
    assert without_time(document) == without_time(json.loads(json.dumps(export_project(team.project))))


def test_document_has_every_section_and_the_project_settings(team):
    team.project.daily_scrum_time = datetime.time(9, 30)
    team.project.save()
    document = export_project(build_small_project(team))

    assert list(document) == [
        "format",
        "version",
        "exported_at",
        "project",
        "roles",
        "members",
        "people",
        "statuses",
        "labels",
        "items",
        "deleted_items",
        "sprints",
        "standups",
        "retrospectives",
        "roadmap",
    ]
    project = document["project"]
    assert (project["key"], project["timezone"], project["daily_scrum_time"]) == ("SB", "Asia/Almaty", "09:30:00")
    assert project["working_days"] == [1, 2, 3, 4, 5] and project["sprint_length_days"] == 14
    assert {m["username"]: m["role"] for m in document["members"]}["dev"] == "backend"
    story = document["items"][1]
    assert (story["key"], story["parent"], story["assignee"], story["points"]) == ("SB-2", "SB-1", "dev", "3.0")
    assert story["links"] == [{"kind": "blocks", "target": "SB-3"}] and story["watchers"] == ["po"]
    assert story["comments"][0]["mentions"] == ["dev"] and story["comments"][0]["author"] == "former-sb"
    assert story["created_at"] == "2026-03-02T10:00:00+05:00"
    assert story["history"][0]["kind"] == "created"
    assert document["deleted_items"][0]["number"] == 4
    sprint = document["sprints"][0]
    assert sprint["state"] == "completed" and sprint["report"]["sprint"]["id"] == 1
    assert [c["item"] for c in sprint["commitment"]] == ["SB-2", "SB-3", "SB-4"]
    assert sprint["days_off"] == [{"user": "dev", "days": 2}] and sprint["feedback_items"] == ["SB-5"]
    meeting = document["standups"]["meetings"][0]
    assert meeting["speaking_order"] == ["dev", "admin"] and meeting["attendance"] == {"admin": False, "dev": True}
    assert meeting["summary"]["raised"][0]["id"] == 1 and meeting["entries"][0]["impediment"] == 1
    release = document["roadmap"]["releases"][0]
    assert release["items"] == [{"item": "SB-2", "released": True}] and release["released_by"] == "admin"
    assert document["roadmap"]["phases"][0]["items"] == ["SB-1", "SB-2"]


def test_secrets_and_other_projects_stay_out_of_the_export(team):
    project = team.project
    hook = webhooks.create_webhook(project=project, by=team.admin, url=PUBLIC_URL, events=["item.created"])
    create_feed(project=project, by=team.admin)
    _token, raw = create_token(user=team.admin, name="ci")
    other = make_project(key="XX")
    backlog.create_item(project=other, by=other.memberships.get().user, title="Someone else's secret plan")

    text = json.dumps(export_project(project))

    assert PUBLIC_URL not in text and hook.secret_salt not in text
    assert CalendarFeed.objects.get(project=project).token_hash not in text
    assert raw not in text and "token" not in text.lower()
    assert "secret plan" not in text and Webhook.objects.count() == 1


def test_page_downloads_the_same_document(client, team):
    build_small_project(team)
    client.force_login(team.scrum_master)

    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        response = client.get(page_url())

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="SB-2026-11-25.json"'
    document = json.loads(response.content.decode())
    assert without_time(document) == without_time(json.loads(json.dumps(export_project(team.project))))
    assert "Қазақша эпик" in response.content.decode()  # UTF-8 as is, not \u escapes


def test_page_refuses_members_without_manage_integrations(client, team):
    client.force_login(team.developer)
    assert client.get(page_url()).status_code == 403
    client.force_login(team.outsider)
    assert client.get(page_url()).status_code == 404


def test_an_archived_project_can_be_exported_by_its_administrators_only(api, client, team):
    team.project.archived = True
    team.project.save()

    assert api.as_(team.admin).get(api_url()).status_code == 200
    assert api.as_(team.scrum_master).get(api_url()).status_code == 403
    client.force_login(team.admin)
    assert client.get(page_url()).status_code == 200
    client.force_login(team.scrum_master)
    assert client.get(page_url()).status_code == 403


def test_export_button_links_to_the_download(team):
    html = render_to_string("integrations/_export_button.html", {"project": team.project})
    assert f'href="{page_url()}"' in html and "Export project" in html


# The document is built with one query per table (and one naming the people who are no longer
# members), whatever the project's size; the API adds the session's user and the project lookup.
EXPORT_QUERIES = 35
API_QUERIES = EXPORT_QUERIES + 2


def test_export_takes_a_constant_number_of_queries(django_assert_num_queries, team, api):
    larger = new_project_like(team.project, key="LG")
    build_small_project(team)
    build_small_project(dataclasses.replace(team, project=larger), extra_items=40)

    for project in (team.project, larger):
        with django_assert_num_queries(EXPORT_QUERIES):
            document = export_project(project)
    assert len(document["items"]) == 44
    for key in ("SB", "LG"):
        with django_assert_num_queries(API_QUERIES):
            assert api.as_(team.admin).get(api_url(key)).status_code == 200
