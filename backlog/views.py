"""The backlog's pages: the ranked list, an item's page, the epics."""

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backlog import selectors, services
from backlog.forms import (
    NO_ESTIMATE,
    BulkForm,
    CommentForm,
    CriterionForm,
    EstimateForm,
    ItemForm,
    LinkForm,
    QuickAddForm,
)
from backlog.markdown import render_markdown
from backlog.models import BacklogItem, ItemType, StatusCategory
from backlog.presentation import history_entries, link_mentions, link_rows, prepare_rows
from roles import policy
from roles.models import Permission
from scrumboard.pages import add_form_errors, error_messages, flash_error, project_page, render_project

# Rows per page of the backlog; "Show more" appends the next ones. A hundred rows render in a
# few tens of milliseconds and fill several screens; a backlog of 50,000 never loads at once.
PAGE_SIZE = 100
# Long text a row does not show: not read, not decoded.
ROW_DEFERRED = ("description", "acceptance_criteria", "done_checklist")
HISTORY_SHOWN = 50
SERVICE_ERRORS = (ValidationError, PermissionDenied)


# --- shared ----------------------------------------------------------------------------


def item_or_404(project, item_key: str) -> BacklogItem:
    item = selectors.item_by_key(project, item_key)
    if item is None:
        raise Http404
    return item


def _members(project) -> list:
    return [membership.user for membership in project.memberships.select_related("user").order_by("user__first_name")]


def _filter_query(params: QueryDict) -> str:
    """The list's filters as a query string, without the page cursor."""
    query = params.copy()
    query.pop("after", None)
    return query.urlencode()


def _list_url(project, query: str = "") -> str:
    url = reverse("backlog:list", kwargs={"key": project.key})
    return f"{url}?{query}" if query else url


def item_url(item: BacklogItem, anchor: str = "") -> str:
    url = reverse("backlog:item", kwargs={"key": item.project.key, "item_key": item.key})
    return f"{url}#{anchor}" if anchor else url


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _keys(items) -> str:
    return ", ".join(item.key for item in items)


# --- the backlog list --------------------------------------------------------------------


def _list_context(request, project, items) -> dict:
    can = policy.allowed_actions(request.user, project)
    after = request.GET.get("after", "")
    # The sprint's name for the row's badge, in the same query; never its frozen report.
    rows, has_more = selectors.backlog_page(
        items.select_related("sprint").defer(*ROW_DEFERRED, "sprint__report"), after=after, size=PAGE_SIZE
    )
    return {
        "rows": prepare_rows(rows, project=project),
        "has_more": has_more,
        "next_after": rows[-1].rank if rows else "",
        "after": after,
        "filter_query": _filter_query(request.GET),
        "can_edit": Permission.EDIT_BACKLOG in can,
        "can_estimate": Permission.ESTIMATE in can,
    }


@project_page()
def backlog_list(request, project):
    return _render_list(request, project)


def _render_list(request, project, *, quick_form=None, status=None):
    filters = selectors.ItemFilters.from_params(request.GET)
    items = selectors.backlog_items(project, filters, user=request.user)
    context = _list_context(request, project, items)
    if request.htmx and context["after"] and quick_form is None:
        # "Show more": only the next rows.
        return render_project(request, "backlog/_rows.html", project, context)
    members = _members(project)
    statuses = list(project.statuses.all())
    context |= {
        "filters": filters,
        "totals": selectors.backlog_totals(items),
        "statuses": statuses,
        "labels": list(project.labels.values_list("name", flat=True)),
        "members": members,
        "types": ItemType.choices,
        "quick_form": quick_form or QuickAddForm(),
        "bulk_form": BulkForm(statuses=statuses, members=members) if context["can_edit"] else None,
    }
    return render_project(request, "backlog/backlog_list.html", project, context, tab="backlog", status=status)


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def quick_add(request, project):
    """Creates one item per line of the title box, all or none."""
    form = QuickAddForm(request.POST)
    parent = None
    if form.is_valid() and form.cleaned_data["parent"]:
        parent = selectors.item_by_key(project, form.cleaned_data["parent"])
        if parent is None:
            form.add_error(None, _("No item %(key)s in this project.") % {"key": form.cleaned_data["parent"]})
    default_next = item_url(parent) if parent else _list_url(project, _filter_query(request.GET))
    next_url = _next_url(request, default_next)
    if form.is_valid():
        data = form.cleaned_data
        titles = data["titles"]
        top = data["position"] == "top"
        try:
            with transaction.atomic():
                # Created bottom-up when added at the top, so the pasted order stays the same.
                created = [
                    services.create_item(
                        project=project,
                        by=request.user,
                        title=title,
                        type=data["type"],
                        parent=parent,
                        position=data["position"],
                    )
                    for title in (reversed(titles) if top else titles)
                ]
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            created = list(reversed(created)) if top else created
            where = _("at the top") if top else _("at the bottom")
            messages.success(
                request,
                ngettext(
                    "Added %(keys)s %(where)s of the backlog.",
                    "Added %(count)d items %(where)s of the backlog: %(keys)s.",
                    len(created),
                )
                % {"keys": _keys(created), "count": len(created), "where": where},
            )
            return redirect(next_url)
    if request.POST.get("next") or request.POST.get("parent"):
        # Added from an item or the epics page: go back there and say what went wrong.
        for message in [error for errors in form.errors.values() for error in errors]:
            messages.error(request, str(message))
        return redirect(next_url)
    return _render_list(request, project, quick_form=form)


