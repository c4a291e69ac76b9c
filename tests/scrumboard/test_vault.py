"""Secrets from HashiCorp Vault: the real ``hvac`` client against an HTTP stand-in (tests/scrumboard/vault_stub.py).

Start-up behaviour is checked in a fresh ``python`` subprocess, as in test_settings.py;
the stand-in runs in this process and the subprocess reaches it over HTTP.
"""

import html
import json
import logging
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import path

from scrumboard.observability import RedactSecretsFilter
from scrumboard.secrets import get_secret, require_secrets, secret_values
from tests.parallel import free_port
from tests.scrumboard.test_settings import clean_env, run
from tests.scrumboard.vault_stub import VAULT_VARIABLES, VaultStub, fresh_secrets_fixture  # noqa: F401 - a fixture

PROD_SECRETS = {
    "SECRET_KEY": "prod-secret-key-4f9c2a7e1b8d3c6f0a5e9b2d7c4f1a8e",
    "DATABASE_URL": "postgres://scrumboard:pg-pass-7Hq2xZ9v@db.internal:5432/scrumboard",
    "REDIS_URL": "redis://:redis-pass-K3m8Pq1w@redis.internal:6379/0",
    "EMAIL_HOST_PASSWORD": "smtp-pass-Vn4Tg7Yb2c",
    "METRICS_TOKEN": "metrics-token-Rw5Lx8Nz3q",
    "WEBHOOK_SIGNING_KEY": "webhook-key-Jd6Fs9Hk2m",
}
# Values that must never be shown: each secret, and the passwords inside the URLs.
SECRET_TEXTS = [*PROD_SECRETS.values(), "pg-pass-7Hq2xZ9v", "redis-pass-K3m8Pq1w"]


@pytest.fixture
def vault():
    with VaultStub(secrets={"scrumboard/prod": dict(PROD_SECRETS)}) as stub:
        yield stub


@pytest.fixture
def use_vault(fresh_secrets, monkeypatch, vault):
    monkeypatch.setenv("VAULT_ADDR", vault.url)
    monkeypatch.setenv("ENVIRONMENT", "prod")
    return vault


def assert_no_secret_in(text: str) -> None:
    for secret in SECRET_TEXTS:
        assert secret not in text
        assert html.escape(secret) not in text


# --- Reading -------------------------------------------------------------------------------


def test_token_auth_reads_the_environments_secret_once_per_process(use_vault, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)

    assert get_secret("SECRET_KEY") == PROD_SECRETS["SECRET_KEY"]
    assert get_secret("DATABASE_URL") == PROD_SECRETS["DATABASE_URL"]
    assert get_secret("SENTRY_DSN") is None  # not in Vault: not configured

    assert use_vault.paths() == ["GET /v1/auth/token/lookup-self", "GET /v1/secret/data/scrumboard/prod"]
    assert {request.token for request in use_vault.requests} == {use_vault.root_token}


def test_token_auth_reads_the_token_from_a_file(use_vault, monkeypatch, tmp_path):
    # Vault Agent's injector writes the token here (VAULT_TOKEN_FILE=/vault/secrets/token in the pods).
    token_file = tmp_path / "token"
    token_file.write_text(use_vault.root_token + "\n")
    monkeypatch.setenv("VAULT_AUTH_METHOD", "token")
    monkeypatch.setenv("VAULT_TOKEN_FILE", str(token_file))

    assert get_secret("METRICS_TOKEN") == PROD_SECRETS["METRICS_TOKEN"]
    assert use_vault.requests[-1].token == use_vault.root_token


@pytest.mark.parametrize("secret_id_from", ["variable", "file"])
def test_approle_login_reads_with_the_token_it_was_given(use_vault, monkeypatch, tmp_path, secret_id_from):
    monkeypatch.setenv("VAULT_AUTH_METHOD", "approle")
    monkeypatch.setenv("VAULT_ROLE_ID", use_vault.role_id)
    if secret_id_from == "variable":
        monkeypatch.setenv("VAULT_SECRET_ID", use_vault.secret_id)
    else:
        (tmp_path / "secret-id").write_text(use_vault.secret_id)
        monkeypatch.setenv("VAULT_SECRET_ID_FILE", str(tmp_path / "secret-id"))

    assert get_secret("WEBHOOK_SIGNING_KEY") == PROD_SECRETS["WEBHOOK_SIGNING_KEY"]

    login, read = use_vault.requests
    assert (login.method, login.path) == ("POST", "/v1/auth/approle/login")
    assert login.body == {"role_id": use_vault.role_id, "secret_id": use_vault.secret_id}
    assert read.path == "/v1/secret/data/scrumboard/prod"
    assert read.token in use_vault.issued_tokens


