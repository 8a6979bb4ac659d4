"""The authoring routes under /api/v1/jobs/: previews of a component (of a saved
job or an unsaved one), a job's YAML file, and applying documents (jobs as
code). A preview writes nothing; apply writes in one transaction."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from authoring.apply import apply_documents
from authoring.documents import file_name
from authoring.plan import ApplyError, api_documents
from authoring.preview import PreviewTooSlow, preview_job
from authoring.serializers import (
    ApplyResultSerializer,
    ApplySerializer,
    DraftPreviewSerializer,
    ExportSerializer,
    PreviewResultSerializer,
    PreviewSerializer,
    draft_job,
)
from contexts.resolution import RunInputError
from etlsite.permissions import SCOPE_WRITE
from jobs.access import hidden_job_names, visible_jobs
from jobs.documents import job_document, to_yaml
from jobs.models import Job
from jobs.views import refuse_unless_changeable

CHANGE_JOB = "jobs.change_job"


class PreviewTimedOut(exceptions.APIException):
    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_code = "timeout"


class JobAuthoringViewSet(viewsets.GenericViewSet):
    queryset = Job.objects.with_graph()
    pagination_class = None
    filter_backends = []
    # A preview reads data and writes nothing: no transaction (nor SQLite's write
    # lock) while it reads, but it needs what editing a job needs.
    read_only_actions = ("preview", "preview_unsaved")
    action_scopes = {"preview": SCOPE_WRITE, "preview_unsaved": SCOPE_WRITE}
    action_permissions = {"preview": CHANGE_JOB, "preview_unsaved": CHANGE_JOB, "apply": CHANGE_JOB}
    extra_error_statuses = {"preview": ("408",), "preview_unsaved": ("408",)}

    def get_queryset(self):
        return visible_jobs(self.request, super().get_queryset())

    def get_object(self):
        return refuse_unless_changeable(
            self.request, get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        )

    @extend_schema(request=PreviewSerializer, responses=PreviewResultSerializer)
    def preview(self, request, pk=None):
        """The first rows a component gives (columns with types, and rows): the graph up to
        it runs on the first `limit` rows of each source. Writes nothing, opens no sink."""
        job = self.get_object()
        options = PreviewSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        return Response(_preview(job, job.component_dicts(), options.validated_data, request.user))

    @extend_schema(
        request=DraftPreviewSerializer, responses=PreviewResultSerializer, operation_id="jobs_preview_unsaved"
    )
    def preview_unsaved(self, request):
        """A preview of an unsaved job (`"job"`: the POST /jobs body), for editors."""
        options = DraftPreviewSerializer(data=request.data, context=self.get_serializer_context())
        options.is_valid(raise_exception=True)
        draft = options.validated_data["job"]
        components = [dict(component) for component in draft["components"]]
        return Response(_preview(draft_job(draft), components, options.validated_data, request.user))

    @extend_schema(responses=ExportSerializer)
    def export(self, request, pk=None):
        """The job as a YAML file (`content`), as `manage.py export_jobs` writes it under `file`."""
        document = job_document(self.get_object(), hidden_job_names(request))
        return Response({"file": file_name(document), "content": to_yaml(document)})

    @extend_schema(request=ApplySerializer, responses=ApplyResultSerializer)
    def apply(self, request):
        """Create or update contexts, schemas and jobs from documents (jobs as code), all or
        nothing; `dry_run` answers the plan and changes nothing."""
        options = ApplySerializer(data=request.data)
        options.is_valid(raise_exception=True)
        dry_run = options.validated_data["dry_run"]
        try:
            documents = api_documents(options.validated_data["documents"])
            plan = apply_documents(documents, request=request, dry_run=dry_run)
        except ApplyError as error:
            raise serializers.ValidationError(error.problems) from None
        return Response({"plan": plan, "dry_run": dry_run})


def _preview(job: Job, components: list[dict], options: dict, user) -> dict:
    try:
        return preview_job(
            job,
            components,
            options["component"],
            user,
            limit=options["limit"],
            context_name=options.get("context") or None,
            parameters=options.get("parameters"),
        )
    except RunInputError as error:
        raise serializers.ValidationError(error.details) from None
    except PreviewTooSlow as error:
        raise PreviewTimedOut(str(error)) from None