@require_POST
@project_page(Permission.ESTIMATE)
def item_estimate(request, project, item_key: str):
    """The estimate select of a backlog row; answers htmx with the updated cell (and totals)."""
    item = item_or_404(project, item_key)
    form = EstimateForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.update_item(item=item, by=request.user, estimate=form.cleaned_data["estimate"])
        except SERVICE_ERRORS as exc:
            error = " ".join(error_messages(exc))
            item = item_or_404(project, item_key)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        items = selectors.backlog_items(project, selectors.ItemFilters.from_params(request.GET), user=request.user)
        shown = selectors.backlog_items(project).filter(pk=item.pk).first() or item
        return render_project(
            request,
            "backlog/_estimate_response.html",
            project,
            {
                "item": prepare_rows([shown], project=project)[0],
                "error": error,
                "can_estimate": True,
                "filter_query": _filter_query(request.GET),
                "oob_totals": selectors.backlog_totals(items),
            },
        )
    if error:
        messages.error(request, f"{item.key}: {error}")
    else:
        messages.success(
            request, _("%(key)s estimated: %(estimate)s.") % {"key": item.key, "estimate": item.estimate or NO_ESTIMATE}
        )
    return redirect(_next_url(request, _list_url(project, request.GET.urlencode())))


def _items_by_keys(project, keys: list[str]) -> list[BacklogItem]:
    numbers = []
    for key in keys:
        match = selectors.KEY_PATTERN.match(key.strip().upper())
        if match and match["key"] == project.key:
            numbers.append(int(match["number"]))
    return list(BacklogItem.objects.filter(project=project, number__in=numbers).for_list().order_by("rank"))


def _bulk_update(request, project, items, form) -> None:
    """All or nothing; the service's refusal names the item it came from."""
    changes = form.changes()
    names, mode = form.label_names(), form.cleaned_data["labels_mode"] or "add"
    if not changes and not names and mode != "replace":
        raise ValidationError(_("Choose what to change: status, labels, assignee or estimate."))
    with transaction.atomic():
        for item in items:
            item_changes = dict(changes)
            if names or mode == "replace":
                current = [label.name for label in item.labels.all()]
                if mode == "replace":
                    item_changes["labels"] = names
                elif mode == "remove":
                    item_changes["labels"] = [name for name in current if name not in names]
                else:
                    item_changes["labels"] = current + [name for name in names if name not in current]
            services.bulk_update_items(project=project, by=request.user, items=[item], changes=item_changes)


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def bulk(request, project):
    back = _list_url(project, request.GET.urlencode())
    items = _items_by_keys(project, request.POST.getlist("items"))
    if not items:
        messages.error(request, _("Select items first."))
        return redirect(back)
    statuses = list(project.statuses.all())
    form = BulkForm(request.POST, statuses=statuses, members=_members(project))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    try:
        if form.cleaned_data["action"] == "delete":
            count = services.bulk_delete_items(project=project, by=request.user, items=items)
            messages.success(
                request, ngettext("Deleted %(count)d item.", "Deleted %(count)d items.", count) % {"count": count}
            )
        else:
            _bulk_update(request, project, items, form)
            messages.success(
                request,
                ngettext("Updated %(count)d item.", "Updated %(count)d items.", len(items)) % {"count": len(items)},
            )
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    return redirect(back)