def test_kubernetes_login_sends_the_service_account_jwt_to_its_mount(use_vault, monkeypatch, tmp_path):
    use_vault.k8s_mount = "kubernetes-prod"
    (tmp_path / "sa-token").write_text(use_vault.k8s_jwt)
    monkeypatch.setenv("VAULT_AUTH_METHOD", "kubernetes")
    monkeypatch.setenv("VAULT_K8S_ROLE", use_vault.k8s_role)
    monkeypatch.setenv("VAULT_K8S_MOUNT", "kubernetes-prod")
    monkeypatch.setenv("VAULT_K8S_JWT_FILE", str(tmp_path / "sa-token"))

    assert get_secret("EMAIL_HOST_PASSWORD") == PROD_SECRETS["EMAIL_HOST_PASSWORD"]

    login, read = use_vault.requests
    assert (login.method, login.path) == ("POST", "/v1/auth/kubernetes-prod/login")
    assert login.body == {"role": use_vault.k8s_role, "jwt": use_vault.k8s_jwt}
    assert read.token in use_vault.issued_tokens


def test_mount_and_path_can_be_chosen(use_vault, monkeypatch):
    use_vault.kv_mount = "kv"
    use_vault.secrets = {"teams/scrumboard/stage": {"SECRET_KEY": "stage-secret-key-0123456789"}}
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)
    monkeypatch.setenv("VAULT_KV_MOUNT", "kv")
    monkeypatch.setenv("VAULT_SECRET_PATH", "teams/scrumboard/stage")

    assert get_secret("SECRET_KEY") == "stage-secret-key-0123456789"
    assert use_vault.requests[-1].path == "/v1/kv/data/teams/scrumboard/stage"


def test_the_default_path_follows_the_environment(use_vault, monkeypatch):
    use_vault.secrets = {"scrumboard/stage": {"SECRET_KEY": "stage-secret-key-0123456789"}}
    monkeypatch.setenv("ENVIRONMENT", "stage")
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)

    assert get_secret("SECRET_KEY") == "stage-secret-key-0123456789"


def test_with_vault_the_environment_does_not_add_secrets(use_vault, monkeypatch):
    use_vault.secrets = {"scrumboard/prod": {"SECRET_KEY": PROD_SECRETS["SECRET_KEY"]}}
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)
    monkeypatch.setenv("DATABASE_URL", "postgres://stray@elsewhere/db")

    assert get_secret("DATABASE_URL") is None


def test_without_vault_addr_the_environment_is_the_source(fresh_secrets, monkeypatch):
    # GitHub Secrets in CI arrive as environment variables.
    monkeypatch.setenv("SECRET_KEY", "ci-secret-key-0123456789")
    monkeypatch.setenv("VAULT_TOKEN", "ignored-without-vault-addr")

    assert get_secret("SECRET_KEY") == "ci-secret-key-0123456789"
    assert get_secret("METRICS_TOKEN") is None
    assert "ci-secret-key-0123456789" in secret_values()


def test_values_handed_out_are_remembered_as_secret(use_vault, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)
    for name in PROD_SECRETS:
        get_secret(name)

    # URLs: their passwords and the URLs themselves; plain values whole.
    assert set(SECRET_TEXTS) <= secret_values()


# --- Failing clearly -----------------------------------------------------------------------


def test_missing_required_secrets_are_named_without_any_value(use_vault, monkeypatch):
    use_vault.secrets = {"scrumboard/prod": {"SECRET_KEY": PROD_SECRETS["SECRET_KEY"]}}
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)

    with pytest.raises(ImproperlyConfigured) as raised:
        require_secrets(["SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN"], environment="prod")

    message = str(raised.value)
    assert "DATABASE_URL is required when ENVIRONMENT=prod." in message
    assert "METRICS_TOKEN is required when ENVIRONMENT=prod." in message
    assert "SECRET_KEY" not in message
    assert f"Vault secret secret/scrumboard/prod at VAULT_ADDR={use_vault.url}" in message
    assert_no_secret_in(message)


