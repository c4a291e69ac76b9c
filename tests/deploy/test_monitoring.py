"""Prometheus and Grafana configuration: the files parse and have the expected shape, compose mounts
them where they point, and every metric an alert or a dashboard panel queries is one the app really
exports (scraped from /metrics here) and one the metrics contract names."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.metrics_contract import CONTRACT

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")
METRIC_NAME = re.compile(r"\bscrumboard_[a-z_]+")
DASHBOARD_NAMES = {
    "scrumboard-traffic",
    "scrumboard-latency",
    "scrumboard-errors",
    "scrumboard-celery",
    "scrumboard-reminders",
    "scrumboard-scrum",
}


def metric_names(expr: str) -> set[str]:
    """The scrumboard metrics an expression reads, histogram series named by their histogram."""
    return {HISTOGRAM_SERIES.sub("", name) for name in METRIC_NAME.findall(expr)}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return _yaml(PROMETHEUS / "prometheus.yml")


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = _yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return panels


def _dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = [target["expr"] for panel in _panels(dashboard) for target in panel["targets"]]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else query or "")
    return exprs


def _compose_mounts(service: str) -> dict[str, str]:
    """Container path → host path (or volume name) of a docker compose service's mounts."""
    compose = _yaml(ROOT / "docker-compose.yml")
    mounts = {}
    for volume in compose["services"][service].get("volumes", []):
        source, target, *_ = volume.split(":")
        mounts[target] = source
    return mounts


# --- Prometheus -----------------------------------------------------------------------------------


def test_the_scrumboard_job_scrapes_metrics_with_the_token_from_a_file(prometheus):
    job = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "scrumboard")
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert "credentials" not in job["authorization"], "the token is read from a file, never written here"
    assert job["authorization"]["credentials_file"].startswith("/")
    targets = {config["labels"]["component"]: config["targets"] for config in job["static_configs"]}
    # The web processes, and the worker, which serves its own figures on CELERY_METRICS_PORT.
    assert targets == {"web": ["web:8000"], "worker": ["worker:9808"]}


def test_compose_runs_the_scraped_services_on_those_ports(prometheus):
    compose = _yaml(ROOT / "docker-compose.yml")
    worker_env = compose["services"]["worker"].get("environment", {})
    assert worker_env.get("CELERY_METRICS_PORT") == "9808", "the worker must serve what Prometheus scrapes"
    assert "8000" in str(compose["services"]["web"].get("ports", []))


def test_compose_mounts_the_config_rules_and_token_where_prometheus_reads_them(prometheus):
    mounts = _compose_mounts("prometheus")
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    (rule_file,) = prometheus["rule_files"]
    assert mounts[rule_file] == "./deploy/prometheus/alerts.yml"
    job = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "scrumboard")
    token_dir = str(Path(job["authorization"]["credentials_file"]).parent)
    assert token_dir in mounts, "the token file lives in a mounted volume"


def test_alert_rules_have_the_expected_shape():
    groups = _yaml(PROMETHEUS / "alerts.yml")["groups"]
    assert len({group["name"] for group in groups}) == len(groups)
    names = []
    for group in groups:
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"]
            assert re.fullmatch(r"\d+[smh]", rule["for"])
            names.append(rule["alert"])
    assert len(set(names)) == len(names)


def test_alerts_cover_errors_latency_backlog_readiness_and_notifications(rules):
    exprs = {rule["alert"]: " ".join(rule["expr"].split()) for rule in rules}
    assert any(
        'scrumboard_http_requests_total{status=~"5.."}' in expr and "/ sum(rate(scrumboard_http_requests_total" in expr
        for expr in exprs.values()
    ), "error rate: the 5xx share of requests"
    assert any(
        "histogram_quantile(0.95" in expr and "scrumboard_http_request_duration_seconds_bucket" in expr
        for expr in exprs.values()
    ), "latency p95"
    assert any("scrumboard_celery_queue_length" in expr for expr in exprs.values()), "Celery backlog"
    assert "scrumboard_ready == 0" in exprs.values()
    assert 'up{job="scrumboard"} == 0' in exprs.values()
    assert any("scrumboard_notifications_failed_total" in expr for expr in exprs.values()), "notification failures"


