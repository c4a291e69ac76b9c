"""Sentry: started by settings when SENTRY_DSN is set, events scrubbed of personal data and secrets.

Sentry patches Django and Celery process-wide, so each check runs settings in a fresh
``python`` subprocess; there the client built by settings keeps every option, and only its
transport is swapped for one that keeps the events instead of sending them.
"""

import json
import logging
import sys
from types import SimpleNamespace

import pytest
import sentry_sdk
from django.conf import settings
from django.urls import path

from scrumboard.celery import app
from scrumboard.observability import FILTERED, REDACTED, init_sentry, scrub_event
from scrumboard.secrets import remember_secret
from tests.scrumboard.test_settings import clean_env, run
from tests.scrumboard.vault_stub import VAULT_VARIABLES, fresh_secrets_fixture  # noqa: F401 - a fixture

SECRETS = {
    "SECRET_KEY": "stage-secret-key-8d2f7a1c9e4b6d3f0a5c",
    "DATABASE_URL": "postgres://scrumboard:pg-pass-Qw3Er5Ty7@db.internal:5432/scrumboard",
    # Required in stage too; nothing here connects to it.
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "SENTRY_DSN": "https://dsnpublickey0123456789@sentry.example.com/42",
    "METRICS_TOKEN": "metrics-token-Zx8Cv6Bn4",
    "WEBHOOK_SIGNING_KEY": "webhook-key-As1Df2Gh3",
    "EMAIL_HOST_PASSWORD": "smtp-pass-Lk9Jh8Gf7",
}
SECRET_TEXTS = [*SECRETS.values(), "pg-pass-Qw3Er5Ty7"]
PERSONAL = ["alice@example.com", "203.0.113.9", "198.51.100.7", "session-cookie-value-123", "csrf-cookie-value-456"]
FAILING_TASK = "tests.scrumboard.test_sentry.failing_task"


def failing_view(request):
    # Signed in (the user is set by hand: the subprocess has no database).
    request.user = SimpleNamespace(
        is_authenticated=True, pk=7, id=7, email="alice@example.com", username="alice", get_username=lambda: "alice"
    )
    logging.getLogger("scrumboard.sentry_test").info("signing with %s", settings.WEBHOOK_SIGNING_KEY)  # a breadcrumb
    sentry_sdk.set_extra("signing_key", settings.WEBHOOK_SIGNING_KEY)
    sentry_sdk.set_extra("detail", f"mail through {settings.EMAIL_HOST_PASSWORD}")
    metrics_token = settings.METRICS_TOKEN  # frame variables, by name and by value
    note = f"connected to {settings.DATABASE_URL}"
    raise RuntimeError(f"cannot sign {note} {metrics_token} {settings.SECRET_KEY}")


urlpatterns = [path("boom/", failing_view)]


@app.task(name=FAILING_TASK)
def failing_task() -> None:
    raise ValueError(f"task failed with {settings.WEBHOOK_SIGNING_KEY}")


CAPTURE = """
import django, json
django.setup()
import sentry_sdk
from django.conf import settings
from sentry_sdk.transport import Transport

events = []


class Capture(Transport):
    def capture_envelope(self, envelope):
        events.extend(item.payload.json for item in envelope.items if item.type == "event")


client = sentry_sdk.get_client()
started = client.is_active()
if started:
    client.transport = Capture(client.options)
{action}
options = client.options if started else {{}}
print(json.dumps({{
    "started": started,
    "events": events,
    "environment": options.get("environment"),
    "release": options.get("release"),
    "send_default_pii": options.get("send_default_pii"),
    "traces_sample_rate": options.get("traces_sample_rate"),
    "integrations": sorted(getattr(client, "integrations", {{}})),
}}, default=str))
"""
# Through Django's WSGI handler, as under gunicorn: Sentry hooks in there for the request data.
REQUEST = """
from wsgiref.util import setup_testing_defaults
from django.core.wsgi import get_wsgi_application
environ = {
    "PATH_INFO": "/boom/", "QUERY_STRING": "page=2&token=" + settings.METRICS_TOKEN, "REQUEST_METHOD": "GET",
    "wsgi.url_scheme": "https",
    "HTTP_AUTHORIZATION": "Bearer " + settings.METRICS_TOKEN,
    "HTTP_COOKIE": "sessionid=session-cookie-value-123; csrftoken=csrf-cookie-value-456",
    "HTTP_X_FORWARDED_FOR": "198.51.100.7", "REMOTE_ADDR": "203.0.113.9",
}
setup_testing_defaults(environ)
settings.ROOT_URLCONF = "tests.scrumboard.test_sentry"
statuses = []
b"".join(get_wsgi_application()(environ, lambda status, headers: statuses.append(status)))
assert statuses == ["500 Internal Server Error"], statuses
"""
TASK = """
from tests.scrumboard.test_sentry import failing_task
failing_task.apply()
"""


