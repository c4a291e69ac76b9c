"""Where settings get their secrets: HashiCorp Vault when ``VAULT_ADDR`` is set, else the environment.

Vault: one KV v2 secret per environment (mount ``VAULT_KV_MOUNT``, path ``VAULT_SECRET_PATH``,
default ``secret`` / ``scrumboard/<ENVIRONMENT>``) whose keys are named like the environment
variables, read once per process. Without Vault the environment variables themselves are the
source (GitHub Secrets in CI). A secret's value is never logged or put in an error message:
errors name the key, the variable or the auth method only. Every value handed out is remembered
so ``scrumboard.observability`` can cut it out of logs, error pages and Sentry events.
"""

import functools
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import hvac  # type: ignore[import-untyped]  # hvac ships no type information
import requests
from django.core.exceptions import ImproperlyConfigured
from hvac import exceptions as vault_errors

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# The secrets settings read (keys of the Vault secret, or environment variables).
SECRET_NAMES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST_PASSWORD",
    "SENTRY_DSN",
    "METRICS_TOKEN",
    "WEBHOOK_SIGNING_KEY",
)
# Stage and prod do not start without these.
# REDIS_URL too: without it the broker would be a folder per pod, and tasks would be lost between pods.
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
PRODUCTION_ENVIRONMENTS = {"stage", "prod"}

AUTH_METHODS = ("token", "approle", "kubernetes")
K8S_SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path
VAULT_TIMEOUT_SECONDS = 10
# Shorter values are not cut out of logs and events: doing so would mangle ordinary text.
_MIN_REDACTED_LENGTH = 6

_known_values: set[str] = set()


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name: str, *, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_float(name: str, *, default: float, minimum: float, maximum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be a number from {minimum} to {maximum}, got {raw!r}")
    return value


def get_secret(name: str) -> str | None:
    """The secret called ``name`` (from Vault when ``VAULT_ADDR`` is set), or None when it is not configured."""
    value = _vault_secrets().get(name) if os.environ.get("VAULT_ADDR") else os.environ.get(name)
    if not value:
        return None
    remember_secret(value)
    return value


def require_secrets(names: Iterable[str], *, environment: str) -> None:
    """Stops start-up naming every secret of ``names`` that is not configured (never a value)."""
    missing = [name for name in names if not get_secret(name)]
    if not missing:
        return
    if os.environ.get("VAULT_ADDR"):
        source = f"Vault secret {_kv_mount()}/{_secret_path()} at VAULT_ADDR={os.environ['VAULT_ADDR']}"
    else:
        source = "the environment (VAULT_ADDR is unset)"
    problems = " ".join(f"{name} is required when ENVIRONMENT={environment}." for name in missing)
    raise ImproperlyConfigured(f"{problems} Looked in {source}.")


def local_secret_key(var_dir: Path, *, environment: str) -> str:
    """A key generated once into ``var/`` for local runs; production must configure one."""
    if environment in PRODUCTION_ENVIRONMENTS:
        raise ImproperlyConfigured(f"SECRET_KEY is required when ENVIRONMENT={environment}")
    path = var_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    key = path.read_text().strip()
    remember_secret(key)
    return key


def remember_secret(value: str) -> None:
    """Marks ``value`` as secret: logs, error pages and Sentry events will not show it.

    For a URL only its credentials are secret: the password, and the whole URL when it
    carries user info or a query (a Sentry DSN's key, ``?password=``).
    """
    parts = urlsplit(value) if "://" in value else None
    if parts is None or not parts.netloc:
        candidates = [value]
    else:
        candidates = [parts.password or ""]
        if "@" in parts.netloc or parts.query:
            candidates.append(value)
    _known_values.update(candidate for candidate in candidates if len(candidate) >= _MIN_REDACTED_LENGTH)


def secret_values() -> frozenset[str]:
    """Every secret value this process has handed out."""
    return frozenset(_known_values)


def forget_secrets() -> None:
    """Drops the cached Vault read and the remembered values (tests switch environments)."""
    _vault_secrets.cache_clear()
    _known_values.clear()


def _kv_mount() -> str:
    return os.environ.get("VAULT_KV_MOUNT", "secret").strip("/")


def _secret_path() -> str:
    default = f"scrumboard/{os.environ.get('ENVIRONMENT', 'dev')}"
    return os.environ.get("VAULT_SECRET_PATH", default).strip("/")


@functools.cache
def _vault_secrets() -> Mapping[str, str]:
    """The environment's secret, read once per process; the client and its token are dropped after."""
    address = os.environ["VAULT_ADDR"]
    method = os.environ.get("VAULT_AUTH_METHOD", "token").strip().lower()
    if method not in AUTH_METHODS:
        raise ImproperlyConfigured(f"VAULT_AUTH_METHOD must be one of {', '.join(AUTH_METHODS)}, got {method!r}")
    mount, path = _kv_mount(), _secret_path()
    client = hvac.Client(
        url=address,
        token="",  # never ~/.vault-token or a stray VAULT_TOKEN: each method below sets its own
        namespace=os.environ.get("VAULT_NAMESPACE") or None,
        timeout=VAULT_TIMEOUT_SECONDS,
    )
    credentials = _authenticate(client, method, address)
    try:
        response = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)
    except vault_errors.InvalidPath:
        raise ImproperlyConfigured(
            f"Vault at VAULT_ADDR={address} has no secret {mount}/{path} (VAULT_KV_MOUNT, VAULT_SECRET_PATH)"
        ) from None
    except (vault_errors.Forbidden, vault_errors.Unauthorized):
        raise ImproperlyConfigured(
            f"Vault at VAULT_ADDR={address} refused reading {mount}/{path}: the policy of the "
            f"VAULT_AUTH_METHOD={method} identity does not allow it"
        ) from None
    except (vault_errors.VaultError, requests.RequestException) as error:
        raise _unreachable(address, error, credentials) from None
    data = response["data"]["data"] or {}
    return {str(key): str(value) for key, value in data.items() if value is not None}


