"""The inbox page, the bell in the top bar and the notification settings page."""

import datetime

import polib
import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from notifications.models import Channel, Kind, Notification, NotificationPreference, NotificationSettings
from notifications.services import notify
from tests.factories import PASSWORD
from tests.html_safety import unsafe_parts
from tests.notifications.factories import make_notifications

pytestmark = pytest.mark.django_db

INBOX = reverse("notifications:inbox")
MARK = reverse("notifications:mark_read")
SETTINGS = reverse("notifications:settings")
DAY = datetime.date(2026, 3, 3)


@pytest.fixture
def as_developer(client, developer):
    client.login(username=developer.username, password=PASSWORD)
    return client


@pytest.fixture
def compiled_locale(settings, tmp_path):
    """The catalogues compiled afresh (the .mo files are not in the repository)."""
    for lang in ("ru", "kk"):
        target = tmp_path / "locale" / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        po = polib.pofile(str(django_settings.BASE_DIR / "locale" / lang / "LC_MESSAGES" / "django.po"))
        po.save_as_mofile(str(target / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]


def mention(user, number: int, *, project=None, author: str = "Aigerim Sadykova", body: str = "Look at this"):
    """A mention as the receiver writes it: text rendered from the payload, the comment as body."""
    written = notify(
        recipient=user,
        kind=Kind.MENTION,
        subject=f"comment:{number}",
        local_date=DAY,
        body=body,
        url="/projects/SB/",
        project=project,
        payload={"project": "SB", "comment": number, "item": f"SB-{number}", "author": author},
        channels=[Channel.IN_APP],
    )
    return written[0]


# --- The inbox -------------------------------------------------------------------------------


def test_inbox_lists_only_my_notifications_with_unread_highlighted(as_developer, developer, scrum_master):
    rows = make_notifications(developer, 2)
    make_notifications(scrum_master, 1, start=10)
    Notification.objects.filter(pk=rows[0].pk).update(read_at="2026-03-03T10:00Z")
    response = as_developer.get(INBOX)
    assertContains(response, "Mention 0")
    assertContains(response, "Mention 1")
    assertNotContains(response, "Mention 10")
    assertContains(response, 'class="notification unread"', count=1)


def test_inbox_links_to_the_settings_and_filters_unread(as_developer, developer):
    rows = make_notifications(developer, 2)
    Notification.objects.filter(pk=rows[0].pk).update(read_at="2026-03-03T10:00Z")
    response = as_developer.get(INBOX)
    assertContains(response, f'href="{SETTINGS}"')
    assertContains(response, f'href="{INBOX}" aria-current="true"')
    assertContains(response, f'href="{INBOX}?unread=1"')
    response = as_developer.get(INBOX, {"unread": "1"})
    assertContains(response, f'href="{INBOX}?unread=1" aria-current="true"')
    assertContains(response, "Mention 1")
    assertNotContains(response, "Mention 0")
    Notification.objects.update(read_at="2026-03-03T10:00Z")
    assertContains(as_developer.get(INBOX, {"unread": "1"}), "No unread notifications.")


def test_inbox_renders_the_text_in_the_readers_language(as_developer, developer, project, compiled_locale):
    mention(developer, 1, project=project)
    english = as_developer.get(INBOX)
    assertContains(english, "Aigerim Sadykova mentioned you on SB-1")
    assertContains(english, "Look at this")
    as_developer.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "kk"
    kazakh = as_developer.get(INBOX, HTTP_ACCEPT_LANGUAGE="kk")
    assertContains(kazakh, '<html lang="kk">')
    assertContains(kazakh, "Aigerim Sadykova сізді SB-1 элементінде атап өтті")
    assertNotContains(kazakh, "mentioned you")
    assertContains(kazakh, "Look at this")  # the comment itself is the author's text
    assertContains(kazakh, "Тек оқылмағандар")  # "Unread only"


def test_inbox_shows_times_in_the_projects_time_zone_else_the_users(as_developer, developer, project, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 3, 4, 0, tzinfo=datetime.UTC), tick=False)
    mention(developer, 1, project=project)  # SB is in Asia/Almaty, UTC+5
    mention(developer, 2)  # no project: the reader's own time zone
    NotificationSettings.objects.create(user=developer, timezone="America/New_York")
    response = as_developer.get(INBOX)
    assertContains(response, 'datetime="2026-03-03T09:00:00+05:00" title="Asia/Almaty"')
    assertContains(response, "March 3, 2026, 9 a.m.")
    assertContains(response, 'datetime="2026-03-02T23:00:00-05:00" title="America/New_York"')
    assertContains(response, "March 2, 2026, 11 p.m.")


