"""The benchmark's own throwaway database, chosen from DATABASE_URL before Django starts.

Never the developer's database: on PostgreSQL a database called ``scrumboard_bench`` on the
server DATABASE_URL names (dropped and created afresh), on SQLite a file in a temporary
SCRUMBOARD_VAR_DIR. Imports nothing from Django, so it can run before settings are read.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

BENCH_DATABASE = "scrumboard_bench"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")


@dataclass
class BenchDatabase:
    vendor: str  # "sqlite" or "postgresql"
    url: str  # the DATABASE_URL the benchmark (and its gunicorn) use
    var_dir: Path  # a temporary SCRUMBOARD_VAR_DIR: secret key, cache, broker, SQLite file

    @classmethod
    def from_environment(cls, configured_url: str | None) -> "BenchDatabase":
        var_dir = Path(tempfile.mkdtemp(prefix="scrumboard-bench-"))
        scheme = urlsplit(configured_url).scheme if configured_url else "sqlite"
        if scheme in POSTGRES_SCHEMES:
            parts = urlsplit(configured_url)
            url = urlunsplit((parts.scheme, parts.netloc, "/" + BENCH_DATABASE, parts.query, ""))
            return cls(vendor="postgresql", url=url, var_dir=var_dir)
        if scheme == "sqlite":
            return cls(vendor="sqlite", url=f"sqlite:///{var_dir / 'bench.sqlite3'}", var_dir=var_dir)
        shutil.rmtree(var_dir, ignore_errors=True)
        raise SystemExit(f"bench: unsupported database {scheme!r} in DATABASE_URL (PostgreSQL or SQLite)")

    def environment(self) -> dict[str, str]:
        """What the benchmark process and its gunicorn run with: plain HTTP, no debug."""
        return {
            "DATABASE_URL": self.url,
            "SCRUMBOARD_VAR_DIR": str(self.var_dir),
            "ENVIRONMENT": "dev",
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "ERROR",  # not a line per 404 (the backlog page may not exist yet)
        }

    def recreate(self) -> None:
        """An empty database (the caller closes Django's connections first)."""
        if self.vendor == "postgresql":
            with self._maintenance() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        else:
            self._remove_sqlite_files()

    def drop(self) -> None:
        if self.vendor == "postgresql":
            with self._maintenance() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def describe(self) -> str:
        if self.vendor == "postgresql":
            parts = urlsplit(self.url)
            return f"PostgreSQL database {BENCH_DATABASE} on {parts.hostname or 'local socket'}:{parts.port or 5432}"
        return f"SQLite file {self.var_dir / 'bench.sqlite3'}"

    def _remove_sqlite_files(self) -> None:
        base = self.var_dir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)

    def _maintenance(self):
        """A cursor on the server's ``postgres`` database, in autocommit (CREATE DATABASE needs it)."""
        import contextlib

        import psycopg2

        parts = urlsplit(self.url)
        params = {
            "dbname": "postgres",
            "host": parts.hostname or None,
            "port": parts.port or None,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
        }

        @contextlib.contextmanager
        def cursor():
            connection = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
            connection.autocommit = True
            try:
                with connection.cursor() as cur:
                    yield cur
            finally:
                connection.close()

        return cursor()


def apply_environment(database: BenchDatabase) -> None:
    os.environ.update(database.environment())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrumboard.settings")