def _authenticate(client: hvac.Client, method: str, address: str) -> list[str]:
    """Logs ``client`` in; returns the credentials used, so no error message repeats them."""
    if method == "token":
        token = os.environ.get("VAULT_TOKEN") or _read_file("VAULT_TOKEN_FILE", required_by="VAULT_AUTH_METHOD=token")
        client.token = token
        credentials = [token]
        login = client.auth.token.lookup_self
        refused = "VAULT_AUTH_METHOD=token: the token (VAULT_TOKEN or VAULT_TOKEN_FILE) was refused"
    elif method == "approle":
        role_id = _required_env("VAULT_ROLE_ID", required_by="VAULT_AUTH_METHOD=approle")
        secret_id = os.environ.get("VAULT_SECRET_ID") or _read_file(
            "VAULT_SECRET_ID_FILE", required_by="VAULT_AUTH_METHOD=approle"
        )
        credentials = [role_id, secret_id]

        def login() -> object:
            return client.auth.approle.login(role_id=role_id, secret_id=secret_id)

        refused = "VAULT_AUTH_METHOD=approle: the login with VAULT_ROLE_ID and VAULT_SECRET_ID was refused"
    else:
        role = _required_env("VAULT_K8S_ROLE", required_by="VAULT_AUTH_METHOD=kubernetes")
        mount = os.environ.get("VAULT_K8S_MOUNT", "kubernetes").strip("/")
        jwt = _read_file(
            "VAULT_K8S_JWT_FILE", required_by="VAULT_AUTH_METHOD=kubernetes", default=K8S_SERVICE_ACCOUNT_TOKEN
        )
        credentials = [jwt]

        def login() -> object:
            return client.auth.kubernetes.login(role=role, jwt=jwt, mount_point=mount)

        refused = (
            f"VAULT_AUTH_METHOD=kubernetes: the service account login for role {role!r} "
            f"(VAULT_K8S_ROLE, mount VAULT_K8S_MOUNT={mount}) was refused"
        )
    try:
        login()
    except (vault_errors.Forbidden, vault_errors.Unauthorized, vault_errors.InvalidRequest):
        raise ImproperlyConfigured(f"Vault at VAULT_ADDR={address} refused {refused}") from None
    except (vault_errors.VaultError, requests.RequestException) as error:
        raise _unreachable(address, error, credentials) from None
    return credentials


def _unreachable(address: str, error: Exception, credentials: list[str]) -> ImproperlyConfigured:
    reason = f"{type(error).__name__}: {error}"
    for credential in credentials:
        reason = reason.replace(credential, "[redacted]")
    return ImproperlyConfigured(f"Vault at VAULT_ADDR={address} is unreachable or failing ({reason})")


def _required_env(name: str, *, required_by: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{required_by} needs {name}")
    return value


def _read_file(variable: str, *, required_by: str, default: str = "") -> str:
    path = os.environ.get(variable) or default
    if not path:
        alternative = variable.removesuffix("_FILE")
        raise ImproperlyConfigured(f"{required_by} needs {alternative} or {variable}")
    try:
        value = Path(path).read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(
            f"{required_by}: cannot read {variable}={path} ({error.strerror or type(error).__name__})"
        ) from None
    if not value:
        raise ImproperlyConfigured(f"{required_by}: {variable}={path} is empty")
    return value
