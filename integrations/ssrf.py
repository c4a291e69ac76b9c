"""The SSRF guard for webhook targets, and the one way deliveries reach them.

A target is checked on create, on update and again at delivery: http(s) only, no credentials
in the URL, and every address the host resolves to must be public. Delivery then connects to
the address that was checked (never resolving the name a second time, so a DNS answer that
turns private after the check — "DNS rebinding" — cannot redirect it), sends the original
host name in ``Host`` and as the TLS server name, and never follows a redirect.
``WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts only the address rule, for on-premise receivers.
"""

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONNECT_TIMEOUT = 5.0  # seconds to open the TCP (and TLS) connection
TOTAL_TIMEOUT = 10.0  # seconds for the whole exchange, however slowly the receiver drips bytes
ERROR_BODY_LIMIT = 300  # bytes of a failing response's body kept in the delivery log

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Hosts made only of digits, dots and hex: inet_aton reads "2130706433", "0x7f000001", "0177.0.0.1"
# and "127.1" as IPv4 addresses, and so does getaddrinfo.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``, one the check passed) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _refuse(message: str) -> ValidationError:
    return ValidationError({"url": [message]})


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet; IPv4 carried in IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return is_public(embedded)
        # NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # is_global is False for private, loopback, link-local (the cloud metadata address 169.254.169.254
    # included), carrier-grade NAT 100.64.0.0/10, unique-local fc00::/7, documentation and reserved
    # ranges; the other flags are spelled out for the ranges is_global alone lets through.
    return address.is_global and not (
        address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def _is_dotted_quad(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)  # four decimal parts, no leading zeros
    except ValueError:
        return False
    return True


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise _refuse(_("Enter a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(_("Only http and https URLs can receive webhooks."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse(_("Put no user name or password in the URL; check the signature instead."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse(_("Enter a valid URL."))
    if _NUMERIC_HOST.match(host) and not _is_dotted_quad(host):
        # 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 are all 127.0.0.1 to the resolver.
        raise _refuse(_("Write an IP address in its usual dotted form (e.g. 203.0.113.7)."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise _refuse(_("The host name could not be resolved.")) from None
    addresses = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        try:
            addresses.append(ipaddress.ip_address(raw))
        except ValueError:
            raise _refuse(_("The host name could not be resolved.")) from None
    if not addresses:
        raise _refuse(_("The host name could not be resolved."))
    return addresses


def resolve_target(url: str) -> Target:
    """Parses, resolves once and checks ``url``; the returned address is the one to connect to."""
    scheme, host, port, path = _parse(url)
    addresses = _resolve(host, port)
    # Every address must be public: a client picks any of them, and so could an attacker's DNS.
    allow_private = getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    if not allow_private and not all(is_public(address) for address in addresses):
        raise _refuse(
            _("This URL points to a private, loopback or otherwise internal address; webhooks go to public hosts.")
        )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


def check_target(url: str) -> None:
    """Raises ValidationError({"url": [...]}) unless ``url`` may receive webhooks."""
    resolve_target(url)


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most ERROR_BODY_LIMIT bytes
    location: str


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a given address; the host name is only for the Host header."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to a given address and verifies the certificate for the host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """One POST to the checked address; no redirects. Raises OSError (timeouts included) on failure."""
    started = time.monotonic()
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout=CONNECT_TIMEOUT)
    timer = None
    try:
        connection.connect()
        remaining = max(TOTAL_TIMEOUT - (time.monotonic() - started), 0.001)
        sock = connection.sock
        sock.settimeout(remaining)
        # A receiver that drips one byte at a time never trips a per-read timeout: the whole
        # exchange has a deadline, after which the socket is shut and the read fails.
        timer = threading.Timer(remaining, _shut, args=(sock,))
        timer.daemon = True
        timer.start()
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        head = response.read(ERROR_BODY_LIMIT) if not 200 <= response.status < 300 else b""
        if time.monotonic() - started >= TOTAL_TIMEOUT:
            raise TimeoutError("timed out")
        return Response(status=response.status, body=head, location=response.getheader("Location") or "")
    except (http.client.HTTPException, ssl.SSLError) as exc:
        if time.monotonic() - started >= TOTAL_TIMEOUT:
            raise TimeoutError("timed out") from exc
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    except OSError:
        if time.monotonic() - started >= TOTAL_TIMEOUT:
            raise TimeoutError("timed out") from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already: the exchange ended in time
        sock.shutdown(socket.SHUT_RDWR)
