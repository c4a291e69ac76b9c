"""pytest-xdist: each worker process gets a Redis database and a block of ports of its own.

Loaded with ``-p tests.parallel`` (pyproject's addopts), so this module is imported before
pytest-django loads the settings: the worker's REDIS_URL is in place when the cache and the Celery
broker read it, and reaches every process a test starts. ``cache.clear()`` (FLUSHDB) then empties
the worker's own database only. pytest-django gives each worker its own test database
(``test_<name>_gw0``; SQLite's is in memory), and live servers and receivers bind port 0.

A serial run (``-n0``, or plain ``pytest``) is worker 0 of 1 and keeps REDIS_URL as it is.
"""

import itertools
import os
import random
import socket
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_DATABASES = 16  # redis-server's default `databases`
# Ports handed out by number (a redis-server restarted on the port it had, an address where nothing
# listens) come from a block per worker below Linux's ephemeral range (32768-60999), from which the
# kernel picks port-0 binds and outgoing connections: no other worker nor the kernel takes them.
PORT_BASE = 20000
PORTS_PER_WORKER = 500
PORT_BLOCKS = (32768 - PORT_BASE) // PORTS_PER_WORKER

# The run's REDIS_URL as the controller has it; worker N uses its database + N. Kept in the
# environment too, so a process started by a worker does not count from the worker's database.
RUN_REDIS_URL = "SCRUMBOARD_TEST_RUN_REDIS_URL"
BASE_REDIS_URL = os.environ.get(RUN_REDIS_URL) or os.environ.get("REDIS_URL", "")


def worker_index() -> int:
    """0 for ``gw0`` and for a serial run."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def redis_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path else 0


def with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _use_the_workers_redis_db() -> None:
    if not BASE_REDIS_URL or "PYTEST_XDIST_WORKER" not in os.environ:
        return
    db = redis_db(BASE_REDIS_URL) + worker_index()
    if db >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL's database {redis_db(BASE_REDIS_URL)} + worker {worker_index()} is past Redis' "
            f"{REDIS_DATABASES} databases: run fewer workers (-n) or use a lower database number"
        )
    os.environ[RUN_REDIS_URL] = BASE_REDIS_URL
    os.environ["REDIS_URL"] = with_redis_db(BASE_REDIS_URL, db)


_use_the_workers_redis_db()

_first_port = PORT_BASE + (worker_index() % PORT_BLOCKS) * PORTS_PER_WORKER
_offsets = itertools.count(random.randrange(PORTS_PER_WORKER))


def free_port() -> int:
    """A port nothing listens on now, from this worker's block; the next call gives another one."""
    for _ in range(PORTS_PER_WORKER):
        port = _first_port + next(_offsets) % PORTS_PER_WORKER
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (a dev server, another run's test) or lingering in TIME_WAIT
        return port
    raise RuntimeError(f"no free port in {_first_port}-{_first_port + PORTS_PER_WORKER - 1}")


# tryfirst: before xdist's own, which counts physical cores when psutil is there; optional: a hook
# of xdist's, unknown (and never called) if it is not installed.
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: one worker per core this process may use, within the Redis databases and port blocks.

    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, is left to xdist.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0))
    databases_left = REDIS_DATABASES - redis_db(BASE_REDIS_URL) if BASE_REDIS_URL else REDIS_DATABASES
    return max(1, min(cores, databases_left, PORT_BLOCKS))


def _set_nodeid(item: pytest.Item, nodeid: str) -> None:
    """pytest 9 keeps an item's id in ``_id`` (a NodeId), pytest 8 in ``_nodeid``."""
    current = getattr(item, "_id", None)
    if current is not None and hasattr(type(current), "parse"):
        item._id = type(current).parse(nodeid)
    else:
        item._nodeid = nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Node ids xdist can schedule by, and groups for the tests that share a module-scoped fixture.

    xdist's scheduler keys tests by node id: items sharing one run once (schemathesis' items, one
    per API operation, all get the test function's id under pytest 9), so those get their name.
    Tests using a module-scoped fixture (the costly ones: makemessages over a copy of the tree,
    rendered workflows and manifests) go to one worker, which builds it once. xdist marks a group
    by suffixing the node id, which pytest 9.2 no longer lets it do (it sets ``_nodeid``; pytest-xdist
    issue 1386): done here, and left alone once xdist's own suffix shows.
    """
    seen = Counter(item.nodeid for item in items)
    for item in items:
        if seen[item.nodeid] > 1 and item.parent is not None:
            _set_nodeid(item, f"{item.parent.nodeid}::{item.name}")
    suffix_groups = getattr(config.option, "loadgroup", False)  # set in xdist's workers under --dist loadgroup
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _uses_a_module_scoped_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if suffix_groups and groups and "@" not in item.nodeid:
            _set_nodeid(item, f"{item.nodeid}@{'_'.join(sorted(groups))}")


def _uses_a_module_scoped_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs[-1].scope in ("module", "package") for defs in info.name2fixturedefs.values() if defs)
