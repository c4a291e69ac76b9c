import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects import services
from projects.api import prime_policy, visible_projects
from projects.forms import ProjectCreateForm, ProjectSettingsForm
from projects.models import Project
from roles import policy
from roles.models import Membership, Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project


@login_required
def project_list(request):
    member_count = (
        Membership.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    projects = list(visible_projects(request.user).annotate(member_count=Subquery(member_count)).order_by("key"))
    prime_policy(request.user, projects)
    return render(
        request,
        "projects/project_list.html",
        {
            "active_projects": [p for p in projects if not p.archived],
            "archived_projects": [p for p in projects if p.archived],
        },
    )


@login_required
def project_create(request):
    form = ProjectCreateForm(request.POST or None, instance=Project())  # the instance supplies the defaults
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            project = services.create_project(
                key=form.cleaned_data["key"], name=changes.pop("name"), by=request.user, **changes
            )
        except (ValidationError, PermissionDenied) as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Project %(key)s created. Invite your team next.") % {"key": project.key})
            return redirect("roles:team", key=project.key)
    return render(request, "projects/project_form.html", {"form": form})


@project_page()
def project_detail(request, project):
    return render_project(
        request,
        "projects/project_detail.html",
        project,
        {
            "member_count": project.memberships.count(),
        },
        tab="overview",
    )


@project_page(Permission.MANAGE_PROJECT)
def project_edit(request, project):
    # The form works on a copy: a rejected change must not leak into the page header.
    form = ProjectSettingsForm(request.POST or None, instance=copy.copy(project))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(project=project, by=request.user, **form.changes())
        except (ValidationError, PermissionDenied) as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("projects:edit", key=project.key)
    return render_project(request, "projects/project_settings.html", project, {"form": form}, tab="settings")


@require_POST
@project_page(policy.ADMINISTER)
def project_archive(request, project):
    try:
        services.archive_project(project=project, by=request.user)
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Project archived. It is read-only until an administrator restores it."))
    return redirect("projects:detail", key=project.key)


@require_POST
@project_page(policy.ADMINISTER)
def project_unarchive(request, project):
    try:
        services.unarchive_project(project=project, by=request.user)
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("Project restored."))
    return redirect("projects:detail", key=project.key)
