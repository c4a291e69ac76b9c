"""tests.parallel: what keeps pytest-xdist workers apart (Redis database, ports, groups)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests import parallel

BASE_DIR = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent(
    """
    import json, os
    try:
        from tests import parallel
    except BaseException as error:
        print(json.dumps({"error": str(error)}))
    else:
        print(json.dumps({"redis": os.environ.get("REDIS_URL"), "run": os.environ.get(parallel.RUN_REDIS_URL)}))
    """
)


def import_as_worker(**env: str) -> dict:
    """What importing tests.parallel does to the environment of a process with ``env``."""
    clean = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_XDIST_", "SCRUMBOARD_TEST_"))
    }
    clean.pop("REDIS_URL", None)
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env={**clean, "PYTHONPATH": str(BASE_DIR), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


def test_worker_n_uses_the_runs_redis_database_plus_n():
    result = import_as_worker(REDIS_URL="redis://cache.test:6380/2", PYTEST_XDIST_WORKER="gw3")
    assert result == {"redis": "redis://cache.test:6380/5", "run": "redis://cache.test:6380/2"}


def test_a_url_without_a_database_counts_from_database_0():
    assert (
        import_as_worker(REDIS_URL="redis://cache.test", PYTEST_XDIST_WORKER="gw1")["redis"] == "redis://cache.test/1"
    )


def test_a_process_started_by_a_worker_keeps_the_workers_database():
    result = import_as_worker(
        REDIS_URL="redis://cache.test:6379/5",
        PYTEST_XDIST_WORKER="gw3",
        SCRUMBOARD_TEST_RUN_REDIS_URL="redis://cache.test:6379/2",
    )
    assert result["redis"] == "redis://cache.test:6379/5"


def test_a_serial_run_keeps_redis_url_as_it_is():
    assert import_as_worker(REDIS_URL="redis://cache.test:6379/2") == {
        "redis": "redis://cache.test:6379/2",
        "run": None,
    }


def test_a_worker_past_redis_databases_is_refused_with_the_reason():
    result = import_as_worker(REDIS_URL="redis://cache.test:6379/14", PYTEST_XDIST_WORKER="gw2")
    assert "database 14 + worker 2 is past Redis' 16 databases" in result["error"]


@pytest.mark.redis
def test_this_workers_cache_and_broker_use_its_redis_database():
    expected = parallel.redis_db(parallel.BASE_REDIS_URL) + parallel.worker_index()
    assert parallel.redis_db(django_settings.REDIS_URL) == expected
    assert django_settings.CELERY_BROKER_URL == django_settings.REDIS_URL
    assert django_settings.CACHES["default"]["LOCATION"] == django_settings.REDIS_URL


def test_ports_come_from_the_workers_block_one_after_another_and_are_free():
    first = parallel.PORT_BASE + parallel.worker_index() * parallel.PORTS_PER_WORKER
    ports = [parallel.free_port() for _ in range(5)]
    assert len(set(ports)) == 5
    assert all(first <= port < first + parallel.PORTS_PER_WORKER < 32768 for port in ports)
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def test_a_port_in_use_is_skipped(monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        monkeypatch.setattr(parallel, "_first_port", taken)
        monkeypatch.setattr(parallel, "_offsets", iter(range(parallel.PORTS_PER_WORKER)))
        port = parallel.free_port()
    assert taken < port < taken + parallel.PORTS_PER_WORKER  # the next free one after it (usually taken + 1)


@pytest.mark.parametrize(
    ("redis_url", "most"), [("", 16), ("redis://cache.test:6379/0", 16), ("redis://cache.test/14", 2)]
)
def test_auto_is_one_worker_per_core_within_the_redis_databases(monkeypatch, redis_url, most):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(parallel, "BASE_REDIS_URL", redis_url)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert parallel.pytest_xdist_auto_num_workers(config=None) == most
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert parallel.pytest_xdist_auto_num_workers(config=None) == 1


@pytest.fixture(scope="module")
def built_once():
    return object()


def test_users_of_a_module_scoped_fixture_share_a_group(request, built_once):
    assert request.node.get_closest_marker("xdist_group").args == ("tests/test_parallel.py",)
    if getattr(request.config.option, "loadgroup", False):  # an xdist worker: the scheduler reads the suffix
        assert request.node.nodeid.endswith("@tests/test_parallel.py")


def test_no_two_collected_tests_share_a_node_id(request):
    """xdist would run one of them (schemathesis' per-operation items share the function's id in pytest 9)."""
    counts = Counter(item.nodeid for item in request.session.items)
    assert [nodeid for nodeid, count in counts.items() if count > 1] == []


def test_other_tests_have_no_group(request):
    assert request.node.get_closest_marker("xdist_group") is None


def test_auto_leaves_an_explicit_count_to_xdist(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert parallel.pytest_xdist_auto_num_workers(config=None) is None
