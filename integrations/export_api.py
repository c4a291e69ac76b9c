"""``/api/v1/projects/{key}/export/``: the whole project as one JSON document, as a download.

Takes "manage integrations", like imports and webhooks: the document holds everything the
project holds (secrets excepted: see ``integrations.exporting``). An archived project is
read-only, so that permission lapses there; its administrators may still export it.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from integrations.exporting import FORMAT, VERSION, export_filename, export_project
from projects.models import Project
from roles import policy
from roles.models import Permission
from scrumboard.api import ProjectScopedMixin

MANAGE = Permission.MANAGE_INTEGRATIONS


def require_export(user, project: Project) -> None:
    """“Manage integrations”; in an archived project (read-only) its administrators may still take a copy."""
    policy.require(user, project, policy.ADMINISTER if project.archived else MANAGE)


EXAMPLE = {
    "format": FORMAT,
    "version": VERSION,
    "exported_at": "2026-11-25T10:15:00+05:00",
    "project": {"key": "SB", "name": "Scrumboard", "timezone": "Asia/Almaty", "sprint_length_days": 14},
    "members": [{"username": "aigerim", "email": "aigerim@example.com", "name": "Aigerim S.", "role": "scrum-master"}],
    "items": [{"key": "SB-1", "number": 1, "type": "epic", "title": "Minimum viable product", "status": "To Do"}],
    "sprints": [],
    "standups": {"meetings": [], "impediments": []},
    "retrospectives": [],
    "roadmap": {"phases": [], "milestones": [], "releases": []},
}


class ProjectExportView(ProjectScopedMixin, viewsets.GenericViewSet):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_export(request.user, self.project)

    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "The export document (format “scrumboard-export”, version 1), sent as an attachment named "
                    "KEY-YYYY-MM-DD.json. People appear by username, never by id; webhooks, tokens and calendar "
                    "feeds are not in it. Restore it into a new, empty project with an import of source “scrumboard”."
                ),
                examples=[OpenApiExample("A small project (abridged)", value=EXAMPLE)],
            ),
            403: OpenApiResponse(
                description="A member without the “manage integrations” permission (archived project: not an "
                "administrator)."
            ),
            404: OpenApiResponse(description="No such project for you (not a member)."),
        },
        summary="The whole project as JSON: items with history, sprints, meetings, retrospectives, roadmap",
    )
    def export(self, request, key: str):
        project = self.project
        filename = export_filename(project)
        return Response(export_project(project), headers={"Content-Disposition": f'attachment; filename="{filename}"'})
