"""docker-compose.yml: parses, refers only to what it defines or the repository holds, pins its images."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = {"web", "worker", "beat", "migrate"}
EXPECTED_SERVICES = APP_SERVICES | {"postgres", "redis", "vault", "vault-seed", "prometheus", "grafana"}
# Files other parts of issue 8 own; compose mounts them into Prometheus and Grafana.
OBSERVABILITY_MOUNTS = {
    "./deploy/prometheus/prometheus.yml": "/etc/prometheus/prometheus.yml",
    "./deploy/prometheus/alerts.yml": "/etc/prometheus/alerts.yml",
    "./deploy/grafana/provisioning": "/etc/grafana/provisioning",
    "./deploy/grafana/dashboards": "/var/lib/grafana/dashboards",
}
# Paths inside the containers, not temporary files of this process.
MULTIPROC_DIR = "/tmp/prometheus"  # noqa: S108
PINNED_TAG = re.compile(r"^[\w./-]+:(v?\d+\.\d+(\.\d+)?([.-][\w.-]+)?|dev)(@sha256:[0-9a-f]{64})?$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume in short syntax (source:target[:mode]) or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume.get("source", ""), volume["target"]))
        else:
            source, _, rest = volume.partition(":")
            mounts.append((source, rest.partition(":")[0]))
    return mounts


def test_the_full_stack_is_defined(services):
    assert set(services) == EXPECTED_SERVICES


def test_every_dependency_is_a_defined_service_with_a_condition(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with conditions"
        for dependency, options in depends_on.items():
            assert dependency in services, f"{name} depends on undefined service {dependency}"
            assert dependency != name
            assert options["condition"] in {
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            }
            if options["condition"] == "service_healthy":
                healthcheck = services[dependency].get("healthcheck", {})
                assert healthcheck.get("test") and not healthcheck.get("disable"), f"{dependency} has no healthcheck"


def test_app_processes_start_after_migrations_and_the_seeded_vault(services):
    for name in APP_SERVICES - {"migrate"}:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["vault-seed"] == {"condition": "service_completed_successfully"}, name
        assert depends_on["postgres"] == {"condition": "service_healthy"}, name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["vault-seed"]["restart"] == "no"


def test_one_image_runs_every_app_process(services):
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"scrumboard:dev"}
    assert services["web"]["command"] == ["gunicorn", "scrumboard.wsgi", "-c", "gunicorn.conf.py"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scrumboard", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scrumboard", "beat"]


def test_app_processes_read_secrets_from_the_dev_vault(services):
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["ENVIRONMENT"] == "dev"
        assert environment["VAULT_ADDR"] == "http://vault:8200"
        assert environment["VAULT_AUTH_METHOD"] == "token"
        # Secrets are seeded into Vault, never set here.
        for secret in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "WEBHOOK_SIGNING_KEY"):
            assert secret not in environment, f"{name}: {secret} belongs in Vault"
    assert services["vault"]["environment"]["VAULT_DEV_ROOT_TOKEN_ID"] == "dev-root-token"
    assert services["vault"]["command"] == ["server", "-dev"]
    seed = services["vault-seed"]
    assert ("./deploy/compose/vault-seed.sh", "/seed/vault-seed.sh") in _volumes(seed)
    script = (ROOT / "deploy" / "compose" / "vault-seed.sh").read_text()
    assert "vault kv put" in script and "scrumboard/dev" in script


def test_each_app_container_has_its_own_multiprocess_metrics_folder(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == MULTIPROC_DIR
        assert MULTIPROC_DIR in service["tmpfs"], name
        assert service["read_only"] is True, name


def test_every_named_volume_is_declared_and_used(compose, services):
    declared = set(compose.get("volumes", {}))
    used = set()
    for name, service in services.items():
        for source, _target in _volumes(service):
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
    assert used == declared


def test_every_file_mounted_from_the_repository_exists(services):
    for name, service in services.items():
        for source, _target in _volumes(service):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_prometheus_and_grafana_mount_their_provisioned_configuration(services):
    mounts = dict(_volumes(services["prometheus"])) | dict(_volumes(services["grafana"]))
    for source, target in OBSERVABILITY_MOUNTS.items():
        assert mounts.get(source) == target, source
        assert (ROOT / source).exists(), source
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]


def test_images_are_pinned_to_a_version_tag(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert PINNED_TAG.match(image), f"{name}: {image} is not pinned to a version tag"
        assert not image.endswith(":latest")


def test_no_credentials_but_the_dev_ones(services):
    allowed = {"dev-root-token", "scrumboard-dev"}
    pattern = re.compile(r"(TOKEN|PASSWORD|SECRET|KEY)", re.IGNORECASE)
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            if pattern.search(variable) and not variable.endswith(("_FILE", "_ID", "_PATH")):
                assert value in allowed, f"{name}: {variable} holds a credential"
    assert services["vault"]["environment"]["VAULT_DEV_ROOT_TOKEN_ID"] in allowed
    for line in COMPOSE.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if any(credential in line for credential in allowed):
            assert "# dev only" in line, f"a dev credential without its 'dev only' comment: {line.strip()}"


def test_services_with_ports_have_healthchecks(services):
    for name, service in services.items():
        if service.get("ports"):
            assert service["healthcheck"]["test"], name
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "/readyz" in web_check


def _mounted(service: dict[str, Any], path: str) -> bool:
    return any(path == target or path.startswith(target.rstrip("/") + "/") for _source, target in _volumes(service))


def test_prometheus_configuration_finds_its_rules_token_and_target(services):
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    prometheus = services["prometheus"]
    for rule_file in config.get("rule_files", []):
        assert _mounted(prometheus, str(Path("/etc/prometheus") / rule_file)), rule_file
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "scrumboard"]
    token_file = job["authorization"]["credentials_file"]
    assert _mounted(prometheus, token_file), token_file
    seed = services["vault-seed"]
    assert seed["environment"]["METRICS_TOKEN_FILE"].rsplit("/", 1)[-1] == token_file.rsplit("/", 1)[-1]
    # The token file travels in a volume both services mount.
    shared = {source for source, _ in _volumes(seed)} & {source for source, _ in _volumes(prometheus)}
    assert shared
    # /metrics is answered before host validation (scrumboard/health.py), so any host name works;
    # each target must be a compose service on the port it serves metrics on.
    ports = {"web": "8000", "worker": services["worker"]["environment"]["CELERY_METRICS_PORT"]}
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert sorted(target.partition(":")[0] for target in targets) == ["web", "worker"]
    for target in targets:
        host, _, port = target.partition(":")
        assert host in services and port == ports[host], target


def test_grafana_provisioning_reads_the_mounted_dashboards(services):
    providers = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards"
    paths = [
        provider["options"]["path"]
        for file in providers.glob("*.y*ml")
        for provider in yaml.safe_load(file.read_text()).get("providers", [])
    ]
    assert paths
    for path in paths:
        assert _mounted(services["grafana"], path), path
    datasources = ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
    urls = [
        source["url"]
        for file in datasources.glob("*.y*ml")
        for source in yaml.safe_load(file.read_text()).get("datasources", [])
    ]
    assert "http://prometheus:9090" in urls
