"""``/api/v1/projects/{key}/imports/``: upload a file (parsed and previewed), run it, follow its progress.

Every route, reads included, takes "manage integrations" (as webhooks): an import writes the
whole backlog, and a job holds the uploaded file. Writes go through ``integrations.importing.jobs``.
"""

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, parsers, serializers, status, viewsets
from rest_framework.response import Response

from integrations.importing import jobs
from integrations.importing.records import ImportFileError
from integrations.importing.sources import SOURCES
from integrations.models import ImportJob
from roles.models import Permission
from scrumboard.api import CursorPagination, ProjectScopedMixin, created
from scrumboard.idempotency import IDEMPOTENCY_HEADER, idempotent

MANAGE = Permission.MANAGE_INTEGRATIONS
# Multipart framing around the file (boundaries, headers, the source field): allowed on top of the limit.
MULTIPART_SLACK = 64 * 1024


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    texts = {
        400: "Bad input: the error shape; a file that cannot be imported has its message under errors.file.",
        403: "A member without the “manage integrations” permission (or a read-only token writing).",
        404: "No such project for you (not a member), or no such import in it.",
        409: "The import is queued, running or has already run.",
        413: "The file is larger than IMPORT_MAX_BYTES (10 MB by default).",
    }
    return {code: OpenApiResponse(description=texts[code]) for code in codes}


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def file_error(exc: ImportFileError) -> exceptions.APIException:
    if exc.status == 413:
        return TooLarge(exc.message)
    return exceptions.ValidationError({"file": [exc.message]})


# --- shapes ---------------------------------------------------------------------------------------


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Rows written so far.")
    total = serializers.IntegerField(help_text="Rows to write.")
    percent = serializers.IntegerField(help_text="0-100.")


@extend_schema_field(OpenApiTypes.OBJECT)
class ReportField(serializers.JSONField):
    pass


class ImportJobSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    progress = serializers.SerializerMethodField()
    preview = ReportField(
        read_only=True,
        help_text=(
            "What the import will do: source, counts, creates, updates, problems [{row, key, message}], "
            "unknown_columns, people {matched, unmatched}; foreign sources add status_mapping, by_type, sprints."
        ),
    )
    result = ReportField(read_only=True, allow_null=True, help_text="After success: created, updated, … counts.")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "source",
            "filename",
            "size",
            "sha256",
            "state",
            "progress",
            "preview",
            "result",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"error": {"help_text": "Why the import failed (state failed)."}}

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job: ImportJob) -> dict:
        return jobs.job_progress(job)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The export: Jira CSV or JSON, GitHub Projects JSON, a Scrumboard export.")
    # A field named "source" shadows Field.source in the type stubs only; DRF takes it as a field.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=list(SOURCES),
        required=False,
        allow_blank=True,
        help_text="The file's format; detected from its content when left out.",
    )


# --- views ----------------------------------------------------------------------------------------


class NewestFirst(CursorPagination):
    ordering = "-id"


class ImportJobViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    pagination_class = NewestFirst
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.require(MANAGE)  # reads too: a job holds the uploaded file's contents in its preview
        if self.action == "create":
            # Before anything reads the body (the Idempotency-Key fingerprint would parse it all).
            length = request.META.get("CONTENT_LENGTH") or ""
            if length.isdigit() and int(length) > settings.IMPORT_MAX_BYTES + MULTIPART_SLACK:
                raise TooLarge(jobs.too_large_message())

    def get_queryset(self):
        return ImportJob.objects.filter(project=self.project).select_related("created_by").defer("data")

    def get_object(self) -> ImportJob:
        job = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if job is None:
            raise Http404
        job.project = self.project
        return job

    @extend_schema(
        responses={200: ImportJobSerializer(many=True), **_errors(403, 404)}, summary="Imports, newest first"
    )
    def list(self, request, key: str):
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(ImportJobSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ImportJobSerializer, **_errors(400, 403, 404, 413)},
        summary="Upload a file: parsed and previewed now (nothing imported yet); run it with /run/",
        examples=[
            OpenApiExample(
                "A Jira CSV export", value={"file": "jira-export.csv", "source": "jira_csv"}, request_only=True
            )
        ],
    )
    @idempotent
    def create(self, request, key: str):
        project = self.project
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise TooLarge(jobs.too_large_message())
        try:
            job = jobs.create_job(
                project=project,
                by=request.user,
                filename=upload.name,
                data=upload.read(),
                source=serializer.validated_data.get("source") or "",
            )
        except ImportFileError as exc:
            raise file_error(exc) from None
        job.project = project
        return created(ImportJobSerializer(job).data)

    @extend_schema(
        responses={200: ImportJobSerializer, **_errors(403, 404)}, summary="An import: state, progress, preview, result"
    )
    def retrieve(self, request, key: str, pk: int):
        return Response(ImportJobSerializer(self.get_object()).data)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: ImportJobSerializer, **_errors(403, 404, 409)},
        summary="Run a previewed (or failed) import in the background; follow it with GET",
    )
    @idempotent
    def run(self, request, key: str, pk: int):
        job = jobs.queue_job(job=self.get_object(), by=request.user)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
