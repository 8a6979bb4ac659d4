"""What the authoring endpoints take and answer: previews, export and apply."""

from rest_framework import serializers

from authoring.preview import DEFAULT_LIMIT
from etlsite.serializers import StrictFieldsMixin
from jobs.config import JobConfigSerializer
from jobs.models import Job
from jobs.serializers import ComponentSerializer, UsableContextField


class PreviewSerializer(StrictFieldsMixin, serializers.Serializer):
    """What to preview of a saved job."""

    component = serializers.CharField(
        max_length=140,
        help_text="A component's name, or `<name>.rejects` for a validate component's rejects.",
    )
    limit = serializers.IntegerField(
        default=DEFAULT_LIMIT, help_text="Rows read from each source (at most ETL_PREVIEW_MAX_ROWS, 1000)."
    )
    context = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Default: the job's, as a start."
    )
    parameters = serializers.DictField(required=False, default=dict, help_text="Parameter overrides.")


class DraftJobSerializer(StrictFieldsMixin, serializers.Serializer):
    """An unsaved job as a job payload gives it: only what a preview needs is
    checked (the graph only up to the previewed component), so a job being
    written can be previewed step by step."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)
    default_context = UsableContextField(allow_null=True, required=False)
    config = JobConfigSerializer(required=False)
    components = ComponentSerializer(many=True)
    depends_on = serializers.ListField(required=False, help_text="Accepted, and not used by a preview.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


def draft_job(data: dict) -> Job:
    """An unsaved Job from DraftJobSerializer's data: its run settings and default context."""
    return Job(
        name=data.get("name") or "unsaved",
        default_context=data.get("default_context"),
        config=dict(data.get("config") or {}),
    )


class DraftPreviewSerializer(PreviewSerializer):
    job = DraftJobSerializer(help_text="The job as it would be saved (POST /jobs body).")


class PreviewResultSerializer(serializers.Serializer):
    component = serializers.CharField()
    columns = serializers.ListField(child=serializers.DictField(), help_text='[{"name", "type"}]')
    rows = serializers.ListField(child=serializers.DictField())
    limit = serializers.IntegerField(help_text="Rows read from each source (and shown at most).")


class ExportSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="Where `manage.py export_jobs` writes it: jobs/<name>.yaml.")
    content = serializers.CharField(help_text="The YAML text.")


class ApplySerializer(StrictFieldsMixin, serializers.Serializer):
    documents = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        max_length=1000,
        help_text='Each a document (an object with "kind"), a YAML text, or {"file", "content"} '
        "as GET /jobs/{id}/export answers.",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Answer the plan; change nothing.")


class PlanStepSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["context", "schema", "job"])
    name = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    file = serializers.CharField(help_text="The document it comes from.")


class ApplyResultSerializer(serializers.Serializer):
    plan = PlanStepSerializer(many=True)
    dry_run = serializers.BooleanField()
