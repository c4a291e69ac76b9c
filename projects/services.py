from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from projects.models import SETTINGS_FIELDS, Project
from projects.signals import project_created
from roles import policy
from roles.models import Permission
from roles.services import CREATOR_ROLE, add_member, seed_default_roles
from scrumboard.errors import ConflictError

# Fields a caller may set; anything else (archived, timestamps) has its own service.
EDITABLE_FIELDS = frozenset(SETTINGS_FIELDS)


def _apply(project: Project, changes: dict) -> None:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    for name, value in changes.items():
        setattr(project, name, value)


@transaction.atomic
def create_project(*, key: str, name: str, by, **fields) -> Project:
    """A new project with the default Scrum roles; its creator is its first administrator."""
    if not by.is_authenticated:
        raise ValidationError(_("Log in to create a project."))
    project = Project(key=key.strip().upper(), name=name)
    _apply(project, fields)
    project.full_clean()
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:  # a concurrent create took the key between validation and insert
        raise ValidationError({"key": _("Project with this key already exists.")}) from None
    roles = seed_default_roles(project)
    add_member(project=project, user=by, role=roles[CREATOR_ROLE], is_admin=True)
    project_created.send(sender=Project, project=project)
    return project


def update_project(*, project: Project, by, **changes) -> Project:
    policy.require(by, project, Permission.MANAGE_PROJECT)
    _apply(project, changes)
    project.full_clean()
    project.save()
    return project


def archive_project(*, project: Project, by) -> Project:
    policy.require(by, project, policy.ADMINISTER)
    if project.archived:
        raise ConflictError(_("The project is already archived."))
    project.archived = True
    project.save(update_fields=["archived", "updated_at"])
    return project


def unarchive_project(*, project: Project, by) -> Project:
    policy.require(by, project, policy.ADMINISTER)
    if not project.archived:
        raise ConflictError(_("The project is not archived."))
    project.archived = False
    project.save(update_fields=["archived", "updated_at"])
    return project
