import datetime
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from integrations.api import TokenAccountThrottle, TokenIPThrottle
from integrations.models import ApiToken
from integrations.services import create_token, revoke_token
from projects.models import Project
from tests.factories import PASSWORD, UserFactory

TOKENS = "/api/v1/tokens/"
AUTH = "/api/v1/auth/token/"
START = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def token_for(user, scope="write", **kwargs) -> tuple[ApiToken, str]:
    return create_token(user=user, name="test", scope=scope, **kwargs)


# --- Storage -------------------------------------------------------------------------------


def test_token_is_stored_only_as_its_sha256(team, api):
    response = api.as_(team.developer).post(TOKENS, {"name": "CI", "scope": "write"}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("sb_")
    row = ApiToken.objects.filter(pk=response.json()["id"]).values().get()
    assert row["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(value) for value in row.values()}


def test_token_value_is_shown_only_when_created(team, api):
    token, _raw = token_for(team.developer)
    client = api.as_(team.developer)
    assert "token" not in client.get(f"{TOKENS}{token.pk}/").json()
    assert all("token" not in item for item in client.get(TOKENS).json()["results"])


def test_token_needs_a_name_and_a_future_expiry(team, api, time_machine):
    time_machine.move_to(START, tick=False)
    response = api.as_(team.developer).post(
        TOKENS, {"name": "  ", "expires_at": (START - datetime.timedelta(days=1)).isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}
    response = api.as_(team.developer).post(
        TOKENS, {"name": "CI", "expires_at": (START - datetime.timedelta(days=1)).isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"expires_at"}
    assert not ApiToken.objects.exists()


# --- Authentication ------------------------------------------------------------------------


def test_bearer_token_authenticates_its_owner(team):
    _token, raw = token_for(team.developer, scope="read")
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "dev"


def test_unknown_token_is_refused_with_401(team):
    response = bearer("sb_not-a-real-token").get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "type": "not_authenticated",
        "detail": "Invalid, expired or revoked token.",
        "errors": {},
    }


def test_malformed_authorization_header_is_refused_with_401(team):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert client.get("/api/v1/me/").status_code == 401


def test_expired_token_is_refused(team, time_machine):
    time_machine.move_to(START, tick=False)
    _token, raw = token_for(team.developer, expires_at=START + datetime.timedelta(days=30))
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    time_machine.move_to(START + datetime.timedelta(days=30, seconds=1), tick=False)
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"


def test_revoked_token_is_refused(team, api):
    token, raw = token_for(team.developer)
    assert api.as_(team.developer).delete(f"{TOKENS}{token.pk}/").status_code == 204
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_token_can_revoke_itself(team):
    token, raw = token_for(team.developer)
    assert bearer(raw).delete(f"{TOKENS}{token.pk}/").status_code == 204
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_token_of_a_deactivated_user_is_refused(team):
    _token, raw = token_for(team.developer)
    team.developer.is_active = False
    team.developer.save()
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(team, time_machine):
    time_machine.move_to(START, tick=False)
    token, raw = token_for(team.developer)
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None
    bearer(raw).get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == START
    time_machine.move_to(START + datetime.timedelta(seconds=30), tick=False)
    bearer(raw).get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == START
    time_machine.move_to(START + datetime.timedelta(minutes=2), tick=False)
    bearer(raw).get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == START + datetime.timedelta(minutes=2)


# --- Scope ---------------------------------------------------------------------------------


def test_read_token_cannot_write(team):
    _token, raw = token_for(team.admin, scope="read")
    client = bearer(raw)
    create = client.post("/api/v1/projects/", {"key": "NEW", "name": "New"}, format="json")
    update = client.patch("/api/v1/projects/SB/", {"name": "Renamed"}, format="json")
    new_token = client.post(TOKENS, {"name": "escalate", "scope": "write"}, format="json")
    assert (create.status_code, update.status_code, new_token.status_code) == (403, 403, 403)
    assert create.json() == {"type": "permission_denied", "detail": "This API token is read-only.", "errors": {}}
    assert not Project.objects.filter(key="NEW").exists()
    assert Project.objects.get(key="SB").name == "Scrumboard"
    assert ApiToken.objects.count() == 1
    assert client.get("/api/v1/projects/SB/").status_code == 200


def test_write_token_can_write(team):
    _token, raw = token_for(team.admin, scope="write")
    client = bearer(raw)
    assert client.post("/api/v1/projects/", {"key": "NEW", "name": "New"}, format="json").status_code == 201
    assert client.patch("/api/v1/projects/SB/", {"name": "Renamed"}, format="json").status_code == 200
    assert Project.objects.get(key="SB").name == "Renamed"


def test_write_token_still_obeys_the_project_policy(team):
    _token, raw = token_for(team.developer, scope="write")
    assert bearer(raw).patch("/api/v1/projects/SB/", {"name": "Renamed"}, format="json").status_code == 403
    assert Project.objects.get(key="SB").name == "Scrumboard"


# --- createtoken ---------------------------------------------------------------------------


def test_createtoken_prints_a_working_token(team):
    out = StringIO()
    call_command("createtoken", "admin", "--name", "deploy", "--scope", "write", stdout=out)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get(token_hash=hashlib.sha256(raw.encode()).hexdigest())
    assert (token.user, token.name, token.scope) == (team.admin, "deploy", "write")
    assert bearer(raw).patch("/api/v1/projects/SB/", {"name": "Renamed"}, format="json").status_code == 200


def test_createtoken_defaults_to_read_scope(team):
    out = StringIO()
    call_command("createtoken", "dev", stdout=out)
    raw = out.getvalue().strip()
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    assert bearer(raw).post(TOKENS, {"name": "x"}, format="json").status_code == 403


def test_createtoken_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="nobody"):
        call_command("createtoken", "nobody", stdout=StringIO())
    assert not ApiToken.objects.exists()


# --- Password exchange ---------------------------------------------------------------------


def test_password_exchange_returns_a_working_token(team):
    response = APIClient().post(AUTH, {"username": "dev", "password": PASSWORD, "name": "laptop"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["scope"]) == ("laptop", "read")
    assert bearer(body["token"]).get("/api/v1/me/").json()["username"] == "dev"


def test_password_exchange_with_a_wrong_password_is_401(team):
    response = APIClient().post(AUTH, {"username": "dev", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"type": "not_authenticated", "detail": "Wrong username or password.", "errors": {}}
    assert not ApiToken.objects.exists()


def test_password_exchange_for_a_deactivated_user_is_401(team):
    team.developer.is_active = False
    team.developer.save()
    response = APIClient().post(AUTH, {"username": "dev", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_password_exchange_without_a_password_is_400(team):
    response = APIClient().post(AUTH, {"username": "dev"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"password"}


# --- Throttling ----------------------------------------------------------------------------
# The rates come from settings (TOKEN_THROTTLE_IP / _ACCOUNT); DRF copies them into
# SimpleRateThrottle.THROTTLE_RATES when rest_framework.throttling is imported, so a
# settings override would not reach them. The tests read each limit from the throttle
# itself instead. NUM_PROXIES, by contrast, is read from api_settings per request, and
# api_settings reloads on setting_changed, so the ``settings`` fixture does reach it.


def attempt(client, username, *, remote_addr, forwarded_for=None, given_password="wrong"):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(AUTH, {"username": username, "password": given_password}, format="json", **extra)


def test_ip_throttle_ignores_a_rotating_forwarded_for_header_without_trusted_proxies(team, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    limit = TokenIPThrottle().num_requests
    client = APIClient()
    statuses = [
        attempt(client, f"user{n}", remote_addr="192.0.2.10", forwarded_for=f"198.51.100.{n}").status_code
        for n in range(limit)
    ]
    assert statuses == [401] * limit
    throttled = attempt(client, "another", remote_addr="192.0.2.10", forwarded_for="198.51.100.250")
    assert throttled.status_code == 429
    assert throttled.json()["type"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert attempt(client, "another", remote_addr="192.0.2.11").status_code == 401


def test_account_throttle_stops_attempts_from_rotating_addresses(team):
    limit = TokenAccountThrottle().num_requests
    client = APIClient()
    statuses = [attempt(client, "dev", remote_addr=f"192.0.2.{n}").status_code for n in range(limit)]
    assert statuses == [401] * limit
    # Even the right password is refused now: guessing cannot be spread over addresses.
    assert attempt(client, "DEV", remote_addr="192.0.2.200", given_password=PASSWORD).status_code == 429
    assert attempt(client, "stake", remote_addr="192.0.2.201", given_password=PASSWORD).status_code == 201
    assert not ApiToken.objects.filter(user=team.developer).exists()


def test_ip_throttle_uses_the_address_added_by_the_trusted_proxy(team, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert api_settings.NUM_PROXIES == 1
    limit = TokenIPThrottle().num_requests
    client = APIClient()
    # The client writes the first entries; our proxy (REMOTE_ADDR) appends the real address last.
    statuses = [
        attempt(client, f"user{n}", remote_addr="10.0.0.2", forwarded_for=f"198.51.100.{n}, 203.0.113.7").status_code
        for n in range(limit)
    ]
    assert statuses == [401] * limit
    assert attempt(client, "x", remote_addr="10.0.0.2", forwarded_for="198.51.100.99, 203.0.113.7").status_code == 429
    # Another client behind the same proxy is not throttled with the first one.
    assert attempt(client, "x", remote_addr="10.0.0.2", forwarded_for="198.51.100.1, 203.0.113.8").status_code == 401


# --- Query count ---------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 20])
def test_tokens_list_query_count_does_not_grow_with_tokens(db, api, django_assert_num_queries, rows):
    user = UserFactory()
    for number in range(rows):
        token, _raw = create_token(user=user, name=f"token {number}")
        if number % 2:
            revoke_token(token=token, by=user)
    create_token(user=UserFactory(), name="someone else's")
    client = api.as_(user)
    with django_assert_num_queries(1):
        response = client.get(TOKENS)
    assert len(response.json()["results"]) == rows
