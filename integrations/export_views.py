"""The "Export project" download: the same document as ``GET /api/v1/projects/{key}/export/``."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from integrations.export_api import require_export
from integrations.exporting import export_filename, export_project
from roles.models import Permission
from scrumboard.pages import project_page


@require_GET
@project_page(Permission.VIEW)
def export_download(request, project):
    require_export(request.user, project)
    body = json.dumps(export_project(project), ensure_ascii=False, indent=1, cls=DjangoJSONEncoder)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(project)}"'
    return response
