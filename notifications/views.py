"""The inbox page (mark read, mark all read) and the notification settings page."""

from dataclasses import dataclass

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import messages, selectors, services, settings_services
from notifications.forms import NotificationSettingsForm
from notifications.models import Notification, NotificationSettings

PAGE_SIZE = 50


@dataclass
class InboxEntry:
    notification: Notification
    title: str
    body: str
    zone: str  # the time zone its time is shown in


@login_required
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page)
    # Times are shown in the project's time zone; a notification without a project in the user's own.
    own_zone = "UTC"
    if any(row.project is None for row in rows):
        own_zone = (
            NotificationSettings.objects.filter(user=request.user).values_list("timezone", flat=True).first() or "UTC"
        )
    entries = [
        InboxEntry(row, *messages.rendered(row), zone=row.project.timezone if row.project else own_zone) for row in rows
    ]
    return render(request, "notifications/inbox.html", {"page": page, "entries": entries, "unread_only": unread_only})


@login_required
def settings_page(request):
    """Which kinds arrive on which channel, quiet hours, working hours and the e-mail language."""
    initial = NotificationSettingsForm.initial_for(request.user)
    form = NotificationSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            settings_services.set_settings(user=request.user, preferences=form.preferences(), **form.changes())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.success(request, _("Notification settings saved."))
            return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})


@login_required
def unread_badge(request):
    """The bell's unread count, fetched by htmx after the page loads.

    A fragment rather than a context processor: every page keeps its pinned query count,
    and the count costs one query in its own small request.
    """
    return render(request, "notifications/unread_badge.html", {"count": selectors.unread_count(request.user)})


@require_POST
@login_required
def mark_read(request):
    ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit()]
    if request.POST.get("all"):
        services.mark_all_read(user=request.user)
    elif ids:
        services.mark_read(user=request.user, ids=ids)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:inbox")
