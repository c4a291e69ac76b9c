from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from roles import policy, services
from roles.forms import InviteForm, RoleForm, SignupForm
from roles.models import Membership, Permission, Role
from scrumboard.pages import add_form_errors, error_messages, flash_error, project_page, render_project

MANAGE_MEMBERS = Permission.MANAGE_MEMBERS


# --- Team ----------------------------------------------------------------------------


def _grantable_roles(granter, roles) -> list:
    return [role for role in roles if policy.may_grant(granter, permissions=role.permission_set, is_admin=False)]


def _render_team(request, project, *, invite_form=None):
    granter = policy.require(request.user, project, Permission.VIEW)
    can_manage = policy.can(request.user, project, MANAGE_MEMBERS)
    roles = list(project.roles.all())
    memberships = list(project.memberships.select_related("user", "role"))
    for member in memberships:
        member.is_me = member.user_id == request.user.pk
        member.editable = can_manage and policy.may_grant(
            granter, permissions=member.role.permission_set, is_admin=member.is_admin
        )
    invitations = []
    grantable = []
    if can_manage:
        invitations = list(project.invitations.pending().select_related("role", "invited_by"))
        grantable = _grantable_roles(granter, roles)
        invite_form = invite_form or InviteForm(roles=grantable)
    return render_project(
        request,
        "roles/team.html",
        project,
        {
            "memberships": memberships,
            "invitations": invitations,
            "grantable_roles": grantable,
            "invite_form": invite_form,
            "can_manage": can_manage,
            "can_grant_admin": can_manage and granter.is_admin,
        },
        tab="team",
    )


@project_page()
def team(request, project):
    return _render_team(request, project)


@require_POST
@project_page(MANAGE_MEMBERS)
def invite(request, project):
    granter = policy.require(request.user, project, MANAGE_MEMBERS)
    form = InviteForm(request.POST, roles=_grantable_roles(granter, project.roles.all()))
    if form.is_valid():
        try:
            invitation, _raw = services.invite_member(
                project=project, email=form.cleaned_data["email"], role=form.cleaned_data["role"], by=request.user
            )
        except (ValidationError, PermissionDenied) as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("roles:team", key=project.key)
    return _render_team(request, project, invite_form=form)


class MemberChangeForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.none(), required=False)
    is_admin = forms.BooleanField(required=False)
    # Only administrators see the checkbox; without this marker the flag stays as it is.
    admin_field = forms.BooleanField(required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["role"]).queryset = project.roles.all()


@require_POST
@project_page(MANAGE_MEMBERS)
def member_change(request, project, pk: int):
    membership = get_object_or_404(project.memberships.select_related("user", "role"), pk=pk)
    form = MemberChangeForm(request.POST, project=project)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("roles:team", key=project.key)
    data = form.cleaned_data
    try:
        services.change_member(
            membership=membership,
            by=request.user,
            role=data["role"],
            is_admin=data["is_admin"] if data["admin_field"] else None,
        )
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
    else:
        names = {"name": membership.user.get_full_name() or membership.user.username, "role": _(membership.role.name)}
        if membership.is_admin:
            messages.success(request, _("%(name)s is now %(role)s and an administrator.") % names)
        else:
            messages.success(request, _("%(name)s is now %(role)s.") % names)
    return redirect("roles:team", key=project.key)


@require_POST
@project_page()
def member_remove(request, project, pk: int):
    membership = get_object_or_404(project.memberships.select_related("user", "role"), pk=pk)
    leaving = membership.user_id == request.user.pk
    if not leaving:  # leaving needs no right; removing someone else does
        policy.require(request.user, project, MANAGE_MEMBERS)
    try:
        services.remove_member(membership=membership, by=request.user)
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
        return redirect("roles:team", key=project.key)
    if leaving:
        messages.success(request, _("You left %(project)s.") % {"project": project.name})
        return redirect("projects:list")
    messages.success(
        request,
        _("%(name)s was removed from the project.")
        % {
            "name": membership.user.get_full_name() or membership.user.username,
        },
    )
    return redirect("roles:team", key=project.key)


