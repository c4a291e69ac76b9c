import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiToken
from integrations.services import authenticate_token, create_token
from roles.models import hash_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKENS = "integrations:tokens"


def test_tokens_page_needs_login(client):
    response = client.get(reverse(TOKENS))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_creating_a_token_shows_its_value_once_and_stores_only_its_hash(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse(TOKENS), {"name": "CI pipeline", "scope": "write"})

    assert response.status_code == 200
    raw = response.context["raw_token"]
    assert raw.startswith("sb_")
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.scope) == ("CI pipeline", "write")
    assert token.token_hash == hash_token(raw)
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert raw not in stored
    assert authenticate_token(raw) == token

    again = client.get(reverse(TOKENS))
    assert raw not in again.content.decode()
    assert token.prefix in again.content.decode()


def test_a_token_with_an_expiry_date(client):
    user = UserFactory()
    client.force_login(user)
    day = timezone.now().date() + datetime.timedelta(days=30)

    client.post(reverse(TOKENS), {"name": "Jira sync", "scope": "read", "expires_on": day.isoformat()})

    token = ApiToken.objects.get(user=user)
    assert token.expires_at == datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )


def test_token_form_errors_are_shown(client):
    user = UserFactory()
    client.force_login(user)
    yesterday = timezone.now().date() - datetime.timedelta(days=1)

    response = client.post(reverse(TOKENS), {"name": "", "scope": "admin", "expires_on": yesterday.isoformat()})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "scope", "expires_on"}
    assert response.context["raw_token"] is None
    assert not ApiToken.objects.exists()


def test_tokens_page_lists_only_my_tokens_with_their_state(client):
    me, other = UserFactory(), UserFactory()
    create_token(user=me, name="active one")
    revoked, _raw = create_token(user=me, name="revoked one")
    revoked.revoked_at = timezone.now()
    revoked.save()
    create_token(user=other, name="not mine")
    client.force_login(me)

    html = client.get(reverse(TOKENS)).content.decode()

    assert "active one" in html and "revoked one" in html
    assert "not mine" not in html
    assert "Active" in html and "Revoked" in html


def test_revoking_my_token(client):
    user = UserFactory()
    token, raw = create_token(user=user, name="old")
    client.force_login(user)

    response = client.post(reverse("integrations:token_revoke", kwargs={"pk": token.pk}), follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert authenticate_token(raw) is None
    assert "Token “old” revoked." in response.content.decode()


def test_another_users_token_cannot_be_revoked(client):
    token, _raw = create_token(user=UserFactory(), name="theirs")
    client.force_login(UserFactory())
    assert client.post(reverse("integrations:token_revoke", kwargs={"pk": token.pk})).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(client):
    user = UserFactory()
    token, _raw = create_token(user=user, name="t")
    client.force_login(user)
    assert client.get(reverse("integrations:token_revoke", kwargs={"pk": token.pk})).status_code == 405


def test_tokens_page_runs_a_fixed_number_of_queries(client, django_assert_num_queries):
    user = UserFactory()
    create_token(user=user, name="one")
    client.force_login(user)
    # session, user, tokens
    with django_assert_num_queries(3):
        assert client.get(reverse(TOKENS)).status_code == 200


@pytest.mark.parametrize("count", [2, 20])
def test_tokens_page_query_count_does_not_grow_with_tokens(client, count, django_assert_num_queries):
    user = UserFactory()
    for n in range(count):
        create_token(user=user, name=f"token {n}")
    client.force_login(user)
    with django_assert_num_queries(3):
        response = client.get(reverse(TOKENS))
    assert len(response.context["tokens"]) == count
