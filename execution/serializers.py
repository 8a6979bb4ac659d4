from rest_framework import serializers

from etlsite.serializers import ModelSerializer, StrictFieldsMixin
from execution.models import Execution, ExecutionError, ExecutionEvent, ExecutionLog, ExecutionRejects


class ExecutionSerializer(ModelSerializer):
    job_name = serializers.CharField(source="job.name", read_only=True)
    context = serializers.CharField(source="context_name", read_only=True)
    started_by = serializers.CharField(
        source="started_by.username", read_only=True, default=None, allow_null=True
    )
    duration_seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="null until it starts"
    )

    class Meta:
        model = Execution
        fields = [
            "id",
            "job",
            "job_name",
            "job_version",
            "state",
            "requested_action",
            "trigger",
            "context",
            "parameters",
            "attempt",
            "parent",
            "started_by",
            "scheduled_for",
            "queued_at",
            "not_before",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "duration_seconds",
            "worker_id",
            "progress",
            "rows_read",
            "rows_written",
            "rows_rejected",
            "counters",
            "custom_metrics",
            "error",
        ]
        read_only_fields = fields

    def to_representation(self, execution):
        data = super().to_representation(execution)
        # The throughput samples are the metrics route's "throughput", not every listing's.
        data["progress"] = {k: v for k, v in data["progress"].items() if k != "samples"}
        return data


class ExecutionLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionLog
        fields = ["id", "execution", "created_at", "level", "component", "message"]
        read_only_fields = fields


class ExecutionErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionError
        fields = ["id", "execution", "created_at", "component", "field", "location", "message", "sample"]
        read_only_fields = fields


class ExecutionEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionEvent
        fields = ["id", "execution", "created_at", "action", "from_state", "to_state", "by", "message"]
        read_only_fields = fields


class ExecutionRejectsSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExecutionRejects
        fields = ["component", "rows", "sample", "download"]
        read_only_fields = fields

    def get_download(self, rejects) -> str:
        request = self.context.get("request")
        path = f"/api/v1/jobs/{rejects.execution.job_id}/executions/{rejects.execution_id}/rejects/{rejects.component}.csv"
        return request.build_absolute_uri(path) if request else path


class StartSerializer(StrictFieldsMixin, serializers.Serializer):
    context = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Context name; default: the job's."
    )
    parameters = serializers.DictField(
        required=False, default=dict, help_text="Run-time parameter overrides."
    )


class ControlSerializer(StrictFieldsMixin, serializers.Serializer):
    execution = serializers.IntegerField(
        required=False, help_text="Which active execution; needed only when the job has several."
    )


class RestartSerializer(StartSerializer):
    execution = serializers.IntegerField(
        required=False, help_text="Which execution to restart; default: the latest."
    )
    parameters = serializers.DictField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Overrides; default: those of the restarted run.",
    )