@require_POST
@project_page(MANAGE_MEMBERS)
def invitation_revoke(request, project, pk: int):
    invitation = get_object_or_404(project.invitations.all(), pk=pk)
    try:
        services.revoke_invitation(invitation=invitation, by=request.user)
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("roles:team", key=project.key)


# --- Roles ---------------------------------------------------------------------------


def _render_roles(request, project, *, form=None, status=None):
    roles = list(project.roles.annotate(member_count=Count("memberships")))
    matrix = [
        (value, label, [(role, value in role.permission_set) for role in roles]) for value, label in Permission.choices
    ]
    editable = policy.can(request.user, project, policy.ADMINISTER)
    return render_project(
        request,
        "roles/roles.html",
        project,
        {
            "roles": roles,
            "matrix": matrix,
            "editable": editable,
            "form": (form or RoleForm(initial={"permissions": [Permission.VIEW.value]})) if editable else None,
        },
        tab="roles",
        status=status,
    )


@project_page()
def roles(request, project):
    """The permission matrix; administrators edit it and create custom roles here (POST)."""
    if request.method != "POST":
        return _render_roles(request, project)
    policy.require(request.user, project, policy.ADMINISTER)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            role = services.create_role(project=project, by=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Role “%(name)s” created.") % {"name": role.name})
            return redirect("roles:roles", key=project.key)
    return _render_roles(request, project, form=form)


@require_POST
@project_page(policy.ADMINISTER)
def role_edit(request, project, pk: int):
    role = get_object_or_404(project.roles.all(), pk=pk)
    name = request.POST.get("name")  # absent: keep the name
    try:
        services.update_role(
            role=role,
            by=request.user,
            name=name,
            permissions=request.POST.getlist("permissions"),
            estimates_points="estimates_points" in request.POST,
        )
    except (ValidationError, PermissionDenied) as exc:
        for message in error_messages(exc):
            messages.error(request, _("%(role)s: %(error)s") % {"role": _(role.name), "error": message})
    else:
        messages.success(request, _("Role “%(name)s” saved.") % {"name": _(role.name)})
    return redirect("roles:roles", key=project.key)


# --- Invitations ---------------------------------------------------------------------


def accept_invitation(request, token: str):
    """The link from the invitation e-mail: accept, log in first, or sign up and accept."""
    invitation = services.find_invitation(token)
    if invitation is None:
        return render(request, "roles/invitation.html", {"problem": services.invitation_problem(None)}, status=404)
    user = request.user
    problem = services.invitation_problem(invitation, user=user)
    already_member = (
        user.is_authenticated
        and problem is None
        and Membership.objects.filter(project=invitation.project, user=user).exists()
    )
    account_exists = (
        not user.is_authenticated
        and problem is None
        and get_user_model().objects.filter(email__iexact=invitation.email).exists()
    )
    form = None
    if not user.is_authenticated and problem is None and not account_exists:
        form = SignupForm(request.POST or None, email=invitation.email)

    if request.method == "POST" and problem is None and not already_member:
        if user.is_authenticated:
            try:
                membership = services.accept_invitation(raw_token=token, user=user)
            except ValidationError as exc:
                problem = " ".join(error_messages(exc))
            else:
                return _welcome(request, membership)
        elif form is not None and form.is_valid():
            try:
                with transaction.atomic():
                    membership = services.sign_up_and_accept_invitation(raw_token=token, user=form.save(commit=False))
                    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                return _welcome(request, membership)

    timezone.activate(invitation.project.tzinfo)
    try:
        return render(
            request,
            "roles/invitation.html",
            {
                "invitation": invitation,
                "problem": problem,
                "already_member": already_member,
                "account_exists": account_exists,
                "form": form,
            },
        )
    finally:
        timezone.deactivate()


def _welcome(request, membership):
    policy.forget_memberships(request.user)
    messages.success(
        request,
        _("Welcome to %(project)s! You joined as %(role)s.")
        % {
            "project": membership.project.name,
            "role": _(membership.role.name),
        },
    )
    return redirect("projects:detail", key=membership.project.key)