def test_alerts_query_only_contract_metrics(rules):
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names <= CONTRACT, f"{rule['alert']}: {names - CONTRACT}"
        assert names or 'up{job="scrumboard"}' in rule["expr"], rule["alert"]


def test_metric_names_are_read_from_expressions():
    expr = (
        "histogram_quantile(0.95, sum by (le) (rate(scrumboard_http_request_duration_seconds_bucket[5m])))"
        " / sum(rate(scrumboard_http_requests_total[5m])) + scrumboard_reminder_tick_seconds_count"
    )
    assert metric_names(expr) == {
        "scrumboard_http_request_duration_seconds",
        "scrumboard_http_requests_total",
        "scrumboard_reminder_tick_seconds",
    }


# --- Grafana --------------------------------------------------------------------------------------


def test_the_datasource_is_the_compose_prometheus():
    (datasource,) = _yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"


def test_the_dashboard_provider_loads_the_mounted_dashboards():
    (provider,) = _yaml(GRAFANA / "provisioning" / "dashboards" / "scrumboard.yml")["providers"]
    assert provider["type"] == "file"
    mounts = _compose_mounts("grafana")
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"


def test_the_dashboards_the_issue_asks_for_exist(dashboards):
    assert {dashboard["uid"] for dashboard in dashboards.values()} == DASHBOARD_NAMES


def test_every_dashboard_is_valid_grafana_json(dashboards):
    titles = set()
    for name, dashboard in dashboards.items():
        assert dashboard["uid"] and len(dashboard["uid"]) <= 40, name
        assert dashboard["title"], name
        titles.add(dashboard["title"])
        assert isinstance(dashboard["schemaVersion"], int), name
        assert dashboard["panels"], name
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(set(ids)) == len(ids), f"{name}: panel ids repeat"
    assert len(titles) == len(dashboards)


def test_every_panel_queries_the_provisioned_prometheus(dashboards):
    for name, dashboard in dashboards.items():
        for panel in _panels(dashboard):
            where = f"{name}: {panel['title']}"
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, where
            assert set(panel["gridPos"]) == {"x", "y", "w", "h"}, where
            assert panel["targets"], where
            refs = [target["refId"] for target in panel["targets"]]
            assert len(set(refs)) == len(refs), where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                reads = metric_names(target["expr"]) or 'up{job="scrumboard"}' in target["expr"]
                assert reads, f"{where}: {target['expr']} reads no scrumboard metric"


def test_the_latency_dashboard_shows_p50_p95_p99(dashboards):
    exprs = " ".join(_dashboard_exprs(dashboards["latency.json"]))
    for quantile in ("0.50", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}" in exprs


def test_dashboards_query_only_contract_metrics(dashboards):
    for name, dashboard in dashboards.items():
        for expr in _dashboard_exprs(dashboard):
            assert metric_names(expr) <= CONTRACT, f"{name}: {metric_names(expr) - CONTRACT}"


def test_the_dashboards_show_every_contract_metric(dashboards):
    shown = set().union(*(metric_names(expr) for d in dashboards.values() for expr in _dashboard_exprs(d)))
    assert shown == CONTRACT


# --- What the app exports -------------------------------------------------------------------------


@pytest.fixture
def exported(client, settings) -> set[str]:
    """Metric names in the app's /metrics (its HELP and TYPE lines), after one ordinary request."""
    settings.METRICS_TOKEN = "test-metrics-token"
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token")
    assert response.status_code == 200
    names = set()
    for line in response.content.decode().splitlines():
        match = re.match(r"# (?:HELP|TYPE) (\S+)", line)
        if match:
            names.add(match.group(1))
    return names


@pytest.mark.django_db
def test_every_metric_a_dashboard_queries_is_exported(dashboards, exported):
    for name, dashboard in dashboards.items():
        for expr in _dashboard_exprs(dashboard):
            missing = metric_names(expr) - exported
            assert not missing, f"{name}: {expr} queries {sorted(missing)}, which /metrics does not export"


@pytest.mark.django_db
def test_every_metric_an_alert_queries_is_exported(rules, exported):
    for rule in rules:
        missing = metric_names(rule["expr"]) - exported
        assert not missing, f"{rule['alert']} queries {sorted(missing)}, which /metrics does not export"
