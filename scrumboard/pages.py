"""What every browser page shares: project access, the project's time zone, service errors."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from roles import policy
from roles.models import Permission


def project_page(action: str = Permission.VIEW):
    """A login-only page under ``/projects/<key>/``: ``view(request, project, ...)``.

    Non-members get 404, members without ``action`` 403 (the policy decides). The
    project's time zone is active while the view runs, so dates render in it.
    """

    def decorator(view):
        @login_required
        @functools.wraps(view)
        def wrapper(request, key: str, *args, **kwargs):
            project = policy.project_for(request.user, key, action)
            timezone.activate(project.tzinfo)
            try:
                return view(request, project, *args, **kwargs)
            finally:
                timezone.deactivate()

        return wrapper

    return decorator


def render_project(request, template: str, project, context: dict | None = None, *, tab: str = "", status=None):
    """Renders a project page with what the layout's project navigation needs."""
    context = {
        "project": project,
        "membership": policy.membership_of(request.user, project),
        "can": policy.allowed_actions(request.user, project),
        "tab": tab,
        **(context or {}),
    }
    return render(request, template, context, status=status)


def error_messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [str(message) for message in exc.messages]
    if isinstance(exc, PermissionDenied) and exc.args:
        return [str(exc.args[0])]
    if isinstance(exc, PermissionDenied):
        return [gettext("You are not allowed to do that.")]
    return [str(exc)]


def flash_error(request, exc: Exception) -> None:
    for message in error_messages(exc):
        messages.error(request, message)


def add_form_errors(form, exc: Exception) -> None:
    """Puts a service error on the form: on its field when the form has it, else on top."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    for message in error_messages(exc):
        form.add_error(None, message)
