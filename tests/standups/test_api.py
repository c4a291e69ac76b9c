import datetime

import pytest

from backlog.models import BacklogItem
from standups import services
from standups.models import DailyScrum, Entry
from tests.factories import make_member

BASE = "/api/v1/projects/SB/"


def test_bad_dates_are_a_400(api, developer, meeting):
    client = api.as_(developer)
    for bad in ("2026-3-2", "yesterday", "2026-02-30"):
        response = client.get(f"{BASE}standups/{bad}/")
        assert response.status_code == 400, bad
        assert response.json()["type"] == "validation_error"
        assert "date" in response.json()["errors"]
    assert client.get(f"{BASE}standups/?from=nope").status_code == 400


def test_a_day_without_a_meeting_is_not_found(api, developer, meeting):
    assert api.as_(developer).get(f"{BASE}standups/2026-03-03/").status_code == 404


def test_creating_todays_meeting_then_reading_it(api, developer, sprint, at):
    # 20:00 UTC on Monday is Tuesday 01:00 in Almaty: the meeting is Tuesday's.
    at("2026-03-02", "20:00", tz="UTC")
    client = api.as_(developer)
    response = client.post(f"{BASE}standups/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["date"] == "2026-03-03"
    assert response.json()["timebox_minutes"] == 15
    assert client.post(f"{BASE}standups/", {"date": "2026-03-03"}, format="json").status_code == 200
    detail = client.get(f"{BASE}standups/2026-03-03/")
    assert detail.status_code == 200 and detail["ETag"]
    weekend = client.post(f"{BASE}standups/", {"date": "2026-03-07"}, format="json")
    assert weekend.status_code == 400
    assert "working day" in weekend.json()["errors"]["date"][0]


def test_entries_are_always_the_callers_own(api, developer, scrum_master, sprint, card):
    client = api.as_(developer)
    response = client.post(
        f"{BASE}standups/2026-03-02/entries/",
        {"done": "API", "next": "Tests", "blockers": "No server", "items": ["SB-1"], "member": "sm", "user": 2},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["member"] == "dev" and body["items"] == ["SB-1"] and body["impediment"]
    assert BacklogItem.objects.get(pk=card.pk).impeded
    again = client.put(f"{BASE}standups/2026-03-02/entries/", {"done": "API v2"}, format="json")
    assert again.status_code == 200
    assert list(Entry.objects.values_list("user__username", "done")) == [("dev", "API v2")]
    listed = api.as_(scrum_master).get(f"{BASE}standups/2026-03-02/entries/").json()
    assert [(e["member"], e["done"]) for e in listed] == [("dev", "API v2")]


def test_entries_for_a_past_day_without_a_meeting_are_not_found(api, developer, sprint, at):
    at("2026-03-03")
    response = api.as_(developer).post(f"{BASE}standups/2026-03-02/entries/", {"done": "x"}, format="json")
    assert response.status_code == 404


def test_items_of_another_project_cannot_be_linked(api, developer, meeting):
    response = api.as_(developer).post(
        f"{BASE}standups/2026-03-02/entries/", {"done": "x", "items": ["XX-1"]}, format="json"
    )
    assert response.status_code == 400
    assert "items" in response.json()["errors"]


def test_a_closed_meeting_is_read_only(api, developer, scrum_master, meeting):
    facilitator = api.as_(scrum_master)
    assert facilitator.post(f"{BASE}standups/2026-03-02/start/", {"order": "by_role"}, format="json").status_code == 200
    ended = facilitator.post(f"{BASE}standups/2026-03-02/end/")
    assert ended.status_code == 200
    assert ended.json()["state"] == "closed"
    assert ended.json()["summary"]["missing"] == ["admin", "sm", "po", "dev"]
    response = api.as_(developer).post(f"{BASE}standups/2026-03-02/entries/", {"done": "late"}, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "conflict"
    assert api.as_(scrum_master).post(f"{BASE}standups/2026-03-02/end/").status_code == 409
    assert not Entry.objects.exists()


def test_start_and_attendance(api, scrum_master, developer, meeting, at):
    at("2026-03-02", "10:00")
    client = api.as_(scrum_master)
    started = client.post(f"{BASE}standups/2026-03-02/start/", {"order": "by_role"}, format="json").json()
    assert started["speaking_order"] == ["admin", "sm", "po", "dev"]
    assert started["started_at"] == "2026-03-02T05:00:00Z"
    marked = client.post(f"{BASE}standups/2026-03-02/attendance/", {"member": "dev", "present": False}, format="json")
    assert marked.json()["attendance"]["dev"] is False
    bad = client.post(f"{BASE}standups/2026-03-02/attendance/", {"member": "outsider", "present": True}, format="json")
    assert bad.status_code == 400
    assert client.post(f"{BASE}standups/2026-03-02/start/", {"order": "alphabet"}, format="json").status_code == 400
    assert client.post(f"{BASE}standups/2026-03-02/start/", {"order": "by_role"}, format="json").status_code == 409


def test_meeting_list_is_latest_first_with_constant_queries(
    api, project, developer, sprint, at, django_assert_num_queries
):
    client = api.as_(developer)
    services.meeting_for(project=project, by=developer)
    at("2026-03-03")
    services.meeting_for(project=project, by=developer)
    with django_assert_num_queries(4):
        body = client.get(f"{BASE}standups/").json()
    assert [m["date"] for m in body["results"]] == ["2026-03-03", "2026-03-02"]
    for n in range(30):
        DailyScrum.objects.create(
            project=project, sprint=sprint, date=datetime.date(2025, 1, 1) + datetime.timedelta(n)
        )
    with django_assert_num_queries(4):
        body = client.get(f"{BASE}standups/?limit=40").json()
    assert len(body["results"]) == 32


def test_entry_list_has_constant_queries(api, project, developer, meeting, card, django_assert_num_queries):
    services.save_entry(meeting=meeting, by=developer, done="x", items=[card])
    client = api.as_(developer)
    with django_assert_num_queries(6):
        assert len(client.get(f"{BASE}standups/2026-03-02/entries/").json()) == 1
    for _ in range(30):
        services.save_entry(meeting=meeting, by=make_member(project, "frontend").user, done="y", items=[card])
    with django_assert_num_queries(6):
        assert len(client.get(f"{BASE}standups/2026-03-02/entries/").json()) == 31


def test_impediments_list_create_and_resolve(api, developer, stakeholder, sprint, card):
    client = api.as_(developer)
    created = client.post(
        f"{BASE}impediments/", {"description": "VPN", "owner": "sm", "items": ["SB-1"]}, format="json"
    ).json()
    assert created["owner"] == "sm" and created["raised_by"] == "dev" and created["state"] == "open"
    assert BacklogItem.objects.get(pk=card.pk).impeded
    assert [i["id"] for i in client.get(f"{BASE}impediments/?state=open").json()["results"]] == [created["id"]]
    assert client.get(f"{BASE}impediments/?state=maybe").status_code == 400
    assert api.as_(stakeholder).patch(f"{BASE}impediments/{created['id']}/", {"state": "resolved"}).status_code == 403
    client = api.as_(developer)
    resolved = client.patch(f"{BASE}impediments/{created['id']}/", {"state": "resolved"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == "dev"
    assert not BacklogItem.objects.get(pk=card.pk).impeded
    assert client.get(f"{BASE}impediments/?state=open").json()["results"] == []
    again = client.patch(f"{BASE}impediments/{created['id']}/", {"state": "resolved"}, format="json")
    assert again.status_code == 409
    assert client.post(f"{BASE}impediments/", {"owner": "dev"}, format="json").status_code == 400


def test_an_open_impediment_is_reworded_handed_over_and_moved_to_other_items(api, project, developer, sprint, card):
    other = BacklogItem.objects.create(
        project=project, number=99, title="Other", status=card.status, rank="zz", sprint=card.sprint
    )
    client = api.as_(developer)
    created = client.post(f"{BASE}impediments/", {"description": "VPN", "items": ["SB-1"]}, format="json").json()
    url = f"{BASE}impediments/{created['id']}/"
    changed = client.patch(url, {"description": "VPN to stage", "owner": "sm", "items": ["SB-99"]}, format="json")
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["description"], body["owner"], body["items"], body["state"]) == (
        "VPN to stage",
        "sm",
        ["SB-99"],
        "open",
    )
    # The Blocked flag follows the items.
    assert not BacklogItem.objects.get(pk=card.pk).impeded and BacklogItem.objects.get(pk=other.pk).impeded
    assert client.patch(url, {"owner": "nobody"}, format="json").status_code == 400
    assert client.patch(url, {"description": "  "}, format="json").status_code == 400
    assert client.patch(url, {}, format="json").status_code == 400
    assert client.get(url).json()["description"] == "VPN to stage"  # refused changes lost nothing
    assert client.patch(url, {"state": "resolved"}, format="json").status_code == 200
    assert client.patch(url, {"description": "Too late"}, format="json").status_code == 409
    assert client.patch(url, {"state": "open"}, format="json").status_code == 409
    assert not BacklogItem.objects.get(pk=other.pk).impeded


def test_a_stale_if_match_on_an_impediment_is_refused(api, developer, sprint, card, at):
    client = api.as_(developer)
    created = client.post(f"{BASE}impediments/", {"description": "VPN"}, format="json")
    url = f"{BASE}impediments/{created.json()['id']}/"
    etag = client.get(url)["ETag"]
    at("2026-03-02", "09:05")  # the clock is frozen: a change needs a later moment to show in the ETag
    assert client.patch(url, {"description": "VPN down"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    stale = client.patch(url, {"description": "Again"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert client.get(url).json()["description"] == "VPN down"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_a_range(api, project, developer, sprint, at, fmt):
    services.save_entry(meeting=services.meeting_for(project=project, by=developer), by=developer, done="=1+1")
    at("2026-03-03")
    services.save_entry(meeting=services.meeting_for(project=project, by=developer), by=developer, next="y")
    response = api.as_(developer).get(f"{BASE}standups/export/?from=2026-03-02&to=2026-03-03&format={fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert [row["date"] for row in response.json()["entries"]] == ["2026-03-02", "2026-03-03"]
    else:
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0] == "date,member,done,next,blockers,items"
        assert "'=1+1" in text


def test_export_refuses_a_reversed_range(api, developer, sprint):
    response = api.as_(developer).get(f"{BASE}standups/export/?from=2026-03-03&to=2026-03-02")
    assert response.status_code == 400
