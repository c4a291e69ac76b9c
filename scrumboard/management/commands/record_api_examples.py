import json
from pathlib import Path

from django.core.management.base import BaseCommand
from django.test import override_settings
from django.test.utils import setup_databases, setup_test_environment, teardown_databases, teardown_test_environment

from scrumboard import outbox
from scrumboard.api_examples import EXAMPLES_FILE
from scrumboard.api_examples_recorder import record_examples
from scrumboard.celery import app

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class Command(BaseCommand):
    help = (
        "Records the OpenAPI examples (scrumboard/api_examples.json): the demo project in a throwaway "
        "database, every operation called once as its administrator. Never touches your database or broker."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--file", type=Path, default=EXAMPLES_FILE, help="Where to write (default: %(default)s).")

    def handle(self, *args, **options) -> None:
        setup_test_environment()  # the test client's host name, e-mail kept in memory
        # The test runner's database: an in-memory SQLite, or test_<name> on PostgreSQL, dropped after.
        databases = setup_databases(verbosity=0, interactive=False, aliases={"default": False})
        # Tasks (the import run) in this process, against the throwaway database; notifications and
        # webhook deliveries stay rows (outbox.held). A cache of its own for throttling and progress.
        app.conf.task_always_eager = True
        try:
            with outbox.held(), override_settings(SECURE_SSL_REDIRECT=False, CACHES=LOCAL_CACHE):
                examples = record_examples()
        finally:
            app.conf.task_always_eager = False
            teardown_databases(databases, verbosity=0)
            teardown_test_environment()
        target: Path = options["file"]
        target.write_text(json.dumps(examples, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"{len(examples)} operations recorded in {target}."))
