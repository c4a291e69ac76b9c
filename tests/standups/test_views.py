import datetime

import pytest

from backlog.models import BacklogItem
from projects.models import Project
from sprints import services as sprint_services
from standups import services
from standups.models import Entry, Impediment
from tests.factories import make_member, make_project

TODAY = "/projects/SB/standups/"
# The day page: session, user, project, membership, meeting, team, entries, cards, impediments, chart...
QUERIES = 19


@pytest.fixture
def dev_client(client, developer):
    client.force_login(developer)
    return client


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_today_shows_my_form_with_yesterdays_next_as_the_prompt(dev_client, project, developer, sprint, at):
    monday = services.meeting_for(project=project, by=developer)
    services.save_entry(meeting=monday, by=developer, next="Finish the login form")
    at("2026-03-03")
    html = html_of(dev_client.get(TODAY))
    assert "Daily scrum" in html and "2026-03-03" in html
    assert "Yesterday you planned:" in html and "Finish the login form" in html
    assert 'name="done"' in html
    assert "chart-svg" in html  # the sprint's burndown beside it


def test_posting_my_entry_saves_it_and_links_my_card(dev_client, developer, meeting, card):
    response = dev_client.post(
        f"{TODAY}2026-03-02/entry/", {"done": "API", "next": "Tests", "blockers": "No server", "items": [card.pk]}
    )
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert (entry.user, entry.done, list(entry.items.all())) == (developer, "API", [card])
    assert BacklogItem.objects.get(pk=card.pk).impeded
    html = html_of(dev_client.get(TODAY))
    assert "No server" in html and "Resolve" in html


def test_stakeholders_see_the_day_without_a_form(client, stakeholder, meeting):
    client.force_login(stakeholder)
    html = html_of(client.get(TODAY))
    assert 'name="done"' not in html
    assert client.post(f"{TODAY}2026-03-02/entry/", {"done": "x"}).status_code == 403
    assert not Entry.objects.exists()


def test_a_closed_meeting_shows_a_message_and_refuses_edits(dev_client, developer, scrum_master, meeting):
    services.save_entry(meeting=meeting, by=developer, done="Before")
    services.end_meeting(meeting=meeting, by=scrum_master)
    html = html_of(dev_client.get(f"{TODAY}2026-03-02/"))
    assert "This daily scrum is closed" in html
    assert 'name="done"' not in html
    response = dev_client.post(f"{TODAY}2026-03-02/entry/", {"done": "After"}, follow=True)
    assert "closed" in response.content.decode()
    assert Entry.objects.get().done == "Before"


def test_no_meeting_on_a_weekend(dev_client, sprint, at):
    at("2026-03-07")
    html = html_of(dev_client.get(TODAY))
    assert "not a working day" in html


def test_bad_or_missing_days_are_not_found(dev_client, meeting):
    assert dev_client.get(f"{TODAY}2026-02-31/").status_code == 404
    assert dev_client.get(f"{TODAY}2026-03-03/").status_code == 404


def test_the_page_day_is_the_projects_local_date_in_a_dst_zone(dev_client, developer, scrum_master, at):
    project = Project.objects.get(key="SB")
    project.timezone = "Europe/Berlin"
    project.save()
    at("2026-03-23")
    sprint = sprint_services.create_sprint(
        project=project, by=scrum_master, start_date=datetime.date(2026, 3, 23), end_date=datetime.date(2026, 4, 3)
    )
    sprint_services.start_sprint(sprint=sprint, by=scrum_master)
    # 22:30 UTC on Sunday 29th is 00:30 on Monday 30th in Berlin, on summer time since that night.
    at("2026-03-29", "22:30", tz="UTC")
    html = html_of(dev_client.get(TODAY))
    assert "2026-03-30" in html


def test_facilitating_starts_the_timer_marks_attendance_and_ends_with_a_summary(
    client, scrum_master, developer, meeting, at
):
    client.force_login(scrum_master)
    page = html_of(client.get(f"{TODAY}2026-03-02/facilitate/"))
    assert "Start meeting" in page
    at("2026-03-02", "10:00")
    assert client.post(f"{TODAY}2026-03-02/start/", {"order": "by_role"}).status_code == 302
    page = html_of(client.get(f"{TODAY}2026-03-02/facilitate/"))
    assert 'data-countdown data-started="2026-03-02T10:00:00+05:00"' in page
    assert 'data-seconds="900"' in page
    assert "End meeting" in page
    response = client.post(f"{TODAY}2026-03-02/attendance/", {"member": developer.pk, "present": "0"})
    assert response.status_code == 302
    at("2026-03-02", "10:09")
    response = client.post(f"{TODAY}2026-03-02/end/")
    assert response["Location"] == f"{TODAY}2026-03-02/summary/"
    summary = html_of(client.get(response["Location"]))
    assert "Missing entries" in summary and developer.get_full_name() in summary
    assert "9:00" in summary
    assert "Absent" in summary