def test_wrong_token_is_refused_without_showing_it(use_vault, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", "hvs.wrong-token-0123456789")

    with pytest.raises(ImproperlyConfigured) as raised:
        get_secret("SECRET_KEY")

    message = str(raised.value)
    assert f"VAULT_ADDR={use_vault.url}" in message
    assert "VAULT_AUTH_METHOD=token" in message
    assert "refused" in message
    assert "wrong-token" not in message
    assert use_vault.paths() == ["GET /v1/auth/token/lookup-self"]


def test_refused_approle_login_names_the_method_not_the_secret_id(use_vault, monkeypatch):
    monkeypatch.setenv("VAULT_AUTH_METHOD", "approle")
    monkeypatch.setenv("VAULT_ROLE_ID", use_vault.role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", "stale-secret-id-0123456789")

    with pytest.raises(ImproperlyConfigured, match="VAULT_AUTH_METHOD=approle") as raised:
        get_secret("SECRET_KEY")
    assert "stale-secret-id" not in str(raised.value)


def test_refused_kubernetes_login_names_the_role(use_vault, monkeypatch, tmp_path):
    (tmp_path / "sa-token").write_text("eyJ.other-cluster.jwt")
    monkeypatch.setenv("VAULT_AUTH_METHOD", "kubernetes")
    monkeypatch.setenv("VAULT_K8S_ROLE", "scrumboard-dev")
    monkeypatch.setenv("VAULT_K8S_JWT_FILE", str(tmp_path / "sa-token"))

    with pytest.raises(ImproperlyConfigured, match=r"VAULT_AUTH_METHOD=kubernetes.*'scrumboard-dev'") as raised:
        get_secret("SECRET_KEY")
    assert "other-cluster" not in str(raised.value)


def test_unreachable_vault_names_its_address_not_the_token(fresh_secrets, monkeypatch):
    address = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("VAULT_ADDR", address)
    monkeypatch.setenv("VAULT_TOKEN", "hvs.token-for-nowhere-0123")

    with pytest.raises(ImproperlyConfigured, match=f"VAULT_ADDR={address} is unreachable") as raised:
        get_secret("SECRET_KEY")
    assert "token-for-nowhere" not in str(raised.value)


def test_missing_secret_path_is_named(use_vault, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)
    monkeypatch.setenv("ENVIRONMENT", "stage")

    with pytest.raises(ImproperlyConfigured, match="has no secret secret/scrumboard/stage"):
        get_secret("SECRET_KEY")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"VAULT_AUTH_METHOD": "ldap"}, "VAULT_AUTH_METHOD must be one of token, approle, kubernetes"),
        ({"VAULT_AUTH_METHOD": "token"}, "VAULT_AUTH_METHOD=token needs VAULT_TOKEN or VAULT_TOKEN_FILE"),
        (
            {"VAULT_AUTH_METHOD": "approle", "VAULT_SECRET_ID": "x" * 10},
            "VAULT_AUTH_METHOD=approle needs VAULT_ROLE_ID",
        ),
        (
            {"VAULT_AUTH_METHOD": "approle", "VAULT_ROLE_ID": "role"},
            "VAULT_AUTH_METHOD=approle needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE",
        ),
        ({"VAULT_AUTH_METHOD": "kubernetes"}, "VAULT_AUTH_METHOD=kubernetes needs VAULT_K8S_ROLE"),
        (
            {"VAULT_AUTH_METHOD": "kubernetes", "VAULT_K8S_ROLE": "r", "VAULT_K8S_JWT_FILE": "/nonexistent/jwt"},
            "cannot read VAULT_K8S_JWT_FILE=/nonexistent/jwt",
        ),
    ],
)
def test_incomplete_vault_configuration_says_what_is_missing(use_vault, monkeypatch, variables, expected):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as raised:
        get_secret("SECRET_KEY")
    assert expected in str(raised.value)
    assert use_vault.requests == []


# --- Start-up (settings in a fresh process) -----------------------------------------------


def vault_env(tmp_path: Path, vault: VaultStub, **overrides: str) -> dict[str, str]:
    env = clean_env(tmp_path, ENVIRONMENT="prod", ALLOWED_HOSTS="scrumboard.example.com")
    for name in VAULT_VARIABLES:
        env.pop(name, None)
    env.update(VAULT_ADDR=vault.url, VAULT_AUTH_METHOD="approle", VAULT_ROLE_ID=vault.role_id)
    env.update(VAULT_SECRET_ID=vault.secret_id, **overrides)
    return env