def test_inbox_time_without_project_or_settings_is_utc(as_developer, developer, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 3, 4, 0, tzinfo=datetime.UTC), tick=False)
    mention(developer, 1)
    assertContains(as_developer.get(INBOX), 'datetime="2026-03-03T04:00:00+00:00" title="UTC"')


def test_inbox_keeps_the_text_of_rows_written_with_their_own_title(as_developer, developer):
    make_notifications(developer, 1)
    assertContains(as_developer.get(INBOX), "Mention 0")


def test_inbox_escapes_comment_text(as_developer, developer, project):
    mention(developer, 1, project=project, author="<b>x</b>", body='<img src=x onerror="alert(1)">')
    response = as_developer.get(INBOX)
    section = response.content.decode().split('<ul class="notifications">')[1].split("</ul>")[0]
    assert unsafe_parts(section, allow_tags=frozenset({"form"})) == []
    assertNotContains(response, "<b>x</b>")


def test_mark_one_read(as_developer, developer, scrum_master):
    rows = make_notifications(developer, 2)
    theirs = make_notifications(scrum_master, 1, start=10)
    response = as_developer.post(MARK, {"id": [rows[0].pk, theirs[0].pk]})
    assert response.status_code == 302
    assert response["Location"] == INBOX
    assert Notification.objects.inbox(developer).unread().get() == rows[1]
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None


def test_mark_all_read_and_return_to_a_local_page(as_developer, developer):
    make_notifications(developer, 2)
    response = as_developer.post(MARK, {"all": "1", "next": "/projects/"})
    assert response["Location"] == "/projects/"
    assert not Notification.objects.inbox(developer).unread().exists()
    response = as_developer.post(MARK, {"all": "1", "next": "https://evil.example.com/"})
    assert response["Location"] == INBOX


@pytest.mark.parametrize("count", [2, 30])
def test_inbox_query_count_does_not_grow(as_developer, developer, project, count, django_assert_num_queries):
    make_notifications(developer, count, project=project)
    # session, user, count (paginator), page
    with django_assert_num_queries(4):
        response = as_developer.get(INBOX)
    assertContains(response, "Mention", count=count)


@pytest.mark.parametrize("count", [2, 30])
def test_inbox_query_count_with_rendered_text_and_no_project(as_developer, developer, count, django_assert_num_queries):
    for number in range(count):
        mention(developer, number)
    # session, user, count (paginator), page, the reader's time zone (once, for rows without a project)
    with django_assert_num_queries(5):
        response = as_developer.get(INBOX)
    assertContains(response, "Aigerim Sadykova mentioned you on", count=count)


def test_every_page_has_the_bell_and_loads_its_count_without_a_query_of_its_own(as_developer, developer):
    response = as_developer.get(reverse("projects:list"))
    assertContains(response, f'href="{INBOX}"')
    assertContains(response, f'hx-get="{reverse("notifications:unread")}"')


def test_bell_count_is_my_unread_count(as_developer, developer, scrum_master, django_assert_num_queries):
    make_notifications(developer, 3)
    make_notifications(scrum_master, 2, start=10)
    with django_assert_num_queries(3):  # session, user, count
        response = as_developer.get(reverse("notifications:unread"))
    assertContains(response, 'data-unread="3"')
    as_developer.post(MARK, {"all": "1"})
    response = as_developer.get(reverse("notifications:unread"))
    assertContains(response, 'data-unread="0" hidden')


@pytest.mark.parametrize("url", [INBOX, SETTINGS])
def test_anonymous_is_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post(SETTINGS, {"timezone": "UTC"})
    assert response.status_code == 302
    assert not NotificationSettings.objects.exists()


