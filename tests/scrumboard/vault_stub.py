"""An HTTP-level stand-in for HashiCorp Vault: KV v2 reads and the token, AppRole and Kubernetes logins.

Speaks the wire format the real ``hvac`` client expects (no Vault binary is available here):

- ``GET  /v1/auth/token/lookup-self``           the token in ``X-Vault-Token``
- ``POST /v1/auth/approle/login``               ``{"role_id", "secret_id"}`` → a client token
- ``POST /v1/auth/<k8s mount>/login``           ``{"role", "jwt"}`` → a client token
- ``GET  /v1/<kv mount>/data/<path>``           KV v2: ``data.data`` and ``data.metadata``

Bad credentials answer 403 with ``{"errors": ["permission denied"]}``, an unknown secret 404.
Every request is recorded (method, path, token header, JSON body).
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scrumboard.secrets import SECRET_NAMES, forget_secrets, remember_secret, secret_values


@dataclass
class Recorded:
    method: str
    path: str
    token: str | None
    body: dict[str, Any]


@dataclass
class VaultStub:
    root_token: str = "root-token-0123456789"
    role_id: str = "role-id-scrumboard"
    secret_id: str = "secret-id-0123456789"
    k8s_mount: str = "kubernetes"
    k8s_role: str = "scrumboard-prod"
    k8s_jwt: str = "eyJhbGciOiJSUzI1NiJ9.service-account.signature"
    kv_mount: str = "secret"
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # path → key/values
    requests: list[Recorded] = field(default_factory=list)
    issued_tokens: set[str] = field(default_factory=set)

    def __enter__(self) -> "VaultStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub._handle(self, "GET")

            def do_POST(self) -> None:
                stub._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet test output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self) -> list[str]:
        return [f"{request.method} {request.path}" for request in self.requests]

    def _valid(self, token: str | None) -> bool:
        return bool(token) and (token == self.root_token or token in self.issued_tokens)

    def _issue(self, role: str) -> dict[str, Any]:
        token = f"hvs.{secrets.token_urlsafe(24)}"
        self.issued_tokens.add(token)
        return {
            "auth": {
                "client_token": token,
                "accessor": secrets.token_hex(8),
                "policies": ["default", role],
                "token_policies": ["default", role],
                "lease_duration": 3600,
                "renewable": True,
            }
        }

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        token = handler.headers.get("X-Vault-Token")
        path = handler.path.split("?")[0]
        self.requests.append(Recorded(method, path, token, body))
        status, payload = self._answer(method, path, token, body)
        encoded = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(encoded)))
        handler.end_headers()
        handler.wfile.write(encoded)

    def _answer(self, method: str, path: str, token: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        denied = (403, {"errors": ["permission denied"]})
        if method == "GET" and path == "/v1/auth/token/lookup-self":
            if not self._valid(token):
                return denied
            return 200, {"data": {"id": token, "policies": ["default"], "ttl": 3600, "renewable": False}}
        if method == "POST" and path == "/v1/auth/approle/login":
            if body.get("role_id") != self.role_id or body.get("secret_id") != self.secret_id:
                return denied
            return 200, self._issue("approle")
        if method == "POST" and path == f"/v1/auth/{self.k8s_mount}/login":
            if body.get("role") != self.k8s_role or body.get("jwt") != self.k8s_jwt:
                return denied
            return 200, self._issue(self.k8s_role)
        prefix = f"/v1/{self.kv_mount}/data/"
        if method == "GET" and path.startswith(prefix):
            if not self._valid(token):
                return denied
            data = self.secrets.get(path.removeprefix(prefix))
            if data is None:
                return 404, {"errors": []}
            metadata = {
                "created_time": "2026-01-01T00:00:00.000000Z",
                "custom_metadata": None,
                "deletion_time": "",
                "destroyed": False,
                "version": 1,
            }
            return 200, {
                "request_id": secrets.token_hex(8),
                "lease_id": "",
                "renewable": False,
                "lease_duration": 0,
                "data": {"data": data, "metadata": metadata},
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            }
        return 404, {"errors": []}


VAULT_VARIABLES = (
    "VAULT_ADDR",
    "VAULT_AUTH_METHOD",
    "VAULT_TOKEN",
    "VAULT_TOKEN_FILE",
    "VAULT_ROLE_ID",
    "VAULT_SECRET_ID",
    "VAULT_SECRET_ID_FILE",
    "VAULT_K8S_ROLE",
    "VAULT_K8S_MOUNT",
    "VAULT_K8S_JWT_FILE",
    "VAULT_KV_MOUNT",
    "VAULT_SECRET_PATH",
    "VAULT_NAMESPACE",
)


@pytest.fixture(name="fresh_secrets")
def fresh_secrets_fixture(monkeypatch):
    """No Vault, no secret variables, nothing cached; what the test process knew is restored after."""
    for name in (*VAULT_VARIABLES, *SECRET_NAMES):
        monkeypatch.delenv(name, raising=False)
    known = secret_values()
    forget_secrets()
    yield
    forget_secrets()
    for value in known:
        remember_secret(value)
