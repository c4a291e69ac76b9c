"""The inbox page and the bell in the top bar."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from notifications.models import Notification
from tests.factories import PASSWORD
from tests.notifications.factories import make_notifications

pytestmark = pytest.mark.django_db

INBOX = reverse("notifications:inbox")
MARK = reverse("notifications:mark_read")


@pytest.fixture
def as_developer(client, developer):
    client.login(username=developer.username, password=PASSWORD)
    return client


def test_inbox_lists_only_my_notifications_with_unread_highlighted(as_developer, developer, scrum_master):
    rows = make_notifications(developer, 2)
    make_notifications(scrum_master, 1, start=10)
    Notification.objects.filter(pk=rows[0].pk).update(read_at="2026-03-03T10:00Z")
    response = as_developer.get(INBOX)
    assertContains(response, "Mention 0")
    assertContains(response, "Mention 1")
    assertNotContains(response, "Mention 10")
    assertContains(response, 'class="notification unread"', count=1)


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


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
