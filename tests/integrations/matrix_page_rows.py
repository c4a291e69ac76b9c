"""Permission-matrix rows for the integrations' pages (collected by tests/matrix_pages.py)."""

from integrations.calendar import create_feed
from tests.integrations.matrix_rows import (
    PUBLIC_URL,
    delivery,
    import_job,
    project_with_import,
    project_with_webhook,
    webhook,
    webhook_with_log,
)
from tests.matrix import Row, project_key
from tests.matrix_pages import everyone, manage


def with_feed(ctx) -> dict:
    """The project with a usable calendar feed URL (revoking needs one)."""
    create_feed(project=ctx.project, by=ctx.admin)
    return project_key(ctx)


PAGE_ROWS: list[Row] = [
    # The calendar feed's page: "manage integrations" (Scrum Master, DevOps; administrators).
    Row("integrations:calendar", "GET", project_key, manage(200)),
    # A new URL is shown in the response itself, once: 200, not a redirect.
    Row("integrations:calendar", "POST", project_key, manage(200)),
    Row("integrations:calendar_revoke", "POST", with_feed, manage(302)),
]


def _webhook_form(ctx) -> dict:
    return {"url": PUBLIC_URL, "events": ["item.created", "release.released"], "active": "on"}


# Webhooks: every page takes "manage integrations"; a successful post redirects.
PAGE_ROWS += [
    Row("integrations:webhooks", "GET", project_with_webhook, manage(200)),
    Row("integrations:webhook_create", "GET", project_key, manage(200)),
    Row("integrations:webhook_create", "POST", project_key, manage(302), data=_webhook_form),
    Row("integrations:webhook_edit", "GET", webhook, manage(200)),
    Row("integrations:webhook_edit", "POST", webhook, manage(302), data=_webhook_form),
    Row("integrations:webhook_delete", "GET", webhook, everyone(405, anonymous=405)),
    Row("integrations:webhook_delete", "POST", webhook, manage(302)),
    Row("integrations:webhook_rotate_secret", "POST", webhook, manage(302)),
    Row("integrations:webhook_deliveries", "GET", webhook_with_log, manage(200)),
    Row("integrations:webhook_redeliver", "POST", delivery, manage(302)),
]


def _import_form(ctx) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.integrations.matrix_rows import IMPORT_CSV

    return {"file": SimpleUploadedFile("jira.csv", IMPORT_CSV, content_type="text/csv"), "source": ""}


# Imports: every page takes "manage integrations"; an upload redirects to its preview, a run to its job.
PAGE_ROWS += [
    Row("integrations:imports", "GET", project_with_import, manage(200)),
    Row("integrations:imports", "POST", project_key, manage(302), data=_import_form),
    Row("integrations:import_detail", "GET", import_job, manage(200)),
    Row("integrations:import_run", "GET", import_job, everyone(405, anonymous=405)),
    Row("integrations:import_run", "POST", import_job, manage(302)),
]

# The export download: "manage integrations"; GET only.
PAGE_ROWS += [
    Row("integrations:export", "GET", project_key, manage(200)),
    Row("integrations:export", "POST", project_key, everyone(405, anonymous=405)),
]
