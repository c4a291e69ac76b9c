"""Settings come from the environment: safe development defaults, strict production.

Settings are read once per process, so behaviour that depends on the environment at
start-up is checked in a fresh ``python`` subprocess with a chosen environment.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from scrumboard.secrets import env_bool, local_secret_key

BASE_DIR = Path(__file__).resolve().parents[2]


def _variables_read_by_settings() -> set[str]:
    source = (BASE_DIR / "scrumboard" / "settings.py").read_text()
    pattern = r'(?:environ\.get|getenv|env_\w+|get_secret)\(\s*"([A-Z][A-Z0-9_]*)"|environ\[\s*"([A-Z][A-Z0-9_]*)"'
    return {name for pair in re.findall(pattern, source) for name in pair if name}


# Every variable settings.py reads, so a subprocess starts from the documented defaults.
SETTINGS_ENV = _variables_read_by_settings() | {"DJANGO_SETTINGS_MODULE"}
PRODUCTION_ENV = {
    "ENVIRONMENT": "prod",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "scrumboard.example.com",
    "SITE_URL": "https://scrumboard.example.com",
    # Required in prod (read, never connected to, by these checks).
    "DATABASE_URL": "postgres://scrumboard@db.example.com:5432/scrumboard",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def clean_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    # DJANGO_* too: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy refuses.
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_ENV and not key.startswith("DJANGO_")}
    env.update(SCRUMBOARD_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="scrumboard.settings", **overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False)


def settings_in_subprocess(var_dir: Path, code: str, **overrides: str) -> dict:
    """Runs ``code`` after ``django.setup()``; it leaves its answer in ``result``."""
    script = f"import django, json\ndjango.setup()\nfrom django.conf import settings\n{code}\nprint(json.dumps(result))"
    completed = run([sys.executable, "-c", script], clean_env(var_dir, **overrides))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_local_secret_key_is_generated_once_and_reused(tmp_path):
    first = local_secret_key(tmp_path, environment="dev")
    again = local_secret_key(tmp_path, environment="dev")

    assert first == again
    assert len(first) >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_local_secret_keys_differ_between_checkouts(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert local_secret_key(tmp_path / "a", environment="dev") != local_secret_key(tmp_path / "b", environment="dev")


@pytest.mark.parametrize("environment", ["prod", "stage"])
def test_production_refuses_to_generate_a_secret_key(tmp_path, environment):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        local_secret_key(tmp_path, environment=environment)
    assert not (tmp_path / "secret_key").exists()


def test_production_without_secret_key_does_not_start(tmp_path):
    completed = run([sys.executable, "manage.py", "check"], clean_env(tmp_path, **PRODUCTION_ENV))

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "SECRET_KEY is required when ENVIRONMENT=prod" in completed.stderr
    assert not (tmp_path / "secret_key").exists()


def test_development_settings_use_the_key_kept_in_var(tmp_path):
    result = settings_in_subprocess(tmp_path, "result = settings.SECRET_KEY")
    assert result == (tmp_path / "secret_key").read_text().strip()
    assert settings_in_subprocess(tmp_path, "result = settings.SECRET_KEY") == result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("", False),
    ],
)
def test_env_bool_reads_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SCRUMBOARD_TEST_FLAG", raw)
    assert env_bool("SCRUMBOARD_TEST_FLAG", default=not expected) is expected


def test_env_bool_falls_back_to_default_when_unset(monkeypatch):
    monkeypatch.delenv("SCRUMBOARD_TEST_FLAG", raising=False)
    assert env_bool("SCRUMBOARD_TEST_FLAG", default=True) is True
    assert env_bool("SCRUMBOARD_TEST_FLAG", default=False) is False


@pytest.mark.parametrize("raw", ["2", "enabled", "yes please", "tru"])
def test_env_bool_rejects_garbage_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SCRUMBOARD_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SCRUMBOARD_TEST_FLAG must be a boolean"):
        env_bool("SCRUMBOARD_TEST_FLAG", default=False)


def test_garbage_debug_value_stops_start_up(tmp_path):
    completed = run([sys.executable, "manage.py", "check"], clean_env(tmp_path, DEBUG="maybe"))
    assert completed.returncode != 0
    assert "DEBUG must be a boolean" in completed.stderr


def test_deploy_check_passes_with_production_environment(tmp_path):
    env = clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(64), **PRODUCTION_ENV)
    completed = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_debug_defaults_off_and_production_hardening_follows(tmp_path):
    result = settings_in_subprocess(
        tmp_path,
        "result = [settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE,"
        " settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS]",
    )
    assert result == [False, True, True, True, 31536000]


def test_debug_on_relaxes_https_for_local_http(tmp_path):
    result = settings_in_subprocess(
        tmp_path, "result = [settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE]", DEBUG="1"
    )
    assert result == [True, False, False]


def test_database_defaults_to_sqlite_in_var_with_wal(tmp_path):
    result = settings_in_subprocess(
        tmp_path,
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('PRAGMA journal_mode')\n"
        "    mode = cursor.fetchone()[0]\n"
        "db = settings.DATABASES['default']\n"
        "result = {'engine': db['ENGINE'], 'name': str(db['NAME']), 'journal_mode': mode}",
    )
    assert result == {
        "engine": "django.db.backends.sqlite3",
        "name": str(tmp_path / "scrumboard.sqlite3"),
        "journal_mode": "wal",
    }
    assert (tmp_path / "scrumboard.sqlite3").exists()


def test_database_url_switches_to_postgresql(tmp_path):
    result = settings_in_subprocess(
        tmp_path,
        "db = settings.DATABASES['default']\nresult = [db['ENGINE'], db['NAME'], db['HOST'], db['CONN_MAX_AGE']]",
        DATABASE_URL="postgres://scrumboard@db.example.com:5432/scrumboard",
    )
    assert result == ["django.db.backends.postgresql", "scrumboard", "db.example.com", 60]


CELERY_AND_CACHE = (
    "result = {'broker': settings.CELERY_BROKER_URL, 'options': settings.CELERY_BROKER_TRANSPORT_OPTIONS,"
    " 'cache': settings.CACHES['default']['BACKEND'], 'cache_location': str(settings.CACHES['default']['LOCATION'])}"
)


def test_without_redis_url_broker_and_cache_live_in_var(tmp_path):
    result = settings_in_subprocess(tmp_path, CELERY_AND_CACHE)

    assert result["broker"] == "filesystem://"
    assert result["options"]["data_folder_in"] == str(tmp_path / "broker" / "out")
    assert result["options"]["data_folder_out"] == str(tmp_path / "broker" / "out")
    assert result["cache"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert result["cache_location"] == str(tmp_path / "cache")


def test_redis_url_switches_broker_and_cache_to_redis(tmp_path):
    url = "redis://redis.example.com:6379/3"
    result = settings_in_subprocess(tmp_path, CELERY_AND_CACHE, REDIS_URL=url)

    assert result["broker"] == url
    assert result["options"] == {"visibility_timeout": 3600, "max_retries": 0}
    assert result["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert result["cache_location"] == url
    assert not (tmp_path / "broker").exists()


def test_every_variable_settings_read_is_found_and_documented_in_the_readme():
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "SCRUMBOARD_VAR_DIR"} <= SETTINGS_ENV
    readme = (BASE_DIR / "README.md").read_text()
    undocumented = sorted(name for name in SETTINGS_ENV - {"DJANGO_SETTINGS_MODULE"} if f"`{name}`" not in readme)
    assert not undocumented, f"README.md's configuration table misses {undocumented}"
