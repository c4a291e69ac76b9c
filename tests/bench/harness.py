"""What the sprints and notifications benchmarks share: arguments, the throwaway database's life
(migrate, seed, settle, measure, drop), the slowest queries' plans and writing the report.

A benchmark supplies three callables: ``seed()`` returns what it built, ``measure(seeded)``
returns its result, ``rows_of(result)`` the rows (each with ``name`` and ``slowest_query``) whose
slowest query gets an EXPLAIN, and ``render(Run)`` the report's Markdown.
"""

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.backlog import _database_version, _load_average, _stop_on_sigterm
from tests.bench.database import BenchDatabase, apply_environment

ROOT = Path(__file__).resolve().parents[2]


def parse_args(name: str, doc: str | None, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m tests.bench.{name}", description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke run, not figures to quote")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and temporary directory")
    parser.add_argument("--output", type=Path, default=None, help=f"report file (default var/bench/{name}-<vendor>.md)")
    return parser.parse_args(argv)


@dataclass
class Run:
    """One benchmark run, handed to ``render``."""

    database: BenchDatabase
    seeded: Any
    result: Any
    plans: list[tuple[str, float, str, str]]
    version: str
    setup: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    load_before: str = ""

    @property
    def load_after(self) -> str:
        return _load_average()


def explain_slowest(rows: Iterable[Any]) -> list[tuple[str, float, str, str]]:
    from tests.bench.measure import explain

    plans = []
    for row in rows:
        if row.slowest_query is None:
            continue
        seconds, sql = row.slowest_query
        try:
            plan = explain(sql)
        except Exception as error:  # a plan is a bonus; its failure must not lose the figures
            plan = f"(EXPLAIN failed: {type(error).__name__}: {error})"
        plans.append((row.name, seconds, sql, plan))
    return plans


def main(
    name: str,
    args: argparse.Namespace,
    *,
    what: str,
    seed: Callable[[], Any],
    measure: Callable[[Any], Any],
    rows_of: Callable[[Any], Iterable[Any]],
    render: Callable[[Run], str],
) -> int:
    _stop_on_sigterm()
    database = BenchDatabase.from_environment(os.environ.get("DATABASE_URL"))
    apply_environment(database)
    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise without collectstatic
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from tests.bench import seed as bench_seed

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a page under construction may 404 or fail
    started, load_before = time.perf_counter(), _load_average()
    setup: dict[str, float] = {}
    try:
        connections.close_all()
        database.recreate()
        print(f"bench: {database.vendor}: migrating and seeding {what}...", file=sys.stderr, flush=True)
        clock = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        setup["migrate"] = time.perf_counter() - clock
        clock = time.perf_counter()
        seeded = seed()
        setup["seed"] = time.perf_counter() - clock
        clock = time.perf_counter()
        bench_seed.settle()
        setup["settle"] = time.perf_counter() - clock
        print(f"bench: seeded in {setup['seed']:.1f} s; measuring...", file=sys.stderr, flush=True)
        version = _database_version()
        result = measure(seeded)
        plans = explain_slowest(rows_of(result))
    finally:
        connections.close_all()
        if args.keep_db:
            print(f"bench: kept {database.describe()} and {database.var_dir}", file=sys.stderr)
        else:
            database.drop()
    run = Run(database, seeded, result, plans, version, setup, time.perf_counter() - started, load_before)
    report = render(run)
    output = args.output or ROOT / "var" / "bench" / f"{name}-{database.vendor}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    print(report.split("\n## Plans")[0])
    print(f"Written to {output}, with the query plans.")
    return 0
