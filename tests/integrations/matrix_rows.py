"""Permission-matrix rows for the integrations' API routes (see tests/matrix.py)."""

from django.forms.models import model_to_dict

from integrations import webhooks
from integrations.models import Webhook, WebhookDelivery
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, everyone, manage, project_key

# The calendar feed: the feed secret in ``?token=`` is its only credential. Without it
# everyone gets 404, sessions and API tokens included (tests/integrations/test_calendar.py
# covers the valid, revoked and foreign secrets).
CALENDAR_ROWS: list[Row] = [
    Row("api:calendar-feed", "GET", project_key, everyone(404, anonymous=404)),
]


# --- outbound webhooks: every route, reads included, takes "manage integrations" ------------------

# A public address written as an IP, so the SSRF guard's lookup needs no DNS in tests.
PUBLIC_URL = "https://93.184.215.14/hooks/scrumboard"


def sb_webhook(ctx: Ctx) -> Webhook:
    """SB's webhook (one per test), subscribed by the administrator."""
    hook = Webhook.objects.filter(project=ctx.project).first()
    return hook or webhooks.create_webhook(
        project=ctx.project, by=ctx.admin, url=PUBLIC_URL, events=["item.created", "sprint.started"]
    )


def log_entry(hook: Webhook) -> WebhookDelivery:
    """A delivery in the webhook's log, through the outbox (publishing waits for a commit that never comes)."""
    return webhooks.enqueue(project=hook.project, event="item.created", payload={"key": "SB-1"}, webhooks=[hook])[0]


def webhook(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": sb_webhook(ctx).pk}


def project_with_webhook(ctx: Ctx) -> dict:
    log_entry(sb_webhook(ctx))
    return project_key(ctx)


def webhook_with_log(ctx: Ctx) -> dict:
    hook = sb_webhook(ctx)
    log_entry(hook)
    return {"key": ctx.project.key, "pk": hook.pk}


def delivery(ctx: Ctx) -> dict:
    hook = sb_webhook(ctx)
    return {"key": ctx.project.key, "pk": hook.pk, "delivery_id": log_entry(hook).pk}


WEBHOOK_ROWS: list[Row] = [
    Row("api:webhook-list", "GET", project_with_webhook, manage(200)),
    Row(
        "api:webhook-list",
        "POST",
        project_key,
        manage(201),
        data=lambda ctx: {"url": PUBLIC_URL, "events": ["sprint.completed"]},
    ),
    Row("api:webhook-detail", "GET", webhook, manage(200)),
    Row("api:webhook-detail", "PATCH", webhook, manage(200), data=lambda ctx: {"active": False}),
    Row("api:webhook-detail", "DELETE", webhook, manage(204)),
    Row("api:webhook-rotate-secret", "POST", webhook, manage(200)),
    Row("api:webhook-deliveries", "GET", webhook_with_log, manage(200)),
    Row("api:webhook-redeliver", "POST", delivery, manage(201)),
]


# --- foreign ids: XX's webhook and its log through SB's URLs ---------------------------------------


def _foreign_webhook(team) -> Webhook:
    """XX's webhook with a delivery, while SB has one too."""
    webhooks.create_webhook(project=team.project, by=team.admin, url=PUBLIC_URL, events=["item.created"])
    other = make_project(key="XX")
    owner = other.memberships.get().user
    hook = webhooks.create_webhook(project=other, by=owner, url=PUBLIC_URL, events=["item.created"])
    log_entry(hook)
    return hook


def _foreign_delivery(team) -> WebhookDelivery:
    return WebhookDelivery.objects.get(webhook=_foreign_webhook(team))


def _hook_and_log(hook: Webhook) -> tuple:
    fresh = Webhook.objects.filter(pk=hook.pk).first()
    deliveries = WebhookDelivery.objects.filter(webhook=hook).values_list("pk", "state", "attempts")
    return (model_to_dict(fresh) if fresh else None), tuple(deliveries)


FOREIGN = {
    "api:webhook-detail": Foreign(_foreign_webhook, {"url": PUBLIC_URL, "active": False}, state=_hook_and_log),
    "api:webhook-rotate-secret": Foreign(_foreign_webhook, state=_hook_and_log),
    "api:webhook-deliveries": Foreign(_foreign_webhook, state=_hook_and_log),
    # XX's delivery under XX's webhook id, through SB's key.
    "api:webhook-redeliver": Foreign(
        _foreign_delivery,
        kwargs=lambda team, obj: {"key": team.project.key, "pk": obj.webhook_id, "delivery_id": obj.pk},
        state=lambda obj: _hook_and_log(obj.webhook),
    ),
}


# --- imports: every route, reads included, takes "manage integrations" -----------------------------

IMPORT_CSV = b"Summary,Issue key,Issue Type,Status\nFirst imported story,J-1,Story,To Do\n"


def sb_import(ctx: Ctx):
    """A previewed import of SB (one per test), uploaded by the administrator."""
    from integrations.importing import jobs
    from integrations.models import ImportJob

    job = ImportJob.objects.filter(project=ctx.project).first()
    return job or jobs.create_job(project=ctx.project, by=ctx.admin, filename="jira.csv", data=IMPORT_CSV)


def import_job(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": sb_import(ctx).pk}


def project_with_import(ctx: Ctx) -> dict:
    sb_import(ctx)
    return project_key(ctx)


IMPORT_ROWS: list[Row] = [
    Row("api:import-list", "GET", project_with_import, manage(200)),
    # The matrix sends JSON: no file, so the permission holders get the "file" field's 400.
    Row("api:import-list", "POST", project_key, manage(400), data=lambda ctx: {"source": "jira_csv"}),
    Row("api:import-detail", "GET", import_job, manage(200)),
    Row("api:import-run", "POST", import_job, manage(202)),
]


def _foreign_import(team):
    """XX's previewed import, while SB has one too."""
    from integrations.importing import jobs

    jobs.create_job(project=team.project, by=team.admin, filename="sb.csv", data=IMPORT_CSV)
    other = make_project(key="XX")
    owner = other.memberships.get().user
    return jobs.create_job(project=other, by=owner, filename="xx.csv", data=IMPORT_CSV)


def _import_state(job) -> tuple:
    from integrations.models import ImportJob

    return tuple(ImportJob.objects.filter(pk=job.pk).values_list("state", "started_at", "progress_done"))


FOREIGN.update(
    {
        "api:import-detail": Foreign(_foreign_import, state=_import_state),
        "api:import-run": Foreign(_foreign_import, state=_import_state),
    }
)


# --- the whole-project export: "manage integrations" (it holds everything the project holds) -------

EXPORT_ROWS: list[Row] = [
    Row("api:project-export", "GET", project_key, manage(200)),
]
