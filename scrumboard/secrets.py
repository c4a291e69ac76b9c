"""Where settings get their secrets.

Environment variables (GitHub Secrets in CI, Kubernetes secrets in a cluster) are the
source today; reading from HashiCorp Vault through ``hvac`` plugs in here.
A secret's value is never logged: errors name the key only.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


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


def get_secret(name: str) -> str | None:
    """The secret called ``name``, or None when it is not configured."""
    value = os.environ.get(name)
    return value or None


def local_secret_key(var_dir: Path, *, environment: str) -> str:
    """A key generated once into ``var/`` for local runs; production must configure one."""
    if environment in {"stage", "prod"}:
        raise ImproperlyConfigured(f"SECRET_KEY is required when ENVIRONMENT={environment}")
    path = var_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