# --- an item -------------------------------------------------------------------------------


def _criteria_met(item: BacklogItem) -> int:
    return sum(1 for entry in item.acceptance_criteria if entry.get("done"))


def render_item(request, project, item, *, form=None, comment_form=None, link_form=None, status=None):
    can = policy.allowed_actions(request.user, project)
    can_edit = Permission.EDIT_BACKLOG in can
    can_estimate = Permission.ESTIMATE in can
    members = _members(project)
    people = {user.username: user.get_full_name() or user.username for user in members}
    statuses = list(project.statuses.all())
    roles = list(project.roles.filter(estimates_points=True))
    if form is None and (can_edit or can_estimate):
        form = ItemForm(
            item=item,
            statuses=statuses,
            members=members,
            estimating_roles=roles,
            can_edit=can_edit,
            can_estimate=can_estimate,
        )
    mention_url = reverse("backlog:list", kwargs={"key": project.key}) + "?assignee="
    comments = [
        (
            comment,
            # Sanitized by render_markdown; the mention links are built from escaped parts.
            mark_safe(  # noqa: S308
                link_mentions(
                    render_markdown(comment.body),
                    {user.username for user in comment.mentions.all()},
                    lambda name: mention_url + quote(name),
                )
            ),
        )
        for comment in selectors.item_comments(item)
    ]
    events = list(selectors.item_history(item))
    history = history_entries(events, people=people, roles={role.slug: role.name for role in roles})[::-1]
    show_all_history = request.GET.get("history") == "all"
    children = list(selectors.item_children(item))
    watchers = list(item.watchers.all())
    done_status_ids = [status.pk for status in statuses if status.category == "done"]
    return render_project(
        request,
        "backlog/item_detail.html",
        project,
        {
            "item": item,
            "form": form,
            "can_edit": can_edit,
            "can_estimate": can_estimate,
            "can_comment": Permission.COMMENT in can,
            "is_admin": policy.ADMINISTER in can,
            "done_status_ids": done_status_ids,
            "role_points": [
                (role, item.role_points.get(role.slug)) for role in roles if item.role_points.get(role.slug)
            ],
            "children": children,
            "children_done": sum(1 for child in children if child.status.category == StatusCategory.DONE),
            "criteria_met": _criteria_met(item),
            "parent_suggestions": list(selectors.epic_choices(project)) if item.type != ItemType.EPIC else [],
            "links": link_rows(item, selectors.item_links(item)),
            "link_form": link_form or LinkForm(project=project),
            "comments": comments,
            "comment_form": comment_form or CommentForm(),
            "history": history if show_all_history else history[:HISTORY_SHOWN],
            "history_hidden": 0 if show_all_history else max(0, len(history) - HISTORY_SHOWN),
            "watchers": watchers,
            "watching": any(user.pk == request.user.pk for user in watchers),
            "criterion_form": CriterionForm(),
            "definition_of_ready": project.definition_of_ready_items(),
        },
        tab="backlog",
        status=status,
    )


@project_page()
def item_detail(request, project, item_key: str):
    return render_item(request, project, item_or_404(project, item_key))


