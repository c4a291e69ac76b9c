"""The backlog benchmark: how the backlog's reads and moves behave with 5,000 and 50,000 items.

    .venv/bin/python -m tests.bench.backlog [--sizes 5000,50000] [--quick] [--keep-db] [--no-server]

Runs against the configured database's kind (DATABASE_URL; SQLite when unset) but never on the
developer's data: a fresh ``scrumboard_bench`` database on that PostgreSQL server, or a SQLite file
in a temporary directory, migrated and seeded anew for every size. It measures, per size:

- in process, through Django's test client and the whole middleware stack: the first page of the
  items API, two filtered pages, two searches, the backlog page, and a move (median and p95
  latency, CPU and SQL time, queries per request, and for the move the write statements);
- through gunicorn on 127.0.0.1: the main reads under bounded concurrent load (requests per
  second, median and p95 latency, worker CPU per request).

It reports figures and never fails on them. The report is printed and written to
``var/bench/backlog-<vendor>.md``, with the plan of each row's slowest query on the items.
"""

import argparse
import datetime
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from tests.bench.database import BenchDatabase, apply_environment

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Profile:
    warmups: int
    repeats: int
    row_budget: float  # seconds of timed requests per in-process row, at most
    threads: int
    per_thread: int
    load_budget: float  # seconds of load per gunicorn row, at most
    workers: int = 2


FULL = Profile(warmups=3, repeats=30, row_budget=15, threads=8, per_thread=25, load_budget=20)
QUICK = Profile(warmups=1, repeats=8, row_budget=5, threads=4, per_thread=5, load_budget=8)
MOVER = 4000  # the item moved up to position 10 and back
MOVE_TARGET = 10


@dataclass
class SizeReport:
    size: int
    database_version: str = ""
    migrate_seconds: float = 0.0
    seed_seconds: float = 0.0
    settle_seconds: float = 0.0  # VACUUM ANALYZE on PostgreSQL
    rows: list = field(default_factory=list)  # measure.RowResult
    load: list = field(default_factory=list)  # server.LoadResult
    load_note: str = ""
    plans: list[tuple[str, float, str, str]] = field(default_factory=list)  # row, seconds, sql, plan


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.backlog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000", help="backlog sizes, comma-separated (default 5000,50000)")
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke run, not figures to quote")
    parser.add_argument("--keep-db", action="store_true", help="keep the last size's database and temporary directory")
    parser.add_argument("--no-server", action="store_true", help="skip the gunicorn load rows")
    parser.add_argument("--output", type=Path, default=None, help="report file (default var/bench/backlog-<vendor>.md)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(part.replace("_", "")) for part in args.sizes.split(",") if part.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 5000,50000")
    if not args.sizes or min(args.sizes) < 2 * MOVE_TARGET:
        parser.error(f"every size must be at least {2 * MOVE_TARGET}")
    return args


