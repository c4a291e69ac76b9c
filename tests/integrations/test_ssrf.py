"""The SSRF guard: every refused form on create, update and delivery; DNS rebinding; the on-premise setting."""

import socket
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from backlog import services as backlog_services
from integrations import ssrf, tasks, webhooks
from integrations.models import DeliveryState, WebhookDelivery
from tests.integrations.webhook_receiver import Receiver

PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo


def _answer(address: str, port) -> tuple:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


class Resolver:
    """socket.getaddrinfo for made-up names; every other host goes to the real resolver (literals, localhost)."""

    def __init__(self) -> None:
        self.names: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def add(self, name: str, *answers: list[str]) -> None:
        """Successive lookups of ``name`` get successive answers; the last one repeats."""
        self.names[name] = list(answers)

    def __call__(self, host, port, *args, **kwargs):
        self.calls.append(host)
        if host in self.names:
            answers = self.names[host]
            addresses = answers.pop(0) if len(answers) > 1 else answers[0]
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [_answer(address, port) for address in addresses]
        if str(host).endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _real_getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch):
    stub = Resolver()
    stub.add("hooks.example.test", [PUBLIC])
    stub.add("internal.example.test", ["10.1.2.3"])
    stub.add("metadata.example.test", ["169.254.169.254"])
    stub.add("mixed.example.test", [PUBLIC, "10.0.0.1"])
    stub.add("mapped.example.test", ["::ffff:127.0.0.1"])
    stub.add("v6public.example.test", ["2606:2800:220:1:248:1893:25c8:1946"])
    stub.add("nowhere.example.test", [])
    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return stub