@require_POST
@project_page()
def item_update(request, project, item_key: str):
    item = item_or_404(project, item_key)
    can_edit = policy.can(request.user, project, Permission.EDIT_BACKLOG)
    can_estimate = policy.can(request.user, project, Permission.ESTIMATE)
    if not (can_edit or can_estimate):
        raise PermissionDenied
    form = ItemForm(
        request.POST,
        item=item,
        statuses=list(project.statuses.all()),
        members=_members(project),
        estimating_roles=list(project.roles.filter(estimates_points=True)),
        can_edit=can_edit,
        can_estimate=can_estimate,
    )
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, _("Nothing to save: no field changed."))
            return redirect(item_url(item))
        try:
            services.update_item(
                item=item, by=request.user, override_reason=form.cleaned_data["override_reason"], **changes
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
            # The service changed the object before it refused: show what is stored.
            item = item_or_404(project, item_key)
            form.item = item
        else:
            messages.success(request, _("%(key)s saved.") % {"key": item.key})
            return redirect(item_url(item))
    return render_item(request, project, item, form=form)


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def item_move(request, project, item_key: str):
    """Top or bottom of the backlog: the way to rank without dragging."""
    item = item_or_404(project, item_key)
    position = request.POST.get("position")
    if position not in ("top", "bottom"):
        messages.error(request, _("Say where to move the item: top or bottom."))
    else:
        try:
            services.move_item(item=item, by=request.user, position=position)
        except SERVICE_ERRORS as exc:
            flash_error(request, exc)
        else:
            if position == "top":
                messages.success(request, _("%(key)s moved to the top of the backlog.") % {"key": item.key})
            else:
                messages.success(request, _("%(key)s moved to the bottom of the backlog.") % {"key": item.key})
    return redirect(_next_url(request, item_url(item)))


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def item_delete(request, project, item_key: str):
    item = item_or_404(project, item_key)
    key, title = item.key, item.title
    try:
        services.delete_item(item=item, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
        return redirect(item_url(item))
    messages.success(request, _("%(key)s “%(title)s” deleted.") % {"key": key, "title": title})
    return redirect("backlog:list", key=project.key)


def _render_criteria(request, project, item, *, form=None, error="", focus=False):
    return render_project(
        request,
        "backlog/_criteria.html",
        project,
        {
            "item": item,
            "can_edit": policy.can(request.user, project, Permission.EDIT_BACKLOG),
            "criterion_form": form or CriterionForm(),
            "criteria_error": error,
            "criteria_focus": focus,
            "criteria_met": _criteria_met(item),
        },
    )


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def criteria(request, project, item_key: str):
    """Adds, ticks or removes one acceptance criterion; answers htmx with the updated list."""
    item = item_or_404(project, item_key)
    entries = [dict(entry) for entry in item.acceptance_criteria]
    action = request.POST.get("action")
    form = CriterionForm(request.POST)
    error = ""
    if action == "add":
        if form.is_valid():
            entries.append({"text": form.cleaned_data["text"], "done": False})
        else:
            error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    elif action in ("toggle", "remove"):
        index = request.POST.get("index", "")
        # The entry's text guards against a list that changed since the page was loaded.
        if not index.isdigit() or int(index) >= len(entries) or entries[int(index)]["text"] != request.POST.get("text"):
            error = _("The list has changed since you opened the page; reload it.")
        elif action == "toggle":
            entries[int(index)]["done"] = not entries[int(index)].get("done")
        else:
            del entries[int(index)]
    else:
        error = _("Unknown action.")
    if not error:
        try:
            services.update_item(item=item, by=request.user, acceptance_criteria=entries)
        except SERVICE_ERRORS as exc:
            error = " ".join(error_messages(exc))
            item = item_or_404(project, item_key)
    if request.htmx:
        # A refused new criterion stays in the box; anything else starts from an empty one.
        kept = form if error and action == "add" else None
        return _render_criteria(request, project, item, form=kept, error=error, focus=action == "add")
    if error:
        messages.error(request, error)
    return redirect(item_url(item, "criteria"))


@require_POST
@project_page()
def watch(request, project, item_key: str):
    item = item_or_404(project, item_key)
    watching = request.POST.get("watching") == "1"
    try:
        services.watch_item(item=item, by=request.user, watching=watching)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        if watching:
            messages.success(request, _("You are watching %(key)s.") % {"key": item.key})
        else:
            messages.success(request, _("You stopped watching %(key)s.") % {"key": item.key})
    return redirect(item_url(item))


# --- epics ---------------------------------------------------------------------------------


@project_page()
def epics(request, project):
    rows = list(selectors.epic_progress(project))
    return render_project(
        request,
        "backlog/epics.html",
        project,
        {
            "epics": rows,
            "can_edit": policy.can(request.user, project, Permission.EDIT_BACKLOG),
            "quick_form": QuickAddForm(initial={"type": ItemType.EPIC}),
        },
        tab="epics",
    )