def sentry_env(tmp_path, **overrides):
    env = clean_env(tmp_path, ENVIRONMENT="stage", **SECRETS)
    for name in (*VAULT_VARIABLES, "SENTRY_RELEASE", "GIT_SHA", "SENTRY_TRACES_SAMPLE_RATE"):
        env.pop(name, None)
    env.update(overrides)
    return env


def capture(tmp_path, action: str = "", **overrides) -> dict:
    completed = run([sys.executable, "-c", CAPTURE.format(action=action)], sentry_env(tmp_path, **overrides))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def frame_of(event: dict, function: str) -> dict:
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    return next(frame for frame in frames if frame["function"] == function)


def test_an_error_in_a_view_sends_one_scrubbed_event_with_environment_and_release(tmp_path):
    result = capture(tmp_path, REQUEST, GIT_SHA="0123abc")

    assert result["started"] is True
    assert result["send_default_pii"] is False
    assert {"django", "celery"} <= set(result["integrations"])
    [event] = result["events"]
    assert event["environment"] == "stage"
    assert event["release"] == "0123abc"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == f"cannot sign connected to {REDACTED} {REDACTED} {REDACTED}"
    # No personal data: no user, no addresses, no cookies; headers that carry credentials filtered.
    assert "email" not in event.get("user", {})
    request = event["request"]
    assert "cookies" not in request
    assert "REMOTE_ADDR" not in request["env"]
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["authorization"] == headers["cookie"] == FILTERED
    assert headers["x-forwarded-for"] == ""
    assert request["query_string"] == f"page=2&token={REDACTED}"
    # Extra, breadcrumbs and frame variables keep their shape without the values.
    assert event["extra"]["signing_key"] == FILTERED
    assert event["extra"]["detail"] == f"mail through {REDACTED}"
    messages = [crumb.get("message") for crumb in event["breadcrumbs"]["values"]]
    assert f"signing with {REDACTED}" in messages
    variables = frame_of(event, "failing_view")["vars"]
    assert variables["metrics_token"] == FILTERED
    assert variables["note"] == f"'connected to {REDACTED}'"
    serialized = json.dumps(event)
    for text in SECRET_TEXTS + PERSONAL:
        assert text not in serialized


def test_sentry_release_wins_over_git_sha_and_traces_are_sampled_as_configured(tmp_path):
    result = capture(tmp_path, SENTRY_RELEASE="scrumboard@1.4.0", GIT_SHA="0123abc", SENTRY_TRACES_SAMPLE_RATE="0.25")

    assert result["release"] == "scrumboard@1.4.0"
    assert result["traces_sample_rate"] == 0.25


def test_traces_are_off_by_default(tmp_path):
    assert capture(tmp_path)["traces_sample_rate"] == 0


def test_a_failing_celery_task_sends_a_scrubbed_event(tmp_path):
    result = capture(tmp_path, TASK, GIT_SHA="0123abc")

    [event] = result["events"]
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["release"] == "0123abc"
    serialized = json.dumps(event)
    assert f"task failed with {REDACTED}" in serialized
    for text in SECRET_TEXTS:
        assert text not in serialized


def test_without_a_dsn_sentry_stays_off(tmp_path):
    result = capture(tmp_path, REQUEST, SENTRY_DSN="")

    assert result["started"] is False
    assert result["events"] == []


def test_init_without_a_dsn_does_nothing():
    assert init_sentry(dsn=None, environment="prod", release="x") is False
    assert init_sentry(dsn="", environment="prod", release="x") is False
    assert not sentry_sdk.get_client().is_active()


def test_scrub_event_filters_by_name_and_redacts_by_value(fresh_secrets):
    remember_secret("postgres://app:db-pass-123456@db/app")
    remember_secret("signing-key-abcdef")

    event = {
        "request": {"headers": {"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "text/html"}},
        "extra": {"dsn": "https://k@sentry", "note": "signed with signing-key-abcdef", "author": "bob"},
        "breadcrumbs": {"values": [{"message": "db-pass-123456 rejected", "data": {"password": "p"}}]},
        "contexts": {"session": {"value": "postgres://app:db-pass-123456@db/app"}},
        "level": "error",
    }

    assert scrub_event(event) == {
        "request": {"headers": {"Authorization": FILTERED, "X-Api-Key": FILTERED, "Accept": "text/html"}},
        "extra": {"dsn": FILTERED, "note": f"signed with {REDACTED}", "author": "bob"},
        "breadcrumbs": {"values": [{"message": f"{REDACTED} rejected", "data": {"password": FILTERED}}]},
        "contexts": {"session": {"value": REDACTED}},
        "level": "error",
    }


@pytest.mark.parametrize("raw", ["-0.1", "1.5", "often"])
def test_a_bad_sample_rate_stops_start_up_naming_the_variable(tmp_path, raw):
    env = sentry_env(tmp_path, SENTRY_TRACES_SAMPLE_RATE=raw)
    completed = run([sys.executable, "manage.py", "check"], env)
    assert completed.returncode != 0
    assert "SENTRY_TRACES_SAMPLE_RATE must be a number from 0.0 to 1.0" in completed.stderr