def _stop_on_sigterm() -> None:
    """SIGTERM (``timeout``, a CI runner) unwinds like Ctrl-C, so gunicorn and the database are cleaned up."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _stop_on_sigterm()
    profile = QUICK if args.quick else FULL
    database = BenchDatabase.from_environment(os.environ.get("DATABASE_URL"))
    apply_environment(database)
    # Without collectstatic WhiteNoise warns on every start; the benchmark serves no static files.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connections

    # A 404 per request while the backlog page is not built yet would bury the report.
    logging.getLogger("django.request").setLevel(logging.ERROR)

    started, load_before = time.perf_counter(), _load_average()
    reports: list[SizeReport] = []
    try:
        for size in args.sizes:
            connections.close_all()
            database.recreate()
            print(f"bench: {database.vendor}, {size:,} items: migrating and seeding...", file=sys.stderr, flush=True)
            reports.append(run_size(size, database, profile, server=not args.no_server))
    finally:
        connections.close_all()
        if args.keep_db:
            print(f"bench: kept {database.describe()} and {database.var_dir}", file=sys.stderr)
        else:
            database.drop()
    summary, details = render(reports, database, profile, wall=time.perf_counter() - started, load_before=load_before)
    output = args.output or ROOT / "var" / "bench" / f"backlog-{database.vendor}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(summary + "\n" + details)
    print(summary)
    print(f"Written to {output}, with the query plans.")
    return 0


def run_size(size: int, database: BenchDatabase, profile: Profile, *, server: bool) -> SizeReport:
    from django.core.management import call_command

    from tests.bench import seed

    report = SizeReport(size=size, database_version=_database_version())
    clock = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    report.migrate_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    bench = seed.seed_backlog(size)
    report.seed_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    seed.settle()
    report.settle_seconds = time.perf_counter() - clock
    print(f"bench: seeded in {report.seed_seconds:.1f} s; measuring in process...", file=sys.stderr, flush=True)
    report.rows = measure_in_process(bench, profile)
    explain_slowest(report)
    if server:
        print("bench: measuring through gunicorn...", file=sys.stderr, flush=True)
        measure_through_gunicorn(report, bench, database, profile)
    return report


@dataclass(frozen=True)
class Read:
    name: str
    path: str
    under_load: bool  # also driven through gunicorn


def _reads(bench) -> list[Read]:
    def items(**params) -> str:
        return f"/api/v1/projects/{bench.project.key}/items/?" + urlencode({**params, "limit": 50})

    filters = {"type": bench.filter_type, "label": bench.filter_label, "assignee": bench.filter_assignee}
    return [
        Read("items list, first page", items(), under_load=True),
        Read(f"filtered page ({', '.join(f'{k}={v}' for k, v in filters.items())})", items(**filters), True),
        Read(f"filtered page, one label (label={bench.filter_label})", items(label=bench.filter_label), False),
        Read(f"search, common word ({bench.common_word})", items(search=bench.common_word), True),
        Read(f"search, rare word ({bench.rare_word}, in 5 items)", items(search=bench.rare_word), False),
    ]


def _result_count(response) -> int | None:
    try:
        return len(response.json()["results"])
    except (ValueError, KeyError, TypeError):
        return None


def backlog_page_path(bench) -> str:
    return f"/projects/{quote(bench.project.key)}/backlog/"


def measure_in_process(bench, profile: Profile) -> list:
    from django.conf import settings
    from django.test import Client
    from rest_framework.test import APIClient

    from tests.bench.measure import RowResult, run_row

    api = APIClient(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {bench.token}")
    browser = Client(SERVER_NAME="127.0.0.1")
    browser.cookies[settings.SESSION_COOKIE_NAME] = bench.session_cookie
    knobs = {"warmups": profile.warmups, "repeats": profile.repeats, "budget": profile.row_budget}
    rows = [
        run_row(read.name, lambda _i, path=read.path: api.get(path), rows_of=_result_count, **knobs)
        for read in _reads(bench)
    ]

    page = run_row("backlog page (HTML)", lambda _i: browser.get(backlog_page_path(bench)), **knobs)
    if page.status == 404:
        page = RowResult(name=page.name, status=404, note="not built yet")
    rows.append(page)

    mover = min(MOVER, bench.size - 1)
    down = {"before": bench.key(mover + 1)}  # back to where it was
    up = {"before": bench.key(MOVE_TARGET)}
    path = f"/api/v1/projects/{bench.project.key}/items/{bench.key(mover)}/move/"

    def move(i: int):
        return api.post(path, up if i % 2 == 0 else down, format="json")

    rows.append(
        run_row(f"move ({bench.key(mover)} before {bench.key(MOVE_TARGET)} and back)", move, count_writes=True, **knobs)
    )
    _restore_order(bench, mover, lambda: api.post(path, down, format="json"))
    return rows


def _restore_order(bench, mover: int, move_back) -> None:
    """Leaves the mover between its old neighbours, so every run measures the same backlog."""
    from backlog.models import BacklogItem

    def ranks():
        numbers = (mover - 1, mover, mover + 1)
        found = dict(
            BacklogItem.objects.filter(project=bench.project, number__in=numbers).values_list("number", "rank")
        )
        return [found[n] for n in numbers]

    before, rank, after = ranks()
    if not before < rank < after:
        move_back()
        before, rank, after = ranks()
    if not before < rank < after:
        print(f"bench: warning: {bench.key(mover)} did not return to its place", file=sys.stderr)


def explain_slowest(report: SizeReport) -> None:
    from tests.bench.measure import explain

    for row in report.rows:
        if row.slowest_query is None:
            continue
        seconds, sql = row.slowest_query
        try:
            plan = explain(sql)
        except Exception as error:  # a plan is a bonus; its failure must not lose the figures
            plan = f"(EXPLAIN failed: {type(error).__name__}: {error})"
        report.plans.append((row.name, seconds, sql, plan))


def measure_through_gunicorn(report: SizeReport, bench, database: BenchDatabase, profile: Profile) -> None:
    from django.conf import settings
    from django.db import connections

    from tests.bench import server

    connections.close_all()  # the server's workers have the database to themselves
    api_headers = {"Authorization": f"Bearer {bench.token}", "Accept": "application/json"}
    targets = [(read.name, read.path, api_headers) for read in _reads(bench) if read.under_load]
    page = next(row for row in report.rows if row.name.startswith("backlog page"))
    if not page.latencies:
        report.load_note = f"backlog page: {page.note or 'no result in process'}"
    else:
        cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={bench.session_cookie}"}
        targets.append(("backlog page (HTML)", backlog_page_path(bench), cookie))
    log = database.var_dir / f"gunicorn-{report.size}.log"
    try:
        with server.gunicorn(database.environment(), workers=profile.workers, log=log) as running:
            for name, path, headers in targets:
                report.load.append(
                    server.load(
                        running,
                        name,
                        path,
                        headers,
                        threads=profile.threads,
                        per_thread=profile.per_thread,
                        budget=profile.load_budget,
                    )
                )
    except RuntimeError as error:
        report.load_note = f"gunicorn failed: {error}"
        print(f"bench: {report.load_note}", file=sys.stderr)


# --- the report ---------------------------------------------------------------------------


def _database_version() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def report_head(title: str, database: BenchDatabase, version: str, *, seeded: str, wall: float, quick: bool) -> list:
    """The first lines every benchmark report starts with: what ran, on what, when."""
    import django

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"# {title}",
        "",
        f"- Database: {version} (a throwaway database, {seeded}"
        + (", then VACUUM ANALYZE" if database.vendor == "postgresql" else "")
        + ")",
        f"- Machine: {cores} cores ({usable} usable), {platform.machine()}, {platform.system()} {platform.release()};"
        f" Python {platform.python_version()}, Django {django.get_version()}",
        f"- Code: {_commit()}; run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC in {wall:.0f} s"
        f"{' (--quick: few repetitions, not figures to quote)' if quick else ''}",
    ]


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" with uncommitted changes" if dirty else "")


def _load_average() -> str:
    try:
        return "/".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def render(
    reports: list[SizeReport], database: BenchDatabase, profile: Profile, *, wall: float, load_before: str
) -> tuple[str, str]:

    from tests.bench.measure import percentile

    version = reports[0].database_version if reports else database.vendor
    lines = [
        *report_head(
            f"Backlog benchmark: {database.vendor}",
            database,
            version,
            seeded="migrated and seeded anew for each size",
            wall=wall,
            quick=profile is QUICK,
        ),
        "- The load generator, gunicorn and the database share this machine's cores;"
        f" load average at start {load_before}, at end {_load_average()}.",
        "- In process: median and p95 are wall-clock; CPU ms is the benchmark thread's CPU time (Python, and on"
        " SQLite the database engine too: the figure least disturbed by other processes); SQL ms is the time"
        " inside the database driver's execute calls (medians; SQLite produces rows as they are fetched, so part"
        " of a scan there counts as CPU ms). rows: results on the page (API); KB: response body;"
        " queries are counted as"
        " django_assert_num_queries counts them (BEGIN and COMMIT included).",
        "- Through gunicorn: worker CPU ms/request is the CPU time gunicorn's workers used during the row (from"
        " /proc) divided by the requests: what a request costs the server, whatever else the machine runs.",
        "",
        f"## In process (Django test client, whole middleware stack, DEBUG=0; "
        f"{profile.warmups} warm-ups, then up to {profile.repeats} timed requests)",
        "",
        "| size | request | rows | KB | n | median ms | p95 ms | CPU ms | SQL ms | queries/request | writes/request |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for report in reports:
        for row in report.rows:
            if not row.latencies:
                note = row.note or (f"HTTP {row.status}" if row.status else "no result")
                lines.append(f"| {report.size:,} | {row.name} | - | - | - | {note} | - | - | - | - | - |")
                continue
            lines.append(
                f"| {report.size:,} | {row.name} | {'-' if row.rows is None else row.rows} | "
                f"{'-' if row.body_bytes is None else f'{row.body_bytes / 1024:.0f}'} | {len(row.latencies)} | "
                f"{row.median_ms:.1f} | {row.p95_ms:.1f} | {row.cpu_median_ms:.1f} | {row.sql_median_ms:.1f} | "
                f"{row.queries_text()} | {row.writes_text()} |"
            )
    lines += [
        "",
        f"## Through gunicorn (-w {profile.workers} sync workers on 127.0.0.1, {profile.threads} client threads "
        f"x up to {profile.per_thread} requests, at most {profile.load_budget:.0f} s per row)",
        "",
        "| size | request | ok / sent | req/s | median ms | p95 ms | worker CPU ms/request |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        for load in report.load:
            sent = load.completed + sum(load.errors.values())
            errors = ", ".join(f"{status} x{n}" for status, n in load.errors.items())
            if not load.latencies:
                lines.append(f"| {report.size:,} | {load.name} | 0 / {sent} | {load.note or errors} | - | - | - |")
                continue
            lines.append(
                f"| {report.size:,} | {load.name} | {load.completed} / {sent}{f' ({errors})' if errors else ''} | "
                f"{load.per_second:.1f} | {_ms(statistics.median(load.latencies))} | "
                f"{_ms(percentile(load.latencies, 0.95))} | "
                f"{'-' if load.server_cpu_ms is None else f'{load.server_cpu_ms:.1f}'} |"
            )
        if report.load_note:
            lines.append(f"| {report.size:,} | {report.load_note} | - | - | - | - | - |")
    lines += [
        "",
        "## Setup (not measured above)",
        "",
        "| size | migrate s | seed s | VACUUM ANALYZE s |",
        "|---:|---:|---:|---:|",
    ]
    for r in reports:
        settle = f"{r.settle_seconds:.1f}" if database.vendor == "postgresql" else "-"
        lines.append(f"| {r.size:,} | {r.migrate_seconds:.1f} | {r.seed_seconds:.1f} | {settle} |")
    summary = "\n".join(lines) + "\n"

    details = ["## Plans: the slowest query on the items in a median request of each row", ""]
    for report in reports:
        for name, seconds, sql, plan in report.plans:
            details += [
                f"### {report.size:,} items: {name} ({_ms(seconds)} ms)",
                "",
                "```sql",
                sql,
                "```",
                "",
                "```",
                plan,
                "```",
                "",
            ]
    return summary, "\n".join(details)


if __name__ == "__main__":
    sys.exit(main())
