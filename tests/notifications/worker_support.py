"""Real processes for the worker tests: a throwaway redis-server, Celery workers, the mail log.

Each test gets a redis-server of its own (no persistence) on a port from its xdist worker's block
(``tests.parallel.free_port``), so stopping it disturbs nothing else, and restarting it finds the
port still free; and workers that read the test database. Everything started here is stopped by
the caller's fixture teardown.
"""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from kombu import pools
from redis.backoff import NoBackoff
from redis.retry import Retry

from scrumboard.celery import app
from tests.notifications import worker_backends
from tests.parallel import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
MAIL_BACKEND = f"{worker_backends.__name__}.MailLogBackend"

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    workers: "tuple[Worker, ...]" = (),
) -> T | None:
    """``condition()``'s first truthy value, or None after ``timeout``; fails if a worker dies."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value or None
        for worker in workers:
            if not worker.alive():
                pytest.fail(f"celery worker exited early with code {worker.returncode}:\n{worker.log()}")
        time.sleep(interval)


def _die_with_the_test() -> None:
    """Runs in the child before exec: the kernel kills it if the test process dies first (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(args: list[str], *, log_path: Path, mode: str = "w", **kwargs: Any) -> subprocess.Popen:
    """A process in a session (process group) of its own, output to ``log_path``."""
    with log_path.open(mode) as log:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_the_test,
            **kwargs,
        )


def _stop(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM, then SIGKILL for the whole process group (the process leads its own session)."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children left behind, if any
    process.wait()


class RedisServer:
    """``redis-server`` on a free port, without persistence; ``stop()`` and ``start()`` keep the port."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable, "redis-server is not installed"
        args = [
            executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(self.directory), "--logfile", "",
        ]  # fmt: skip
        self.process = _spawn(args, log_path=self.directory / "redis.log", mode="a")
        if not wait_for(self.ping, timeout=10):
            self.stop()
            pytest.fail(f"redis-server did not answer on port {self.port}:\n{self.log()}")

    def ping(self) -> bool:
        # No retries: redis-py's default backs off for seconds before reporting a refused connection.
        client = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, timeout=10)
            self.process = None

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text() if path.exists() else ""


def database_url_for_worker() -> str:
    """The URL of the database this test uses (pytest-django's test database), for another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


# Variables of the test run that must not reach the worker (it gets its own below).
_NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "EMAIL_", "CELERY_", "PROMETHEUS_MULTIPROC_DIR")


def worker_environment(*, redis_url: str, var_dir: Path, mail_log: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_NOT_INHERITED)}
    var_dir.mkdir(parents=True, exist_ok=True)
    env.update(
        DATABASE_URL=database_url_for_worker(),
        REDIS_URL=redis_url,
        SCRUMBOARD_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="scrumboard.settings",
        EMAIL_BACKEND=MAIL_BACKEND,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
        **{worker_backends.MAIL_LOG: str(mail_log)},
        **extra,
    )
    return env


class Worker:
    """``celery worker`` (prefork, one child) in a process group of its own."""

    def __init__(self, *, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        args = [
            str(CELERY), "-A", "scrumboard", "worker", "--loglevel", "INFO", "--concurrency", "1",
            "--hostname", f"notifications-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        self.process = _spawn(args, log_path=log_path, cwd=BASE_DIR, env=env)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 30) -> None:
        if not wait_for(lambda: " ready." in self.log(), timeout=timeout, workers=(self,)):
            pytest.fail(f"celery worker not ready after {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL for the worker and its pool children at once: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Warm shutdown (finish the task at hand), then SIGKILL whatever is left."""
        _stop(self.process, timeout=10)


def reset_publisher() -> None:
    """Drops the test process's pooled broker connections: the next publish connects afresh."""
    pools.reset()
    app._pool = None
    amqp: Any = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """The test process's Celery app (read from settings at import) publishes to ``url`` meanwhile."""
    saved = app.conf.broker_url
    app.conf.broker_url = url
    reset_publisher()
    assert app.conf.broker_write_url == url, "CELERY_BROKER_(WRITE_)URL in the environment overrides the test"
    try:
        yield
    finally:
        app.conf.broker_url = saved
        reset_publisher()


def mail_sent(path: Path) -> Counter[tuple[str, str]]:
    """(recipient, subject) of every message the workers' backend wrote, counted."""
    if not path.exists():
        return Counter()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return Counter((address, line["subject"]) for line in lines for address in line["to"])
