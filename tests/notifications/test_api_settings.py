"""``/api/v1/notifications/preferences/``: working hours and e-mail language; list text in the caller's language."""

import datetime

import polib
import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from notifications.models import Channel, Kind, NotificationPreference, NotificationSettings
from notifications.services import notify

pytestmark = pytest.mark.django_db

LIST = reverse("api:notification-list")
PREFS = reverse("api:notification-preferences")


@pytest.fixture
def compiled_locale(settings, tmp_path):
    """The catalogues compiled afresh (the .mo files are not in the repository)."""
    for lang in ("ru", "kk"):
        target = tmp_path / "locale" / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        po = polib.pofile(str(django_settings.BASE_DIR / "locale" / lang / "LC_MESSAGES" / "django.po"))
        po.save_as_mofile(str(target / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]


def test_get_shows_working_hours_and_language(api, developer):
    body = api.as_(developer).get(PREFS).json()
    assert set(body) == {"preferences", "quiet_hours", "working_hours", "language"}
    assert body["working_hours"] == {"work_from": None, "work_to": None, "work_days": []}
    assert body["language"] == ""

    NotificationSettings.objects.create(
        user=developer,
        work_from=datetime.time(8, 30),
        work_to=datetime.time(17),
        work_days=[1, 2, 3, 4],
        language="kk",
    )
    body = api.as_(developer).get(PREFS).json()
    assert body["working_hours"] == {"work_from": "08:30", "work_to": "17:00", "work_days": [1, 2, 3, 4]}
    assert body["language"] == "kk"


def test_put_sets_everything_and_patch_changes_only_what_it_names(api, developer):
    client = api.as_(developer)
    response = client.put(
        PREFS,
        {
            "preferences": [{"kind": "mention", "channel": "email", "enabled": False}],
            "quiet_hours": {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"},
            "working_hours": {"work_from": "09:00", "work_to": "18:00", "work_days": [5, 1, 1, 3]},
            "language": "ru",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["working_hours"] == {"work_from": "09:00", "work_to": "18:00", "work_days": [1, 3, 5]}
    assert body["language"] == "ru"
    assert body["quiet_hours"] == {"quiet_from": "22:00", "quiet_to": "07:00", "timezone": "Asia/Almaty"}
    row = NotificationSettings.objects.get(user=developer)
    assert (row.work_from, row.work_to, row.work_days, row.language) == (
        datetime.time(9),
        datetime.time(18),
        [1, 3, 5],
        "ru",
    )

    # A PATCH of the language alone leaves the hours alone.
    body = client.patch(PREFS, {"language": ""}, format="json").json()
    assert body["language"] == ""
    assert body["working_hours"]["work_from"] == "09:00"
    assert body["quiet_hours"]["quiet_from"] == "22:00"
    assert [p for p in body["preferences"] if not p["enabled"]] == [
        {"kind": "mention", "channel": "email", "enabled": False}
    ]

    # Working hours are replaced as a whole: without ends they are cleared (the projects' days apply).
    body = client.patch(PREFS, {"working_hours": {}}, format="json").json()
    assert body["working_hours"] == {"work_from": None, "work_to": None, "work_days": []}
    assert body["language"] == ""
    assert body["quiet_hours"]["timezone"] == "Asia/Almaty"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"working_hours": {"work_from": "09:00"}}, "working_hours"),
        ({"working_hours": {"work_to": "17:00"}}, "working_hours"),
        ({"working_hours": {"work_from": "17:00", "work_to": "09:00"}}, "working_hours"),
        ({"working_hours": {"work_from": "09:00", "work_to": "09:00"}}, "working_hours"),
        ({"working_hours": {"work_from": "nine", "work_to": "17:00"}}, "working_hours"),
        ({"working_hours": {"work_from": "09:00", "work_to": "17:00", "work_days": [0]}}, "working_hours"),
        ({"working_hours": {"work_from": "09:00", "work_to": "17:00", "work_days": [8]}}, "working_hours"),
        ({"working_hours": {"work_from": "09:00", "work_to": "17:00", "work_days": "mon"}}, "working_hours"),
        ({"working_hours": "nine to five"}, "working_hours"),
        ({"language": "de"}, "language"),
        ({"language": None}, "language"),
        ({"quiet_hours": {"quiet_from": "22:00", "timezone": "Asia/Almaty"}}, "quiet_hours"),
        # A PATCH skips required fields: a preference without its kind was a 500.
        ({"preferences": [{"channel": "in_app", "enabled": False}]}, "preferences"),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_bad_settings_are_a_400_naming_the_field_and_change_nothing(api, developer, data, field, method):
    NotificationSettings.objects.create(
        user=developer, work_from=datetime.time(8), work_to=datetime.time(12), work_days=[2], language="kk"
    )
    body = {"preferences": [{"kind": "mention", "channel": "email", "enabled": False}], **data}
    response = getattr(api.as_(developer), method)(PREFS, body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "validation_error"
    assert list(error["errors"]) == [field]
    assert all(message for message in error["errors"][field])
    row = NotificationSettings.objects.get(user=developer)
    assert (row.work_from, row.work_to, row.work_days, row.language) == (datetime.time(8), datetime.time(12), [2], "kk")
    assert not NotificationPreference.objects.exists()


def test_the_working_hours_error_says_what_is_wrong(api, developer):
    response = api.as_(developer).patch(
        PREFS, {"working_hours": {"work_from": "17:00", "work_to": "09:00"}}, format="json"
    )
    assert response.json()["errors"] == {"working_hours": ["Working hours must end after they start."]}
    response = api.as_(developer).patch(PREFS, {"working_hours": {"work_from": "17:00"}}, format="json")
    assert response.json()["errors"] == {"working_hours": ["Give both ends of the working hours, or neither."]}


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_anonymous_gets_401(api, method):
    response = getattr(api, method)(PREFS, {"language": "kk"}, format="json")
    assert response.status_code == 401
    assert not NotificationSettings.objects.exists()


def test_one_user_cannot_see_or_change_anothers_settings(api, developer, scrum_master):
    api.as_(developer).put(
        PREFS,
        {
            "working_hours": {"work_from": "07:00", "work_to": "15:00", "work_days": [1]},
            "language": "kk",
            "preferences": [{"kind": "standup_nudge", "channel": "in_app", "enabled": False}],
        },
        format="json",
    )
    theirs = api.as_(scrum_master).get(PREFS).json()
    assert theirs["working_hours"] == {"work_from": None, "work_to": None, "work_days": []}
    assert theirs["language"] == ""
    assert all(p["enabled"] for p in theirs["preferences"])

    # The scrum master's write changes only the scrum master's row: there is no way to name another user.
    api.as_(scrum_master).patch(PREFS, {"language": "ru", "user": developer.pk}, format="json")
    assert NotificationSettings.objects.get(user=developer).language == "kk"
    assert NotificationSettings.objects.get(user=scrum_master).language == "ru"
    assert api.as_(developer).get(PREFS).json()["working_hours"]["work_from"] == "07:00"


def test_get_preferences_costs_a_fixed_number_of_queries(api, developer, django_assert_num_queries):
    client = api.as_(developer)
    NotificationPreference.objects.create(user=developer, kind=Kind.MENTION, channel=Channel.EMAIL, enabled=False)
    with django_assert_num_queries(2):  # switched-off channels, settings
        client.get(PREFS)


def test_list_renders_title_and_body_in_the_callers_language(api, developer, project, compiled_locale):
    notify(
        recipient=developer,
        kind=Kind.SPRINT_ENDS_TOMORROW,
        subject="sprint:1",
        local_date=datetime.date(2026, 3, 12),
        project=project,
        payload={"project": "SB", "sprint": "Sprint 1", "unstarted": 3},
        channels=[Channel.IN_APP],
    )
    client = api.as_(developer)
    english = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert english["title"] == "Sprint 1 of SB ends tomorrow"
    assert english["body"] == "3 items have not been started."
    russian = client.get(LIST, HTTP_ACCEPT_LANGUAGE="ru").json()["results"][0]
    kazakh = client.get(LIST, HTTP_ACCEPT_LANGUAGE="kk").json()["results"][0]
    for rendered in (russian, kazakh):
        assert "Sprint 1" in rendered["title"]
        assert "SB" in rendered["title"]
        assert rendered["title"] != english["title"]
        assert "3" in rendered["body"]
        assert rendered["body"] != english["body"]
    assert russian["title"] == "Завтра завершается спринт «Sprint 1» проекта SB"
    assert russian["body"] == "3 элемента ещё не начаты."
    assert kazakh["title"] == "SB жобасының «Sprint 1» спринті ертең аяқталады"


def test_changing_only_channels_writes_no_settings_row(api, developer):
    response = api.as_(developer).patch(
        PREFS, {"preferences": [{"kind": "mention", "channel": "email", "enabled": False}]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["working_hours"] == {"work_from": None, "work_to": None, "work_days": []}
    assert not NotificationSettings.objects.exists()
