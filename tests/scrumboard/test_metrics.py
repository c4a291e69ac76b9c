"""Prometheus: request, query and Celery task metrics, the scrape-time gauges, multiprocess sums, ``/metrics``."""

import datetime
import http.client
import os
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Kind, Notification
from retrospectives.models import ActionItem, Phase, Retrospective
from scrumboard import task_metrics
from scrumboard.celery import app
from scrumboard.metrics import exported_metric_names
from sprints.models import CommittedItem, Sprint, SprintState
from standups.models import Impediment, ImpedimentState
from tests.factories import make_project
from tests.metrics_contract import CONTRACT

TOKEN = "metrics-token-0f9c"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def metrics_client(client, settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.METRICS_TOKEN = TOKEN
    return client


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed: (sample name, sorted labels) → value."""
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


# --- requests ------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_method_and_status(client, developer):
    client.force_login(developer)
    ok = {"route": "projects:list", "method": "GET", "status": "200"}
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    before = value("scrumboard_http_requests_total", **ok), value("scrumboard_http_requests_total", **unmatched)
    latency = value("scrumboard_http_request_duration_seconds_count", route="projects:list", method="GET")

    assert client.get("/projects/").status_code == 200
    assert client.get("/projects/").status_code == 200
    assert client.get("/api/v1/no-such-thing/", secure=True).status_code == 404

    assert value("scrumboard_http_requests_total", **ok) - before[0] == 2
    assert value("scrumboard_http_requests_total", **unmatched) - before[1] == 1
    assert value("scrumboard_http_request_duration_seconds_count", route="projects:list", method="GET") - latency == 2
    assert value("scrumboard_http_request_duration_seconds_sum", route="projects:list", method="GET") > 0
    assert value("scrumboard_http_request_duration_seconds_bucket", route="projects:list", method="GET", le="+Inf")


def test_a_view_that_raises_counts_as_500(developer):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(developer)
    labels = {"route": "projects:list", "method": "GET", "status": "500"}
    before = value("scrumboard_http_requests_total", **labels)
    with mock.patch("projects.views.visible_projects", side_effect=RuntimeError("boom")):
        assert client.get("/projects/").status_code == 500
    assert value("scrumboard_http_requests_total", **labels) - before == 1


def test_an_unknown_method_is_one_other_series(client):
    before = value("scrumboard_http_requests_total", route="login", method="other", status="405")
    assert client.generic("BREW", "/accounts/login/").status_code == 405
    assert value("scrumboard_http_requests_total", route="login", method="other", status="405") - before == 1


def test_queries_per_request_counts_the_views_queries(client, developer, team):
    client.force_login(developer)
    client.get("/projects/")  # warm: the first request may load what later ones have cached
    count = value("scrumboard_db_queries_per_request_count", route="projects:list")
    total = value("scrumboard_db_queries_per_request_sum", route="projects:list")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/projects/").status_code == 200
    assert len(queries) > 0
    assert value("scrumboard_db_queries_per_request_count", route="projects:list") - count == 1
    assert value("scrumboard_db_queries_per_request_sum", route="projects:list") - total == len(queries)


def test_scrapes_are_not_counted_as_requests(metrics_client, db):
    before = value("scrumboard_http_requests_total", route="metrics", method="GET", status="200")
    metrics_client.get("/metrics", **AUTH)
    assert value("scrumboard_http_requests_total", route="metrics", method="GET", status="200") == before


# --- Celery tasks --------------------------------------------------------------------------------

SUCCEED, FAIL, FLAKY = (f"tests.scrumboard.test_metrics.{name}" for name in ("succeed", "fail", "flaky"))


@app.task(name=SUCCEED)
def succeed() -> int:
    return 1


@app.task(name=FAIL)
def fail() -> None:
    raise ValueError("no")


@app.task(name=FLAKY, bind=True, max_retries=3)
def flaky(self) -> str:
    if self.request.retries < 1:
        raise self.retry(countdown=0)
    return "second time"


def outcome(task: str, kind: str) -> float:
    return value("scrumboard_celery_tasks_total", task=task, outcome=kind)


def test_task_outcomes_and_durations_are_recorded():
    before = {
        "success": outcome(SUCCEED, "success"),
        "failure": outcome(FAIL, "failure"),
        "runs": value("scrumboard_celery_task_duration_seconds_count", task=SUCCEED),
    }
    assert succeed.apply().get() == 1
    assert succeed.apply().get() == 1
    assert fail.apply().failed()

    assert outcome(SUCCEED, "success") - before["success"] == 2
    assert outcome(FAIL, "failure") - before["failure"] == 1
    assert outcome(FAIL, "success") == 0
    assert value("scrumboard_celery_task_duration_seconds_count", task=SUCCEED) - before["runs"] == 2
    assert value("scrumboard_celery_task_duration_seconds_count", task=FAIL) >= 1


def test_a_retry_is_counted_then_the_run_that_succeeds():
    retries, successes = outcome(FLAKY, "retry"), outcome(FLAKY, "success")
    runs = value("scrumboard_celery_task_duration_seconds_count", task=FLAKY)
    flaky.apply()  # eagerly, the retry runs at once inside the first run
    assert outcome(FLAKY, "retry") - retries == 1
    assert outcome(FLAKY, "success") - successes == 1
    assert value("scrumboard_celery_task_duration_seconds_count", task=FLAKY) - runs == 2


# --- scrape-time gauges --------------------------------------------------------------------------


def completed_sprint(project, number: int, *, committed: list[int], carried: list[int], **report) -> Sprint:
    """A completed sprint as ``complete_sprint`` leaves it: frozen report, points columns, commitment."""
    start = datetime.date(2026, 1, 5) + datetime.timedelta(days=14 * (number - 1))
    sprint = Sprint.objects.create(
        project=project,
        number=number,
        name=f"Sprint {number}",
        start_date=start,
        end_date=start + datetime.timedelta(days=11),
        state=SprintState.COMPLETED,
        started_at=timezone.now(),
        completed_at=timezone.now(),
        committed_points=Decimal(report.get("committed_points", 0)),
        completed_points=Decimal(report.get("completed_points", 0)),
        report={
            "version": 1,
            "committed": {"points": report.get("committed_points", 0), "items": len(committed)},
            "scope_change": {
                "added_points": report.get("added", 0),
                "removed_points": report.get("removed", 0),
                "added": [],
                "removed": [],
                "changed": [],
            },
            "carry_over": [{"key": f"{project.key}-{n}", "title": "t", "points": 1} for n in carried],
        },
    )
    CommittedItem.objects.bulk_create(
        CommittedItem(sprint=sprint, item_id=10_000 + n, item_number=n, title=f"item {n}", points=1) for n in committed
    )
    return sprint


def closed_retrospective(project, *, done: int, open_: int) -> Retrospective:
    retrospective = Retrospective.objects.create(project=project, title="Retro", phase=Phase.CLOSED)
    ActionItem.objects.bulk_create(
        [ActionItem(retrospective=retrospective, text=f"a{i}", done=i < done) for i in range(done + open_)]
    )
    return retrospective


def gauges(client, name: str) -> dict[str, float]:
    return {dict(labels).get("project", ""): v for (sample, labels), v in scrape(client).items() if sample == name}


def test_team_health_gauges_on_scripted_sprints(metrics_client, team):
    project = team.project
    completed_sprint(project, 1, committed=[1, 2], carried=[], committed_points=10, completed_points=10)
    # The last completed sprint: 20 committed, 15 done; 3 of 4 committed items done (item 9 was added
    # during the sprint and carried over too: it was never committed); 4 added + 2 removed points.
    completed_sprint(
        project,
        2,
        committed=[3, 4, 5, 6],
        carried=[6, 9],
        committed_points=20,
        completed_points=15,
        added=4,
        removed=2,
    )
    Sprint.objects.create(
        project=project,
        number=3,
        name="Sprint 3",
        start_date=datetime.date(2026, 2, 16),
        end_date=datetime.date(2026, 2, 27),
        state=SprintState.ACTIVE,
    )
    closed_retrospective(project, done=3, open_=1)
    closed_retrospective(project, done=0, open_=2)
    Retrospective.objects.create(project=project, title="Still open", phase=Phase.WRITE).action_items.create(text="x")
    Impediment.objects.create(project=project, description="VPN", raised_on=datetime.date(2026, 2, 17))
    Impediment.objects.create(
        project=project, description="Old", raised_on=datetime.date(2026, 2, 1), state=ImpedimentState.RESOLVED
    )
    quiet = make_project(admin=team.admin, key="QT", name="Quiet")

    assert gauges(metrics_client, "scrumboard_team_commitment_accuracy_ratio") == {"SB": 0.75}
    assert gauges(metrics_client, "scrumboard_team_carry_over_ratio") == {"SB": 0.25}
    assert gauges(metrics_client, "scrumboard_team_scope_change_ratio") == {"SB": 0.3}
    assert gauges(metrics_client, "scrumboard_retrospective_action_completion_ratio") == {"SB": 0.5}
    assert gauges(metrics_client, "scrumboard_open_impediments") == {"SB": 1.0, quiet.key: 0.0}
    assert gauges(metrics_client, "scrumboard_active_sprints") == {"": 1.0}

    quiet.archived = True
    quiet.save()
    assert gauges(metrics_client, "scrumboard_open_impediments") == {"SB": 1.0}


def test_outbox_pending_and_readiness(metrics_client, developer):
    for subject in ("a", "b"):
        Notification.objects.create(
            recipient=developer,
            kind=Kind.MENTION,
            subject=subject,
            local_date=datetime.date(2026, 3, 3),
            title="t",
            next_attempt_at=timezone.now(),
        )
    samples = scrape(metrics_client)
    assert samples[("scrumboard_outbox_pending", ())] == 2
    assert samples[("scrumboard_ready", ())] == 1
    with mock.patch("scrumboard.health.broker_ready", return_value=False):
        samples = scrape(metrics_client)
    assert samples[("scrumboard_ready", ())] == 0
    assert not any(name == "scrumboard_celery_queue_length" for name, _labels in samples)
    assert samples[("scrumboard_outbox_pending", ())] == 2  # the database part still answers


def test_queue_length_counts_waiting_messages(metrics_client, db, tmp_path, monkeypatch):
    if django_settings.REDIS_URL:
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        client.delete("celery")
        client.rpush("celery", "one", "two", "three")
        try:
            samples = scrape(metrics_client)
        finally:
            client.delete("celery")
    else:
        # The filesystem broker: one file per message, named ``<stamp>_<id>.<queue>.msg``.
        folder = tmp_path / "broker"
        folder.mkdir()
        for _ in range(3):
            (folder / f"1700000000000_{uuid.uuid4()}.celery.msg").write_text("{}")
        (folder / f"1700000000000_{uuid.uuid4()}.other.msg").write_text("{}")
        options = {**app.conf.broker_transport_options, "data_folder_in": str(folder), "data_folder_out": str(folder)}
        monkeypatch.setitem(app.conf, "broker_transport_options", options)
        samples = scrape(metrics_client)
    assert samples[("scrumboard_celery_queue_length", (("queue", "celery"),))] == 3


def populate(count: int, admin) -> None:
    for _ in range(count):
        project = make_project(admin=admin)
        completed_sprint(project, 1, committed=[1, 2], carried=[2], committed_points=8, completed_points=5, added=1)
        closed_retrospective(project, done=1, open_=1)
        Impediment.objects.create(project=project, description="x", raised_on=datetime.date(2026, 2, 17))


@pytest.mark.parametrize("projects", [2, 12])
def test_a_scrape_runs_the_same_queries_whatever_the_number_of_projects(
    metrics_client, team, projects, django_assert_num_queries
):
    populate(projects, team.admin)
    # SELECT 1 (readiness), the outbox, the projects, the last sprints' commitments, their reports,
    # the retrospectives' action items.
    with django_assert_num_queries(6):
        samples = scrape(metrics_client)
    assert len([1 for name, _labels in samples if name == "scrumboard_team_carry_over_ratio"]) == projects


# --- /metrics ------------------------------------------------------------------------------------


def test_metrics_need_the_bearer_token(client, settings, db):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", **AUTH).status_code == 404


def test_secrets_never_appear_in_metrics(metrics_client, settings, developer):
    settings.SECRET_KEY = "django-secret-key-that-must-stay-hidden"
    metrics_client.force_login(developer)
    metrics_client.get(f"/projects/?token={TOKEN}&key={settings.SECRET_KEY}")
    succeed.apply(kwargs={}, headers={"secret": TOKEN})
    body = metrics_client.get("/metrics", **AUTH).content.decode()
    assert "scrumboard_http_requests_total" in body
    for secret in (TOKEN, settings.SECRET_KEY):
        assert secret not in body


def test_exported_names_cover_the_contract_and_what_metrics_writes(metrics_client, db):
    names = exported_metric_names()
    assert names >= CONTRACT
    assert {name for name in names if not name.startswith("scrumboard_")} == set()
    body = metrics_client.get("/metrics", **AUTH).content.decode()
    typed = {line.split()[2] for line in body.splitlines() if line.startswith("# TYPE scrumboard_")}
    assert typed <= names


# --- several processes ---------------------------------------------------------------------------

RECORDER = textwrap.dedent(
    """
    import django
    django.setup()
    from django.test import Client
    from scrumboard.celery import app

    @app.task(name="tests.metrics.process_task")
    def process_task():
        return 1

    client = Client(HTTP_HOST="localhost")
    for _ in range(int(__import__("sys").argv[1])):
        assert client.get("/accounts/login/", secure=True).status_code == 200  # secure: no HTTPS redirect
        process_task.apply()
    assert client.get("/api/v1/no-such-thing/", secure=True).status_code == 404
    """
)


def test_counts_from_several_processes_add_up(metrics_client, db, tmp_path, monkeypatch):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "VAULT_ADDR"}
    }
    env |= {
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "scrumboard.settings",
        "SCRUMBOARD_VAR_DIR": str(tmp_path / "var"),
        "ENVIRONMENT": "test",
    }
    for runs in (2, 3):
        subprocess.run([sys.executable, "-c", RECORDER, str(runs)], cwd=REPO, env=env, check=True, timeout=120)
    assert len({path.stem.rpartition("_")[2] for path in folder.glob("*.db")}) == 2  # two processes' files

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape(metrics_client)
    login = (("method", "GET"), ("route", "login"), ("status", "200"))
    assert samples[("scrumboard_http_requests_total", login)] == 5
    assert (
        samples[("scrumboard_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 2
    )
    task = (("outcome", "success"), ("task", "tests.metrics.process_task"))
    assert samples[("scrumboard_celery_tasks_total", task)] == 5
    assert samples[("scrumboard_celery_task_duration_seconds_count", (("task", "tests.metrics.process_task"),))] == 5
    assert samples[("scrumboard_ready", ())] == 1  # the scrape-time gauges come along in multiprocess mode


def test_gunicorn_config_marks_dead_workers(monkeypatch, tmp_path):
    namespace: dict = {}
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    exec(compile((REPO / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    assert namespace["bind"] == "0.0.0.0:9123"
    assert namespace["workers"] == 5
    assert namespace["accesslog"] == "-"
    with mock.patch("prometheus_client.multiprocess.mark_process_dead") as mark:
        namespace["child_exit"](None, mock.Mock(pid=4242))
    mark.assert_called_once_with(4242)
    assert "-c gunicorn.conf.py" in (REPO / "Procfile").read_text()


def test_the_worker_serves_its_own_figures_behind_the_token(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    succeed.apply()
    server = task_metrics.serve_metrics(0, TOKEN, address="127.0.0.1")

    def get(path: str, token: str | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
        try:
            connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    try:
        assert get("/metrics")[0] == 401
        assert get("/metrics", "nope")[0] == 401
        assert get("/", TOKEN)[0] == 404
        status, body = get("/metrics", TOKEN)
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    assert f'scrumboard_celery_tasks_total{{outcome="success",task="{SUCCEED}"}}' in body
    assert TOKEN not in body


def test_the_worker_serves_nothing_without_a_port_or_a_token(monkeypatch, settings):
    with mock.patch.object(task_metrics, "serve_metrics") as serve:
        monkeypatch.delenv("CELERY_METRICS_PORT", raising=False)
        task_metrics.on_worker_init()
        monkeypatch.setenv("CELERY_METRICS_PORT", "9808")
        settings.METRICS_TOKEN = ""
        task_metrics.on_worker_init()
        serve.assert_not_called()
        settings.METRICS_TOKEN = TOKEN
        task_metrics.on_worker_init()
        serve.assert_called_once_with(9808, TOKEN)


def test_metrics_answer_a_scrape_by_pod_ip_over_plain_http(client, settings):
    """Prometheus scrapes pods by IP over HTTP: no HTTPS redirect, no host check, the token still counts."""
    settings.METRICS_TOKEN = "scrape-token"
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["scrumboard.example.com"]
    scrape = client.get("/metrics", HTTP_HOST="10.1.2.3:8000", HTTP_AUTHORIZATION="Bearer scrape-token")
    assert scrape.status_code == 200
    assert b"scrumboard_http_requests_total" in scrape.content
    refused = client.get("/metrics", HTTP_HOST="10.1.2.3:8000", HTTP_AUTHORIZATION="Bearer wrong")
    assert refused.status_code == 401
    # Everything else from that host is still refused (host validation) or redirected.
    assert client.get("/projects/", HTTP_HOST="10.1.2.3:8000").status_code in {400, 301}