# --- The settings page -----------------------------------------------------------------------


def box(kind: str, channel: str) -> str:
    return f'name="{kind}__{channel}"'


def checked(html: str, kind: str, channel: str) -> bool:
    tag = html.split(box(kind, channel))[0].rsplit("<input", 1)[1] + html.split(box(kind, channel))[1].split(">")[0]
    return "checked" in tag


def everything_on() -> dict:
    return {f"{kind}__{channel}": "on" for kind in Kind.values for channel in Channel.values}


def form_data(**overrides) -> dict:
    data = {
        **everything_on(),
        "quiet_from": "",
        "quiet_to": "",
        "timezone": "UTC",
        "work_from": "",
        "work_to": "",
        "language": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_settings_page_shows_the_grid_with_the_current_state(as_developer, developer, django_assert_num_queries):
    NotificationPreference.objects.create(user=developer, kind=Kind.MENTION, channel=Channel.EMAIL, enabled=False)
    NotificationSettings.objects.create(
        user=developer,
        quiet_from=datetime.time(22),
        quiet_to=datetime.time(7),
        timezone="Asia/Almaty",
        work_from=datetime.time(9, 30),
        work_to=datetime.time(18),
        work_days=[1, 2, 3],
        language="kk",
    )
    with django_assert_num_queries(4):  # session, user, settings, switched-off channels
        response = as_developer.get(SETTINGS)
    assert response.status_code == 200
    html = response.content.decode()
    for kind in Kind.values:
        assertContains(response, box(kind, "in_app"))
        assertContains(response, box(kind, "email"))
        assert checked(html, kind, "in_app")
        assert checked(html, kind, "email") == (kind != Kind.MENTION)
    for label in Kind.labels:
        assertContains(response, f'<th scope="row">{label}</th>')
    assertContains(response, '<th scope="col" class="channel-col">In app</th>')
    assertContains(response, '<th scope="col" class="channel-col">Email</th>')
    assertContains(response, 'name="quiet_from" value="22:00"')
    assertContains(response, 'name="quiet_to" value="07:00"')
    assertContains(response, 'name="work_from" value="09:30"')
    assertContains(response, '<option value="Asia/Almaty" selected>')
    assertContains(response, '<option value="kk" selected>Қазақша</option>')
    assertContains(response, 'name="work_days" value="3" id="id_work_days_2" checked')
    assertNotContains(response, 'name="work_days" value="4" id="id_work_days_3" checked')
    assertContains(response, "waits until they end")
    assert unsafe_parts(html, allow_tags=frozenset({"script", "form", "link", "meta"})) == []


def test_settings_page_defaults_are_every_channel_on(as_developer):
    html = as_developer.get(SETTINGS).content.decode()
    assert all(checked(html, kind, channel) for kind in Kind.values for channel in Channel.values)
    assert '<option value="UTC" selected>' in html
    assert '<option value="" selected>Site default</option>' in html


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("ru", ["Настройки уведомлений", "Упоминание", "Тихие часы", "Пора планировать спринт", "Язык писем"]),
        ("kk", ["Хабарландыру баптаулары", "Атап өту", "Тыныш сағаттар", "Спринтті жоспарлау уақыты келді"]),
    ],
)
def test_settings_page_in_the_readers_language(as_developer, compiled_locale, lang, texts):
    as_developer.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    response = as_developer.get(SETTINGS, HTTP_ACCEPT_LANGUAGE=lang)
    for text in texts:
        assertContains(response, text)
    for english in ("Notification settings", "Quiet hours", "Working hours", "Sprint planning due", "Site default"):
        assertNotContains(response, english)
    # Each language keeps its own name, whatever the page's language.
    assertContains(response, '<option value="kk">Қазақша</option>')
    assertContains(response, '<option value="en">English</option>')


