from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from integrations import services
from integrations.forms import TokenForm
from integrations.models import ApiToken
from scrumboard.pages import add_form_errors, flash_error


@login_required
def tokens(request):
    """The user's API tokens; a new token's raw value appears in this one response only."""
    form = TokenForm(request.POST or None)
    new_token = raw_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, raw_token = services.create_token(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            form = TokenForm()
    response = render(
        request,
        "integrations/tokens.html",
        {
            "form": form,
            "tokens": list(ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")),
            "new_token": new_token,
            "raw_token": raw_token,
        },
    )
    if raw_token:
        add_never_cache_headers(response)
    return response


@require_POST
@login_required
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    try:
        services.revoke_token(token=token, by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
    else:
        messages.success(
            request,
            _("Token “%(name)s” revoked. Tools using it can no longer connect.")
            % {
                "name": token.name,
            },
        )
    return redirect("integrations:tokens")