SETTINGS_AND_LOGS = """
import django, json, logging
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
log = logging.getLogger("scrumboard.test")
log.warning("connecting to %s with %s", settings.DATABASE_URL, db["PASSWORD"])
try:
    raise RuntimeError(f"SMTP login failed for {settings.EMAIL_HOST_PASSWORD}")
except RuntimeError:
    log.exception("mail down, key %s", settings.WEBHOOK_SIGNING_KEY)
# Django's own handlers: its console handler (under DEBUG) and runserver's request log.
logging.getLogger("django.request").error("django.request %s", settings.METRICS_TOKEN)
logging.getLogger("django.server").info("GET /metrics?token=%s", settings.METRICS_TOKEN)
print(json.dumps({
    "SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL,
    "EMAIL_HOST_PASSWORD": settings.EMAIL_HOST_PASSWORD, "METRICS_TOKEN": settings.METRICS_TOKEN,
    "WEBHOOK_SIGNING_KEY": settings.WEBHOOK_SIGNING_KEY,
    "db": [db["ENGINE"], db["HOST"], db["PASSWORD"]], "broker": settings.CELERY_BROKER_URL,
}))
"""


def test_settings_read_every_secret_from_vault_and_logs_never_show_them(tmp_path, vault):
    completed = run([sys.executable, "-c", SETTINGS_AND_LOGS], vault_env(tmp_path, vault, DEBUG="1"))

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result.pop("db") == ["django.db.backends.postgresql", "db.internal", "pg-pass-7Hq2xZ9v"]
    assert result.pop("broker") == PROD_SECRETS["REDIS_URL"]
    assert result == PROD_SECRETS
    assert [path for path in vault.paths() if "data" in path] == ["GET /v1/secret/data/scrumboard/prod"]
    # The log lines are written, without the values.
    assert "connecting to [redacted] with [redacted]" in completed.stderr
    assert "mail down, key [redacted]" in completed.stderr
    assert "RuntimeError: SMTP login failed for [redacted]" in completed.stderr
    assert "django.request [redacted]" in completed.stderr
    assert "GET /metrics?token=[redacted]" in completed.stderr
    assert_no_secret_in(completed.stderr)
    assert not (tmp_path / "secret_key").exists()


def test_missing_required_secret_in_vault_stops_start_up_naming_only_the_key(tmp_path, vault):
    vault.secrets["scrumboard/prod"].pop("DATABASE_URL")

    completed = run([sys.executable, "manage.py", "check"], vault_env(tmp_path, vault))

    assert completed.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is required when ENVIRONMENT=prod." in completed.stderr
    assert_no_secret_in(completed.stderr + completed.stdout)


def test_missing_required_secret_without_vault_stops_start_up(tmp_path):
    env = clean_env(tmp_path, ENVIRONMENT="stage", SECRET_KEY=PROD_SECRETS["SECRET_KEY"])
    for name in VAULT_VARIABLES:
        env.pop(name, None)

    completed = run([sys.executable, "manage.py", "check"], env)

    assert completed.returncode != 0
    assert "DATABASE_URL is required when ENVIRONMENT=stage." in completed.stderr
    assert "REDIS_URL is required when ENVIRONMENT=stage." in completed.stderr
    assert "Looked in the environment" in completed.stderr
    assert PROD_SECRETS["SECRET_KEY"] not in completed.stderr


def test_wrong_vault_token_stops_start_up_without_showing_it(tmp_path, vault):
    token_file = tmp_path / "token"
    token_file.write_text("hvs.expired-agent-token-0123")
    env = vault_env(tmp_path, vault, VAULT_AUTH_METHOD="token", VAULT_TOKEN_FILE=str(token_file))

    completed = run([sys.executable, "manage.py", "check"], env)

    assert completed.returncode != 0
    assert f"Vault at VAULT_ADDR={vault.url} refused VAULT_AUTH_METHOD=token" in completed.stderr
    assert "expired-agent-token" not in completed.stderr