def test_developers_cannot_facilitate(dev_client, meeting):
    assert dev_client.get(f"{TODAY}2026-03-02/facilitate/").status_code == 403
    assert dev_client.post(f"{TODAY}2026-03-02/start/").status_code == 403


def test_impediments_page_raises_and_resolves(dev_client, developer, sprint, card):
    response = dev_client.post(
        "/projects/SB/impediments/", {"description": "Waiting for keys", "owner": developer.pk, "items": [card.pk]}
    )
    assert response.status_code == 302
    impediment = Impediment.objects.get()
    assert BacklogItem.objects.get(pk=card.pk).impeded
    assert "Waiting for keys" in html_of(dev_client.get("/projects/SB/impediments/"))
    assert dev_client.post(f"/projects/SB/impediments/{impediment.pk}/resolve/").status_code == 302
    assert not BacklogItem.objects.get(pk=card.pk).impeded
    assert "Waiting for keys" in html_of(dev_client.get("/projects/SB/impediments/?state=resolved"))


def test_an_impediment_is_handed_over_to_another_member(dev_client, project, developer, scrum_master, sprint):
    impediment = services.raise_impediment(project=project, by=developer, description="Waiting for keys")
    page = html_of(dev_client.get("/projects/SB/impediments/"))
    assert f'<option value="{scrum_master.username}"' in page
    response = dev_client.post(f"/projects/SB/impediments/{impediment.pk}/owner/", {"owner": scrum_master.username})
    assert response.status_code == 302
    impediment.refresh_from_db()
    assert impediment.owner == scrum_master
    refused = dev_client.post(f"/projects/SB/impediments/{impediment.pk}/owner/", {"owner": "stranger"}, follow=True)
    assert "The owner must be a member of the project." in html_of(refused)
    impediment.refresh_from_db()
    assert impediment.owner == scrum_master  # nothing lost


def test_history_shows_my_streak_and_exports_csv(dev_client, project, developer, sprint, at):
    for day in ("2026-03-02", "2026-03-03"):
        at(day)
        services.save_entry(meeting=services.meeting_for(project=project, by=developer), by=developer, done=day)
    html = html_of(dev_client.get(f"{TODAY}history/"))
    assert "Your streak: 2 daily scrums in a row" in html
    csv_text = dev_client.get(f"{TODAY}export.csv?from=2026-03-02&to=2026-03-03").content.decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("2026-03-02,dev,2026-03-02")


@pytest.mark.parametrize("query", ["from=2026-03-03&to=2026-03-02", "from=yesterday", "from=2024-01-01&to=2026-03-02"])
def test_a_bad_export_range_says_so_on_the_history_page(dev_client, sprint, query):
    response = dev_client.get(f"{TODAY}export.csv?{query}", follow=True)
    assert response.redirect_chain == [(f"{TODAY}history/", 302)]
    assert "a year at most" in html_of(response)


def test_the_day_page_runs_a_constant_number_of_queries(
    dev_client, project, developer, meeting, card, django_assert_num_queries
):
    services.save_entry(meeting=meeting, by=developer, done="x", blockers="y", items=[card])
    with django_assert_num_queries(QUERIES):
        html_of(dev_client.get(f"{TODAY}2026-03-02/"))
    for n in range(30):
        user = make_member(project, "frontend").user
        services.save_entry(meeting=meeting, by=user, done=f"Work {n}", blockers=f"Blocker {n}", items=[card])
    with django_assert_num_queries(QUERIES):
        html_of(dev_client.get(f"{TODAY}2026-03-02/"))


def test_entries_and_impediments_render_as_text(dev_client, developer, meeting):
    services.save_entry(
        meeting=meeting, by=developer, done="<script>alert(1)</script>", blockers="<img src=x onerror=1>"
    )
    html = html_of(dev_client.get(f"{TODAY}2026-03-02/"))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x onerror=1>" not in html
    assert "<img src=x onerror=1>" not in html_of(dev_client.get("/projects/SB/impediments/"))


def test_resolving_another_projects_impediment_is_not_found(dev_client, sprint):
    other = make_project(key="XX")
    theirs = services.raise_impediment(project=other, by=other.memberships.get().user, description="Theirs")
    assert dev_client.post(f"/projects/SB/impediments/{theirs.pk}/resolve/").status_code == 404
    assert Impediment.objects.get(pk=theirs.pk).is_open
