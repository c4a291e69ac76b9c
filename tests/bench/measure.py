"""Timing in process: Django's test client through the whole middleware stack, queries captured."""

import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext

WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 30 samples, p95 is the second slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def writes_of(queries: list[dict]) -> list[str]:
    """``UPDATE backlog_backlogitem`` for every write statement, in order."""
    found = []
    for query in queries:
        match = WRITE.match(query["sql"])
        if match:
            verb = match.group(1).split()[0].upper()
            found.append(f"{verb} {match.group(2)}")
    return found


@dataclass
class RowResult:
    name: str
    note: str = ""  # "not built yet", an error, ...
    status: int | None = None
    latencies: list[float] = field(default_factory=list)  # seconds
    query_counts: list[int] = field(default_factory=list)
    sql_seconds: list[float] = field(default_factory=list)  # time spent in the database driver, per request
    cpu_seconds: list[float] = field(default_factory=list)  # this thread's CPU time, per request
    rows: int | None = None  # results on the page
    body_bytes: int | None = None  # size of the last response body
    write_signatures: list[tuple[str, ...]] = field(default_factory=list)
    slowest_query: tuple[float, str] | None = None  # (seconds, sql) of a median-ish request
    writes_measured: bool = False

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def sql_median_ms(self) -> float:
        return statistics.median(self.sql_seconds) * 1000

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 0.95) * 1000

    def queries_text(self) -> str:
        if not self.query_counts:
            return "-"
        low, high = min(self.query_counts), max(self.query_counts)
        common = Counter(self.query_counts).most_common(1)[0][0]
        return str(common) if low == high else f"{common} ({low}-{high})"

    def writes_text(self) -> str:
        if not self.writes_measured or not self.write_signatures:
            return "-"
        counts = Counter(self.write_signatures)
        typical, _count = counts.most_common(1)[0]
        text = _signature_text(typical)
        others = [
            f"{_signature_text(sig)} in {n}/{len(self.write_signatures)}" for sig, n in counts.items() if sig != typical
        ]
        return text + (f"; other: {'; '.join(others)}" if others else "")


def _signature_text(signature: tuple[str, ...]) -> str:
    if not signature:
        return "0"
    per_statement = Counter(signature)
    return f"{len(signature)}: " + ", ".join(f"{statement} x{n}" for statement, n in per_statement.items())


def run_row(
    name: str,
    request: Callable[[int], object],
    *,
    warmups: int,
    repeats: int,
    budget: float,
    count_writes: bool = False,
    ok=(200,),
    rows_of: Callable[[object], int | None] | None = None,
) -> RowResult:
    """Runs ``request(i)`` ``warmups`` times untimed, then up to ``repeats`` times (or ``budget`` seconds)."""
    result = RowResult(name=name, writes_measured=count_writes)
    try:
        return _run(result, request, warmups, repeats, budget, count_writes, ok, rows_of)
    except Exception as error:  # a page under construction may raise; report it and measure the rest
        result.note = f"error: {type(error).__name__}: {error}"[:160]
        return result


def _run(result: RowResult, request, warmups, repeats, budget, count_writes, ok, rows_of) -> RowResult:
    for i in range(warmups):
        response = request(i)
        result.status = response.status_code
        if response.status_code not in ok:
            return result
    deadline = time.perf_counter() + budget
    captured: list[tuple[float, list[dict]]] = []
    for i in range(warmups, warmups + repeats):
        timer = _QueryTimer()
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timer):
            started, cpu_started = time.perf_counter(), time.thread_time()
            response = request(i)
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        result.status = response.status_code
        if response.status_code not in ok:
            result.note = f"HTTP {response.status_code}"
            break
        logged = queries.captured_queries
        if len(timer.seconds) == len(logged):  # the query log keeps milliseconds only: use our clock
            logged = [{**query, "time": f"{seconds:.6f}"} for query, seconds in zip(logged, timer.seconds, strict=True)]
        result.latencies.append(elapsed)
        result.cpu_seconds.append(cpu)
        result.query_counts.append(len(logged))
        result.sql_seconds.append(sum(timer.seconds))
        if count_writes:
            result.write_signatures.append(tuple(writes_of(logged)))
        if rows_of is not None:
            result.rows = rows_of(response)
        result.body_bytes = len(getattr(response, "content", b""))
        captured.append((elapsed, logged))
        if time.perf_counter() > deadline and len(result.latencies) >= 5:
            break
    if captured:
        _elapsed, median_queries = sorted(captured, key=lambda pair: pair[0])[len(captured) // 2]
        result.slowest_query = _query_to_explain(median_queries)
    return result


class _QueryTimer:
    """An execute wrapper: the time of each statement, as the driver takes it."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.append(time.perf_counter() - started)


def _seconds(query: dict) -> float:
    return float(query.get("time") or 0)


def _query_to_explain(queries: list[dict]) -> tuple[float, str] | None:
    """The slowest query on the backlog's items (the one that grows with the backlog), else the slowest."""
    on_items = [
        q for q in queries if 'FROM "backlog_backlogitem"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")
    ]
    chosen = max(on_items or queries, key=_seconds, default=None)
    return None if chosen is None else (_seconds(chosen), chosen["sql"])


def explain(sql: str) -> str:
    """The plan of a read query: EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return "(not a SELECT; not explained)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    # (id, parent, notused, detail): indent each step under its parent.
    depth = {0: -1}
    lines = []
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    return "\n".join(lines)