WORKER_LOGS = """
import logging, os
from celery.signals import worker_ready
from scrumboard.celery import app


@worker_ready.connect
def log_and_leave(**kwargs):
    from django.conf import settings
    logging.getLogger("scrumboard.worker").warning("worker has %s", settings.WEBHOOK_SIGNING_KEY)
    logging.getLogger("celery.worker").warning("celery has %s", settings.METRICS_TOKEN)
    os._exit(0)


app.worker_main(["worker", "--pool=solo", "--without-heartbeat", "--without-mingle", "--without-gossip"])
"""


def test_a_celery_worker_logs_without_secrets(tmp_path, vault):
    # The worker replaces the root logger's handlers with its own: they get the filter too.
    script = tmp_path / "worker_logs.py"
    script.write_text(WORKER_LOGS)
    env = vault_env(tmp_path, vault, ENVIRONMENT="test", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    vault.secrets["scrumboard/test"] = {"WEBHOOK_SIGNING_KEY": PROD_SECRETS["WEBHOOK_SIGNING_KEY"]}
    vault.secrets["scrumboard/test"]["METRICS_TOKEN"] = PROD_SECRETS["METRICS_TOKEN"]

    completed = run([sys.executable, str(script)], env)

    assert completed.returncode == 0, completed.stderr
    assert "worker has [redacted]" in completed.stderr
    assert "celery has [redacted]" in completed.stderr
    assert_no_secret_in(completed.stderr + completed.stdout)


def test_development_without_vault_starts_on_the_local_defaults(tmp_path):
    env = clean_env(tmp_path)
    for name in VAULT_VARIABLES:
        env.pop(name, None)
    completed = run([sys.executable, "manage.py", "check"], env)
    assert completed.returncode == 0, completed.stderr


# --- Error pages, logs, /metrics -----------------------------------------------------------


def failing_view(request):
    from django.conf import settings

    database_url = settings.DATABASE_URL  # a local variable shown on the debug page
    credentials = {"user": "scrumboard", "password": settings.EMAIL_HOST_PASSWORD}
    raise RuntimeError(f"cannot sign with {settings.WEBHOOK_SIGNING_KEY} for {database_url} {credentials}")


urlpatterns = [path("boom/", failing_view)]


@pytest.fixture
def secrets_in_settings(use_vault, monkeypatch, settings):
    monkeypatch.setenv("VAULT_TOKEN", use_vault.root_token)
    for name in PROD_SECRETS:
        setattr(settings, name, get_secret(name))
    return settings


@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_debug_error_page_shows_no_secret(secrets_in_settings, accept):
    secrets_in_settings.DEBUG = True
    secrets_in_settings.ROOT_URLCONF = "tests.scrumboard.test_vault"
    client = Client(raise_request_exception=False)
    response = client.get(
        "/boom/",
        HTTP_ACCEPT=accept,
        HTTP_AUTHORIZATION=f"Bearer {PROD_SECRETS['METRICS_TOKEN']}",
        HTTP_COOKIE=f"sessionid={PROD_SECRETS['SECRET_KEY']}",
        # runserver copies the process environment into every request's META.
        DATABASE_URL=PROD_SECRETS["DATABASE_URL"],
        REDIS_URL=PROD_SECRETS["REDIS_URL"],
        VAULT_TOKEN=secrets_in_settings.SECRET_KEY,
        SENTRY_DSN="https://public-dsn-key-0123@o1.ingest.sentry.io/1",
    )

    body = response.content.decode()
    assert response.status_code == 500
    assert "RuntimeError" in body
    assert "cannot sign with [redacted] for [redacted]" in body
    assert "WEBHOOK_SIGNING_KEY" in body and "DATABASE_URL" in body  # the settings are listed, hidden
    assert_no_secret_in(body)
    assert "public-dsn-key-0123" not in body


def test_log_filter_redacts_messages_and_tracebacks(secrets_in_settings):
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.vault.redaction")
    logger.addHandler(handler)
    try:
        logger.error("token %s", PROD_SECRETS["METRICS_TOKEN"])
        try:
            raise ValueError(PROD_SECRETS["DATABASE_URL"])
        except ValueError:
            logger.exception("database")
    finally:
        logger.removeHandler(handler)

    assert records[0] == "token [redacted]"
    assert "ValueError: [redacted]" in records[1]
    assert_no_secret_in("\n".join(records))


def test_metrics_never_show_secrets(secrets_in_settings):
    client = Client()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {PROD_SECRETS['METRICS_TOKEN']}")
    assert response.status_code == 200
    assert_no_secret_in(response.content.decode())