REFUSED = [
    # scheme and credentials
    ("ftp://hooks.example.test/hook", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("gopher://hooks.example.test/", "Only http and https"),
    ("http://user:secret@hooks.example.test/hook", "no user name or password"),
    ("http://user@hooks.example.test/hook", "no user name or password"),
    # loopback, private, link-local, carrier-grade NAT, unspecified, multicast, reserved
    ("http://127.0.0.1/hook", "internal address"),
    ("http://127.8.9.10:8080/hook", "internal address"),
    ("http://localhost/hook", "internal address"),
    ("http://10.0.0.5/hook", "internal address"),
    ("http://172.16.3.4/hook", "internal address"),
    ("http://192.168.1.1/hook", "internal address"),
    ("http://169.254.169.254/latest/meta-data/", "internal address"),
    ("http://100.64.0.1/hook", "internal address"),
    ("http://100.127.255.254/hook", "internal address"),
    ("http://0.0.0.0/hook", "internal address"),
    ("http://224.0.0.1/hook", "internal address"),
    ("http://240.0.0.1/hook", "internal address"),
    ("http://255.255.255.255/hook", "internal address"),
    ("http://192.0.2.10/hook", "internal address"),  # documentation range: not the public internet
    # IPv6: loopback, unique-local, link-local, unspecified, multicast, IPv4 inside IPv6
    ("http://[::1]/hook", "internal address"),
    ("http://[fc00::1]/hook", "internal address"),
    ("http://[fd12:3456::1]/hook", "internal address"),
    ("http://[fe80::1]/hook", "internal address"),
    ("http://[::]/hook", "internal address"),
    ("http://[ff02::1]/hook", "internal address"),
    ("http://[::ffff:127.0.0.1]/hook", "internal address"),
    ("http://[::ffff:169.254.169.254]/hook", "internal address"),
    ("http://[::ffff:10.0.0.1]/hook", "internal address"),
    ("http://[2002:7f00:1::]/hook", "internal address"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/hook", "internal address"),  # NAT64 around 10.0.0.1
    # numeric forms the resolver reads as 127.0.0.1
    ("http://2130706433/hook", "usual dotted form"),
    ("http://0x7f000001/hook", "usual dotted form"),
    ("http://0177.0.0.1/hook", "usual dotted form"),
    ("http://0x7f.0.0.1/hook", "usual dotted form"),
    ("http://127.1/hook", "usual dotted form"),
    ("http://017700000001/hook", "usual dotted form"),
    ("http://127.000.000.001/hook", "usual dotted form"),
    # names resolving to internal addresses
    ("http://internal.example.test/hook", "internal address"),
    ("http://metadata.example.test/hook", "internal address"),
    ("http://mixed.example.test/hook", "internal address"),  # one private answer is enough
    ("http://mapped.example.test/hook", "internal address"),
    ("http://nowhere.example.test/hook", "could not be resolved"),
    ("not a url", "Only http and https"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_check_target_refuses(resolver, url, message):
    with pytest.raises(ValidationError) as refused:
        ssrf.check_target(url)
    assert list(refused.value.message_dict) == ["url"]
    assert message in refused.value.message_dict["url"][0]


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/"])
def test_numeric_forms_are_loopback_to_the_resolver_and_refused_anyway(url, resolver):
    host = url.split("/")[2]
    assert {info[4][0] for info in socket.getaddrinfo(host, 80)} == {"127.0.0.1"}
    with pytest.raises(ValidationError):
        ssrf.check_target(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.test/hook",
        "https://hooks.example.test:8443/hook?team=sb",
        f"https://{PUBLIC}/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
        "http://v6public.example.test/hook",
    ],
)
def test_public_targets_are_allowed(resolver, url):
    ssrf.check_target(url)


def test_resolved_target_keeps_the_checked_address_and_the_host(resolver):
    target = ssrf.resolve_target("https://hooks.example.test:8443/in?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        "hooks.example.test",
        8443,
        "/in?x=1",
        PUBLIC,
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.1.2.3/"]
)
def test_the_setting_allows_private_addresses(resolver, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    ssrf.check_target(url)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/hook", "http://user:pw@127.0.0.1/hook", "http://2130706433/", "file:///etc/passwd"]
)
def test_the_setting_keeps_the_scheme_and_credential_rules(resolver, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(ValidationError):
        ssrf.check_target(url)


# --- on create, on update ----------------------------------------------------------------------


@pytest.mark.parametrize("url", [url for url, _message in REFUSED[::3]] + ["not a url"])
def test_creating_a_webhook_to_a_refused_target_is_a_url_error(resolver, admin, project, url):
    with pytest.raises(ValidationError) as refused:
        webhooks.create_webhook(project=project, by=admin, url=url, events=["item.created"])
    assert "url" in refused.value.message_dict


def test_updating_a_webhook_to_an_internal_target_is_refused(resolver, admin, project):
    webhook = webhooks.create_webhook(
        project=project, by=admin, url="https://hooks.example.test/hook", events=["item.created"]
    )
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/", "http://0x7f000001/"):
        with pytest.raises(ValidationError) as refused:
            webhooks.update_webhook(webhook=webhook, by=admin, url=url)
        assert list(refused.value.message_dict) == ["url"]
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.example.test/hook"


# --- at delivery -------------------------------------------------------------------------------


def _created_delivery(project, admin) -> WebhookDelivery:
    with mock.patch.object(tasks.deliver_webhook, "apply_async"), transaction.atomic():
        backlog_services.create_item(project=project, by=admin, title="Rebind me")
    return WebhookDelivery.objects.get()


def test_dns_rebinding_a_name_public_at_create_and_private_at_delivery_is_refused(resolver, admin, project):
    with Receiver() as receiver:
        resolver.add("rebind.example.test", [PUBLIC], ["127.0.0.1"])
        webhooks.create_webhook(
            project=project, by=admin, url=f"http://rebind.example.test:{receiver.port}/hook", events=["item.created"]
        )
        delivery = _created_delivery(project, admin)
        tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.state == DeliveryState.PENDING
    assert delivery.attempts == 1
    assert "internal address" in delivery.error
    assert delivery.response_code is None


def test_delivery_connects_to_the_address_it_checked_with_the_original_host(resolver, admin, project, settings):
    """One lookup per delivery: the connection goes to that answer, whatever the name says a moment later."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with Receiver() as receiver:
        # The second answer (a closed port's host) would be used if the name were resolved twice.
        resolver.add("pinned.example.test", ["127.0.0.1"], ["127.0.0.1"], ["192.0.2.1"])
        webhooks.create_webhook(
            project=project, by=admin, url=f"http://pinned.example.test:{receiver.port}/in", events=["item.created"]
        )
        delivery = _created_delivery(project, admin)
        resolver.calls.clear()
        tasks.deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT, delivery.error
    # The name is looked up once; the connection then goes to the literal address (looked up as itself).
    assert [host for host in resolver.calls if host.endswith(".test")] == ["pinned.example.test"]
    assert receiver.requests[0].headers["Host"] == f"pinned.example.test:{receiver.port}"
    assert receiver.requests[0].path == "/in"


def test_https_verifies_the_certificate_for_the_host_name(resolver):
    target = ssrf.resolve_target("https://hooks.example.test/hook")
    connection = ssrf._PinnedHTTPSConnection(target, timeout=1)
    context = connection._context  # type: ignore[attr-defined]
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert context.check_hostname is True
    with mock.patch.object(socket, "create_connection") as create, mock.patch.object(context, "wrap_socket") as wrap:
        connection.connect()
    create.assert_called_once_with((PUBLIC, 443), 1)
    assert wrap.call_args.kwargs == {"server_hostname": "hooks.example.test"}