def test_saving_the_settings_page(as_developer, developer):
    data = form_data(
        quiet_from="22:00",
        quiet_to="07:00",
        timezone="America/New_York",
        work_from="08:00",
        work_to="16:30",
        work_days=["5", "1", "2"],
        language="ru",
    )
    del data["mention__email"]  # an unticked box is not sent
    del data["standup_nudge__in_app"]
    response = as_developer.post(SETTINGS, data)
    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    off = set(NotificationPreference.objects.filter(user=developer, enabled=False).values_list("kind", "channel"))
    assert off == {("mention", "email"), ("standup_nudge", "in_app")}
    row = NotificationSettings.objects.get(user=developer)
    assert (row.quiet_from, row.quiet_to, row.timezone) == (datetime.time(22), datetime.time(7), "America/New_York")
    assert (row.work_from, row.work_to, row.work_days) == (datetime.time(8), datetime.time(16, 30), [1, 2, 5])
    assert row.language == "ru"
    page = as_developer.get(SETTINGS)
    assertContains(page, "Notification settings saved.")
    assert not checked(page.content.decode(), "mention", "email")

    # Ticking it again switches it back on; clearing the hours clears them.
    response = as_developer.post(SETTINGS, form_data(timezone="America/New_York"))
    assert response.status_code == 302
    assert not NotificationPreference.objects.filter(user=developer, enabled=False).exists()
    row.refresh_from_db()
    assert (row.quiet_from, row.work_from, row.work_days, row.language) == (None, None, [], "")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quiet_from": "22:00"}, "quiet_to", "Give both ends of the quiet hours, or neither."),
        ({"quiet_to": "07:00"}, "quiet_to", "Give both ends of the quiet hours, or neither."),
        ({"work_from": "09:00"}, "work_to", "Give both ends of the working hours, or neither."),
        ({"work_to": "17:00"}, "work_to", "Give both ends of the working hours, or neither."),
        ({"work_from": "17:00", "work_to": "09:00"}, "work_to", "Working hours must end after they start."),
        ({"work_from": "09:00", "work_to": "09:00"}, "work_to", "Working hours must end after they start."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice."),
        ({"quiet_from": "25:00", "quiet_to": "07:00"}, "quiet_from", "Enter a valid time."),
        ({"work_days": ["8"]}, "work_days", "Select a valid choice."),
        ({"language": "de"}, "language", "Select a valid choice."),
    ],
)
def test_bad_settings_show_the_error_and_save_nothing(as_developer, developer, overrides, field, message):
    before = NotificationSettings.objects.create(
        user=developer, quiet_from=datetime.time(23), quiet_to=datetime.time(6), timezone="Asia/Almaty", language="kk"
    )
    NotificationPreference.objects.create(user=developer, kind=Kind.MENTION, channel=Channel.EMAIL, enabled=False)
    data = form_data(**overrides)
    del data["sprint_ends_tomorrow__email"]  # would switch a channel off, if anything were saved

    response = as_developer.post(SETTINGS, data)

    assert response.status_code == 200
    assertContains(response, "Please correct the highlighted fields.")
    html = response.content.decode()
    before_error = html[: html.index(f'<ul class="errorlist"><li>{message}')]
    assert before_error.rindex('name="') == before_error.rindex(f'name="{field}"'), "the error is not on its field"
    row = NotificationSettings.objects.get(user=developer)
    assert (row.quiet_from, row.quiet_to, row.timezone, row.language) == (
        before.quiet_from,
        before.quiet_to,
        "Asia/Almaty",
        "kk",
    )
    assert (row.work_from, row.work_to) == (None, None)
    off = set(NotificationPreference.objects.filter(user=developer, enabled=False).values_list("kind", "channel"))
    assert off == {("mention", "email")}
    # What was typed stays on the form, so fixing one field loses nothing else.
    assert not checked(html, "sprint_ends_tomorrow", "email")


def test_settings_are_per_user(client, developer, scrum_master):
    client.login(username=developer.username, password=PASSWORD)
    data = form_data(timezone="Asia/Almaty")
    del data["mention__in_app"]
    client.post(SETTINGS, data)
    client.logout()
    client.login(username=scrum_master.username, password=PASSWORD)
    html = client.get(SETTINGS).content.decode()
    assert checked(html, "mention", "in_app")
    assert '<option value="UTC" selected>' in html
    assert not NotificationPreference.objects.filter(user=scrum_master).exists()
