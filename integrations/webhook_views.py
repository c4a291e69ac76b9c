"""The project's webhook pages: the list, the form, the signing secret, the delivery log, redelivery.

Every page takes "manage integrations" (webhook URLs and logs are sensitive). Writes go through
``integrations.webhooks``. The signing secret is shown once, on the page a create or a rotation
redirects to: the session remembers which webhook's secret to show, and the showing forgets it.
"""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations import webhooks
from integrations.models import DeliveryState, Webhook, WebhookDelivery, WebhookEvent
from integrations.webhook_forms import WebhookForm
from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project

MANAGE = Permission.MANAGE_INTEGRATIONS
SERVICE_ERRORS = (ValidationError, PermissionDenied)  # ConflictError is a ValidationError
TAB = "integrations"
LOG_PAGE = 50
# The session key naming the webhook whose secret the next page shows (an id, never the secret).
SESSION_SHOW_SECRET = "webhook_show_secret_of"  # noqa: S105 (a key name, not a password)


def _webhook_or_404(project, pk: int) -> Webhook:
    webhook = Webhook.objects.filter(project=project, pk=pk).first()
    if webhook is None:
        raise Http404
    webhook.project = project
    return webhook


def _to_list(project):
    return redirect("integrations:webhooks", key=project.key)


def _show_secret_next(request, webhook: Webhook):
    """Redirects to the webhook's page, which shows its signing secret this one time."""
    request.session[SESSION_SHOW_SECRET] = webhook.pk
    return redirect("integrations:webhook_edit", key=webhook.project.key, pk=webhook.pk)


def _event_labels() -> dict[str, str]:
    return {str(value): str(label) for value, label in WebhookEvent.choices}


@dataclass
class WebhookRow:
    webhook: Webhook
    event_labels: list[str]
    last_state: str  # blank: nothing delivered yet
    last_state_label: str
    last_at: datetime.datetime | None
    last_code: int | None
    last_attempts: int


@project_page(MANAGE)
def webhook_list(request, project):
    last = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-pk")
    hooks = (
        Webhook.objects.filter(project=project)
        .annotate(
            last_state=Subquery(last.values("state")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            last_code=Subquery(last.values("response_code")[:1]),
            last_attempts=Subquery(last.values("attempts")[:1]),
        )
        .order_by("pk")
    )
    labels = _event_labels()
    states = dict(DeliveryState.choices)
    rows = []
    for hook in hooks:
        hook.project = project
        rows.append(
            WebhookRow(
                webhook=hook,
                event_labels=[labels.get(event, event) for event in hook.events],
                last_state=hook.last_state or "",
                last_state_label=str(states.get(hook.last_state or "", "")),
                last_at=hook.last_at,
                last_code=hook.last_code,
                last_attempts=hook.last_attempts or 0,
            )
        )
    context = {"rows": rows, "event_count": len(WebhookEvent.values)}
    return render_project(request, "integrations/webhooks.html", project, context, tab=TAB)


def _render_form(request, project, form, webhook=None, *, secret: str = ""):
    context = {"form": form, "webhook": webhook, "secret": secret}
    response = render_project(request, "integrations/webhooks_form.html", project, context, tab=TAB)
    if secret:
        add_never_cache_headers(response)
    return response


@project_page(MANAGE)
def webhook_create(request, project):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook = webhooks.create_webhook(project=project, by=request.user, **form.values())
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            webhook.project = project
            messages.success(request, _("Webhook added. Copy its signing secret now: it is shown only once."))
            return _show_secret_next(request, webhook)
    return _render_form(request, project, form)


@project_page(MANAGE)
def webhook_edit(request, project, pk: int):
    webhook = _webhook_or_404(project, pk)
    form = WebhookForm(request.POST or None, initial=WebhookForm.initial_for(webhook))
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.update_webhook(webhook=webhook, by=request.user, **form.values())
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Webhook saved."))
            return _to_list(project)
    secret = ""
    if request.method == "GET" and request.session.get(SESSION_SHOW_SECRET) == webhook.pk:
        del request.session[SESSION_SHOW_SECRET]
        secret = webhooks.signing_secret(webhook)
    return _render_form(request, project, form, webhook, secret=secret)


@require_POST
@project_page(MANAGE)
def webhook_delete(request, project, pk: int):
    webhook = _webhook_or_404(project, pk)
    url = webhook.url
    try:
        webhooks.delete_webhook(webhook=webhook, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Webhook to %(url)s deleted, with its delivery log.") % {"url": url})
    return _to_list(project)


@require_POST
@project_page(MANAGE)
def webhook_rotate_secret(request, project, pk: int):
    webhook = _webhook_or_404(project, pk)
    try:
        webhook = webhooks.rotate_secret(webhook=webhook, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
        return redirect("integrations:webhook_edit", key=project.key, pk=pk)
    messages.success(request, _("New signing secret made: the old one no longer verifies. Update your receiver."))
    return _show_secret_next(request, webhook)


@project_page(MANAGE)
def webhook_deliveries(request, project, pk: int):
    """The delivery log, newest first, a page at a time (``?before=<id>`` for older ones)."""
    webhook = _webhook_or_404(project, pk)
    deliveries = WebhookDelivery.objects.filter(webhook=webhook).order_by("-pk")
    before = request.GET.get("before", "")
    if before.isdigit() and len(before) <= 18:
        deliveries = deliveries.filter(pk__lt=int(before))
    rows = list(deliveries[: LOG_PAGE + 1])
    older = rows[LOG_PAGE - 1].pk if len(rows) > LOG_PAGE else None
    context = {
        "webhook": webhook,
        "deliveries": rows[:LOG_PAGE],
        "older": older,
        "newest_page": not before,
        "time_zone": project.timezone,
    }
    return render_project(request, "integrations/webhooks_deliveries.html", project, context, tab=TAB)


@require_POST
@project_page(MANAGE)
def webhook_redeliver(request, project, pk: int, delivery_id: int):
    webhook = _webhook_or_404(project, pk)
    delivery = WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()
    if delivery is None:
        raise Http404
    delivery.webhook = webhook
    try:
        webhooks.redeliver(delivery=delivery, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request, _("Delivery %(id)s queued again: it appears at the top of the log.") % {"id": delivery.pk}
        )
    return redirect("integrations:webhook_deliveries", key=project.key, pk=webhook.pk)
