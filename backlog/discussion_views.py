"""An item's links and comments, and the Markdown preview their forms use."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backlog import services
from backlog.forms import CommentForm, LinkForm
from backlog.markdown import render_markdown
from backlog.models import Comment, ItemLink
from backlog.views import SERVICE_ERRORS, item_or_404, item_url, render_item
from roles import policy
from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def link_add(request, project, item_key: str):
    item = item_or_404(project, item_key)
    form = LinkForm(request.POST, project=project)
    if form.is_valid():
        try:
            services.link_items(
                source=item, target=form.cleaned_data["target"], kind=form.cleaned_data["kind"], by=request.user
            )
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Link added."))
            return redirect(item_url(item, "links"))
    return render_item(request, project, item, link_form=form)


@require_POST
@project_page(Permission.EDIT_BACKLOG)
def link_remove(request, project, item_key: str, pk: int):
    item = item_or_404(project, item_key)
    link = get_object_or_404(
        ItemLink.objects.select_related("source__project").filter(Q(source=item) | Q(target=item)), pk=pk
    )
    try:
        services.unlink_items(link=link, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Link removed."))
    return redirect(item_url(item, "links"))


@require_POST
@project_page(Permission.COMMENT)
def comment_add(request, project, item_key: str):
    item = item_or_404(project, item_key)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.add_comment(item=item, by=request.user, body=form.cleaned_data["body"])
        except SERVICE_ERRORS as exc:
            add_form_errors(form, exc)
        else:
            return redirect(item_url(item, f"comment-{comment.pk}"))
    return render_item(request, project, item, comment_form=form)


def _comment_or_404(item, pk: int) -> Comment:
    return get_object_or_404(Comment.objects.select_related("item__project"), item=item, pk=pk)


@require_POST
@project_page(Permission.COMMENT)
def comment_edit(request, project, item_key: str, pk: int):
    item = item_or_404(project, item_key)
    comment = _comment_or_404(item, pk)
    if comment.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author can edit a comment."))
    try:
        services.edit_comment(comment=comment, by=request.user, body=request.POST.get("body", ""))
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    return redirect(item_url(item, f"comment-{comment.pk}"))


@require_POST
@project_page(Permission.VIEW)
def comment_delete(request, project, item_key: str, pk: int):
    item = item_or_404(project, item_key)
    comment = _comment_or_404(item, pk)
    if comment.author_id != request.user.pk and not policy.can(request.user, project, policy.ADMINISTER):
        raise PermissionDenied(_("Only the author or an administrator can delete a comment."))
    try:
        services.delete_comment(comment=comment, by=request.user)
    except SERVICE_ERRORS as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Comment deleted."))
    return redirect(item_url(item, "comments"))


@require_POST
@project_page()
def markdown_preview(request, project):
    """What a description or comment will look like: sanitized HTML, for the Preview tab."""
    text = request.POST.get("text", "")
    if not text.strip():
        return HttpResponse(format_html('<p class="muted">{}</p>', _("Nothing to preview.")))
    return HttpResponse(render_markdown(text))
