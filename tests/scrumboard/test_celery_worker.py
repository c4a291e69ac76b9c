"""Celery for real: a worker process consuming from Redis, and the embedded filesystem broker."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.scrumboard.worker_tasks import MARK_TASK

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


def _wait_for(condition, *, timeout: float, interval: float = 0.2, worker: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"celery worker exited early with code {worker.returncode}")
        time.sleep(interval)
    return None


@pytest.mark.redis
def test_real_worker_runs_a_task_sent_through_redis(tmp_path):
    # A queue of its own on the test run's Redis database: the worker takes nothing the suite
    # publishes, and an earlier, interrupted run's message waits on a queue nobody reads.
    redis_url = os.environ["REDIS_URL"]
    queue = f"smoke-{uuid.uuid4().hex}"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        REDIS_URL=redis_url,
        SCRUMBOARD_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="scrumboard.settings",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
    )
    log_path = tmp_path / "worker.log"
    args = [
        str(CELERY), "-A", "scrumboard", "worker", "--include", "tests.scrumboard.worker_tasks",
        "--queues", queue, "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"{queue}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with log_path.open("w") as log:
        worker = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    key, value = f"smoke:{uuid.uuid4().hex}", uuid.uuid4().hex
    sender = Celery("smoke-sender", broker=redis_url, set_as_current=False)
    store = redis.Redis.from_url(redis_url)
    try:
        sender.send_task(MARK_TASK, args=[redis_url, key, value], queue=queue)
        seen = _wait_for(lambda: store.get(key), timeout=60, worker=worker)
        assert seen == value.encode(), log_path.read_text()
        assert _wait_for(lambda: f"Task {MARK_TASK}" in log_path.read_text(), timeout=10), log_path.read_text()
    finally:
        sender.close()
        store.close()
        worker.terminate()  # warm shutdown: finish the task at hand, then exit
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, log_path.read_text()


EMBEDDED_BROKER_PROBE = """
import json
from pathlib import Path

import django
django.setup()
from django.conf import settings
from scrumboard.celery import app

out = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
with app.connection_for_write() as connection:
    queue = connection.SimpleQueue("scrumboard-smoke")
    queue.put({"hello": "broker"})
    files_while_queued = len(list(out.iterdir()))
    message = queue.get(timeout=5)
    message.ack()
    queue.close()
    transport = type(connection.transport).__module__
print(json.dumps({"broker": app.conf.broker_url, "transport": transport, "folder": str(out),
                  "files_while_queued": files_while_queued, "payload": message.payload}))
"""


def test_embedded_broker_is_kombu_filesystem_transport_in_var(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(SCRUMBOARD_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="scrumboard.settings")
    completed = subprocess.run(
        [sys.executable, "-c", EMBEDDED_BROKER_PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])

    assert result["broker"] == "filesystem://"
    assert result["transport"] == "kombu.transport.filesystem"
    assert result["folder"] == str(tmp_path / "broker" / "out")
    assert result["files_while_queued"] >= 1
    assert list((tmp_path / "broker" / "control").glob("*.exchange")), "exchange table outside var/"
    assert result["payload"] == {"hello": "broker"}
