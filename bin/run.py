"""Runs every process in a Procfile together (as honcho or foreman do) and stops them gently.

Ctrl-C or SIGTERM sends SIGTERM to each process itself, not to its whole process group,
so gunicorn and Celery stop their own children: the Celery worker's warm shutdown
finishes the task at hand instead of having its pool killed under it. Whatever still
runs after ``--grace`` seconds (or after a second Ctrl-C) is killed. When one process
exits on its own, the others are stopped too and its exit code is returned.

Usage: python bin/run.py [--procfile Procfile] [--grace 30]
"""

import argparse
import contextlib
import datetime
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, command = line.partition(":")
        if not colon or not name.strip() or not command.strip():
            raise SystemExit(f"{path}:{number}: expected 'name: command', got {raw!r}")
        entries.append((name.strip(), command.strip()))
    if not entries:
        raise SystemExit(f"{path}: no processes")
    return entries


class Supervisor:
    def __init__(self, entries: list[tuple[str, str]], *, grace: float) -> None:
        self.entries = entries
        self.grace = grace
        self.width = max(len(name) for name, _ in [*entries, ("system", "")])
        self.output_lock = threading.Lock()
        self.wake = threading.Event()
        self.signals = 0
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.readers: list[threading.Thread] = []

    def say(self, name: str, text: str) -> None:
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        with self.output_lock:
            sys.stdout.write(f"{stamp} {name:<{self.width}} | {text}\n")
            sys.stdout.flush()

    def _relay(self, name: str, process: subprocess.Popen[bytes]) -> None:
        for line in process.stdout or ():
            self.say(name, line.decode(errors="replace").rstrip("\n"))

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self.wake.set()

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.signals += 1
        self.wake.set()
        if self.signals > 1:  # a second Ctrl-C: no more waiting
            self.kill_all()

    def start(self) -> None:
        for name, command in self.entries:
            # exec: the pid we signal is the program itself, not a shell around it. A session
            # of its own keeps the terminal's Ctrl-C away from it: the supervisor decides.
            process = subprocess.Popen(  # noqa: S603 - commands come from the project's Procfile
                ["/bin/sh", "-c", f"exec {command}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes[name] = process
            self.say("system", f"{name} started (pid {process.pid}): {command}")
            relay = threading.Thread(target=self._relay, args=(name, process), daemon=True)
            relay.start()
            self.readers.append(relay)
            threading.Thread(target=self._watch, args=(process,), daemon=True).start()

    def first_exit(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                self.say("system", f"stopping {name} (SIGTERM to pid {process.pid})")
                process.terminate()
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=self.grace)
        for name, process in self.processes.items():
            remaining = (deadline - datetime.datetime.now()).total_seconds()
            try:
                process.wait(timeout=max(remaining, 0.01))
            except subprocess.TimeoutExpired:
                self.say("system", f"{name} still running after {self.grace:g}s: killing it")
        self.kill_all()

    def kill_all(self) -> None:
        # Also takes down anything a process left behind in its group.
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.start()
        while not self.signals and self.first_exit() is None:
            self.wake.wait()
            self.wake.clear()
        exited = None if self.signals else self.first_exit()
        if exited:
            self.say("system", f"{exited[0]} exited with code {exited[1]}: stopping the others")
        self.stop_all()
        for process in self.processes.values():
            process.wait()
        for thread in self.readers:
            thread.join(timeout=2)
        for name, process in self.processes.items():
            self.say("system", f"{name} stopped (code {process.returncode})")
        if exited:
            return exited[1] or 1
        return 0


def prepare_metrics_dir(environ: "os._Environ[str] | dict[str, str]") -> Path:
    """One Prometheus multiprocess directory shared by web and worker processes, emptied at start.

    prometheus-client keeps each process's counters in files there and ``/metrics`` adds them
    up; files left by an earlier run would count twice.
    """
    if not environ.get("PROMETHEUS_MULTIPROC_DIR"):
        var = Path(environ.get("SCRUMBOARD_VAR_DIR") or Path(__file__).resolve().parents[1] / "var")
        environ["PROMETHEUS_MULTIPROC_DIR"] = str(var / "prometheus")
    folder = Path(environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=Path("Procfile"))
    parser.add_argument("--grace", type=float, default=30, help="seconds to wait for a clean stop (default 30)")
    args = parser.parse_args()
    prepare_metrics_dir(os.environ)
    return Supervisor(read_procfile(args.procfile), grace=args.grace).run()


if __name__ == "__main__":
    sys.exit(main())
