"""The inbox page: the user's in-app notifications, mark read, mark all read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from notifications import selectors, services

PAGE_SIZE = 50


@login_required
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/inbox.html", {"page": page, "unread_only": unread_only})


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
