"""Fixtures for tests with a real Celery worker on a redis-server of their own (PostgreSQL only).

Import them into the test module that uses them (``from tests.worker import redis_server, ...``):
``redis_server`` (the test process publishes to it meanwhile), ``mail_log`` (what the workers'
e-mail backend sent) and ``start_worker(**env)``. The processes themselves are in
``tests.notifications.worker_support``.
"""

import pytest
from django.db import connection

from scrumboard import outbox
from tests.notifications.worker_support import RedisServer, Worker, publishing_to, worker_environment


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own; the test process publishes to it meanwhile."""
    outbox.resume()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        with publishing_to(server.url):
            yield server
    finally:
        server.stop()
        outbox.resume()  # a refusal while it was down must not pause the next test's publishing


@pytest.fixture
def mail_log(tmp_path):
    return tmp_path / "mail.log"


@pytest.fixture
def start_worker(transactional_db, redis_server, mail_log, tmp_path):
    """``start_worker(**env)`` starts a worker on the test's Redis and database; all are stopped after."""
    if connection.vendor != "postgresql":  # another process cannot share an SQLite test database
        pytest.fail(f"the worker tests need PostgreSQL, not {connection.vendor}")
    workers: list[Worker] = []

    def start(**extra_env: str) -> Worker:
        env = worker_environment(redis_url=redis_server.url, var_dir=tmp_path / "var", mail_log=mail_log, **extra_env)
        worker = Worker(env=env, log_path=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
