"""``/api/v1/notifications/``: the caller's own in-app notifications, mark read, preferences."""

import pytest
from django.urls import reverse

from notifications.models import Channel, Kind, Notification, NotificationPreference
from tests.notifications.factories import make_notifications

pytestmark = pytest.mark.django_db

LIST = reverse("api:notification-list")
MARK = reverse("api:notification-mark-read")
PREFS = reverse("api:notification-preferences")


def test_list_shows_only_the_callers_in_app_notifications_newest_first(api, developer, scrum_master, project):
    mine = make_notifications(developer, 3, project=project)
    make_notifications(scrum_master, 2)
    response = api.as_(developer).get(LIST)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["id"] for row in results] == [row.pk for row in reversed(mine)]
    assert results[0]["project"] == "SB"
    assert results[0]["unread"] is True
    assert results[0]["kind"] == "mention"


def test_unread_filter(api, developer):
    rows = make_notifications(developer, 3)
    Notification.objects.filter(pk=rows[0].pk).update(read_at="2026-03-03T10:00Z")
    response = api.as_(developer).get(LIST, {"unread": "1"})
    assert {row["id"] for row in response.json()["results"]} == {rows[1].pk, rows[2].pk}


def test_list_is_cursor_paginated(api, developer):
    make_notifications(developer, 5)
    first = api.as_(developer).get(LIST, {"limit": 2}).json()
    assert len(first["results"]) == 2
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert {r["id"] for r in first["results"]}.isdisjoint({r["id"] for r in second["results"]})


@pytest.mark.parametrize("count", [2, 30])
def test_list_query_count_does_not_grow(api, developer, project, count, django_assert_num_queries):
    make_notifications(developer, count, project=project)
    client = api.as_(developer)
    with django_assert_num_queries(1):
        response = client.get(LIST)
    assert len(response.json()["results"]) == count


def test_mark_read_by_ids_touches_only_the_callers_rows(api, developer, scrum_master):
    mine = make_notifications(developer, 3)
    theirs = make_notifications(scrum_master, 1, start=10)
    response = api.as_(developer).post(MARK, {"ids": [mine[0].pk, theirs[0].pk]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 2}
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None


def test_mark_all_read(api, developer, scrum_master):
    make_notifications(developer, 3)
    make_notifications(scrum_master, 1)
    response = api.as_(developer).post(MARK, {"all": True}, format="json")
    assert response.json() == {"marked": 3, "unread": 0}
    assert Notification.objects.inbox(scrum_master).unread().count() == 1


def test_mark_read_needs_ids_or_all(api, developer):
    response = api.as_(developer).post(MARK, {}, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_preferences_default_to_every_channel_on(api, developer):
    body = api.as_(developer).get(PREFS).json()
    assert len(body["preferences"]) == len(Kind.values) * len(Channel.values)
    assert all(pref["enabled"] for pref in body["preferences"])
    assert body["quiet_hours"] == {"quiet_from": None, "quiet_to": None, "timezone": "UTC"}


def test_patch_switches_a_channel_off_and_sets_quiet_hours(api, developer):
    client = api.as_(developer)
    response = client.patch(
        PREFS,
        {
            "preferences": [{"kind": "daily_scrum_soon", "channel": "email", "enabled": False}],
            "quiet_hours": {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    off = [p for p in body["preferences"] if not p["enabled"]]
    assert off == [{"kind": "daily_scrum_soon", "channel": "email", "enabled": False}]
    assert body["quiet_hours"] == {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"}
    # A second PATCH of preferences leaves the quiet hours alone.
    body = client.patch(
        PREFS, {"preferences": [{"kind": "daily_scrum_soon", "channel": "email", "enabled": True}]}, format="json"
    ).json()
    assert all(p["enabled"] for p in body["preferences"])
    assert body["quiet_hours"]["quiet_from"] == "22:00"
    assert NotificationPreference.objects.filter(user=developer).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"preferences": [{"kind": "nope", "channel": "email", "enabled": False}]},
        {"preferences": [{"kind": "mention", "channel": "pigeon", "enabled": False}]},
        {"quiet_hours": {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Mars/Olympus"}},
        {"quiet_hours": {"quiet_from": "22:00"}},
        {"quiet_hours": {"quiet_from": "25:00", "quiet_to": "07:00"}},
    ],
)
def test_bad_preferences_are_a_400_and_change_nothing(api, developer, data):
    response = api.as_(developer).patch(PREFS, data, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert not NotificationPreference.objects.exists()


def test_preferences_are_per_user(api, developer, scrum_master):
    api.as_(developer).patch(
        PREFS, {"preferences": [{"kind": "mention", "channel": "in_app", "enabled": False}]}, format="json"
    )
    body = api.as_(scrum_master).get(PREFS).json()
    assert all(p["enabled"] for p in body["preferences"])


def test_mark_read_with_an_id_beyond_64_bits_is_400(api, developer):
    # Found by the API fuzzer: the database driver cannot bind such a number in "pk__in" (a 500).
    response = api.as_(developer).post("/api/v1/notifications/mark-read/", {"ids": [2**64]}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()["errors"]
