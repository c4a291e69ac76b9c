"""Load through the real WSGI server: gunicorn on 127.0.0.1, bounded concurrent requests.

Only ever 127.0.0.1, on a port the kernel hands out; every loop is bounded in count and time,
and gunicorn is stopped when the block ends, also on error or Ctrl-C.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def gunicorn(
    environment: dict[str, str],
    *,
    workers: int,
    log: Path,
    startup_timeout: float = 60,
) -> Iterator[Gunicorn]:
    port = free_port()
    binary = Path(sys.executable).with_name("gunicorn")
    command = [
        str(binary),
        "scrumboard.wsgi",
        "-w",
        str(workers),
        "-b",
        f"{HOST}:{port}",
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Gunicorn(port=port, process=process, log=log)
    try:
        _wait_healthy(server, startup_timeout)
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: Gunicorn, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.tail()}")
        with contextlib.suppress(OSError):
            status, _body, _elapsed = request(server.port, "/healthz", {}, timeout=2)
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{server.tail()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn's master stops its own workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def workers_cpu_seconds(master_pid: int) -> float | None:
    """CPU time (user + system) used so far by gunicorn's workers, from /proc; None where there is none."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, found = 0, False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces: the fields start after its closing parenthesis.
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master_pid:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return total / ticks if found else None


def request(port: int, path: str, headers: dict[str, str], *, timeout: float = 60) -> tuple[int, int, float]:
    """One GET on a fresh connection (gunicorn's sync workers close it after each response)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, len(body), time.perf_counter() - started
    finally:
        connection.close()


@dataclass
class LoadResult:
    name: str
    threads: int
    planned: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[object, int] = field(default_factory=dict)  # status (or exception name) -> count
    wall: float = 0.0
    server_cpu: float | None = None  # seconds of gunicorn worker CPU during the timed requests
    note: str = ""

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.completed / self.wall if self.wall else 0.0

    @property
    def server_cpu_ms(self) -> float | None:
        sent = self.completed + sum(self.errors.values())
        return None if self.server_cpu is None or not sent else self.server_cpu / sent * 1000


def load(
    server: Gunicorn, name: str, path: str, headers: dict[str, str], *, threads: int, per_thread: int, budget: float
) -> LoadResult:
    """``threads`` clients, each sending up to ``per_thread`` requests until ``budget`` seconds pass."""
    result = LoadResult(name=name, threads=threads, planned=threads * per_thread)
    lock = threading.Lock()
    # Warm-up: every worker imports, connects and fills its caches before the clock starts.
    with ThreadPoolExecutor(threads) as pool:
        for status, _size, _elapsed in pool.map(lambda _: request(server.port, path, headers), range(threads)):
            if status != 200:
                result.note = f"HTTP {status} on warm-up"
                return result
    deadline = time.perf_counter() + budget
    stop = threading.Event()  # set when the run is interrupted: clients finish the request at hand and stop

    def client() -> None:
        for _ in range(per_thread):
            if stop.is_set() or time.perf_counter() > deadline:
                return
            try:
                status, _size, elapsed = request(server.port, path, headers)
            except OSError as error:
                status, elapsed = type(error).__name__, 0.0
            with lock:
                if status == 200:
                    result.latencies.append(elapsed)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    cpu_before = workers_cpu_seconds(server.process.pid)
    started = time.perf_counter()
    pool = ThreadPoolExecutor(threads)
    try:
        for future in [pool.submit(client) for _ in range(threads)]:
            future.result()
    finally:
        stop.set()
        pool.shutdown(wait=True)
    result.wall = time.perf_counter() - started
    cpu_after = workers_cpu_seconds(server.process.pid)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    return result
