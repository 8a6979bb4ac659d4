"""Backfill routes: `POST /jobs/{id}/backfill`, `GET /backfills/`,
`GET /backfills/{id}`, `POST /backfills/{id}/stop`, `POST /backfills/{id}/rerun`.

Creating, stopping and rerunning start or stop runs: they need what starting
a run needs (`execution.control_execution`, the `execute` scope). Reading
needs to see the job. Each change is audited.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from etlsite.permissions import SCOPE_EXECUTE
from execution.incremental.backfill import create_backfill, interval_state, rerun_interval, stop_backfill
from execution.lifecycle import request_action
from execution.models import Action, Backfill
from execution.views import ControlMixin, _bad_run_input
from jobs.access import visible_jobs


class BackfillSerializer(serializers.ModelSerializer):
    context = serializers.CharField(source="context_name")
    progress = serializers.SerializerMethodField()
    intervals = serializers.SerializerMethodField()
    executions = serializers.SerializerMethodField()

    class Meta:
        model = Backfill
        fields = [
            "id",
            "job",
            "context",
            "state",
            "start",
            "end",
            "interval",
            "parameters",
            "max_parallel",
            "created_at",
            "finished_at",
            "progress",
            "intervals",
            "executions",
        ]

    def _intervals(self, backfill):
        if not hasattr(backfill, "_interval_rows"):
            backfill._interval_rows = list(backfill.intervals.select_related("execution"))
        return backfill._interval_rows

    def get_intervals(self, backfill) -> list[dict]:
        return [
            {
                "start": i.start.isoformat(),
                "end": i.end.isoformat(),
                "state": interval_state(i),
                "execution": i.execution_id,
            }
            for i in self._intervals(backfill)
        ]

    def get_executions(self, backfill) -> list[int]:
        return [i.execution_id for i in self._intervals(backfill) if i.execution_id]

    def get_progress(self, backfill) -> dict:
        states = [interval_state(i) for i in self._intervals(backfill)]
        return {"total": len(states), **{state: states.count(state) for state in sorted(set(states))}}


class BackfillStartSerializer(serializers.Serializer):
    """Checked by create_backfill (one error body naming each field)."""

    start = serializers.CharField(help_text="ISO 8601; the first interval starts here.")
    end = serializers.CharField(help_text="ISO 8601; the last interval ends here.")
    interval = serializers.ChoiceField(choices=["hour", "day", "week", "month"])
    context = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    parameters = serializers.JSONField(required=False)
    max_parallel = serializers.IntegerField(required=False)


class JobBackfillView(ControlMixin, APIView):
    @extend_schema(request=BackfillStartSerializer, responses={202: BackfillSerializer})
    def post(self, request, job_id):
        """One run per interval of start..end, at most max_parallel at once."""
        job = self.get_job()
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"start": ["Give an object with start, end and interval."]})
        unknown = sorted(set(request.data) - set(BackfillStartSerializer().fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        try:
            backfill = create_backfill(job, request.user, request.data)
        except (RunInputError, CredentialKeyError) as error:
            raise _bad_run_input(error) from None
        record(request, "backfill", backfill, after=BackfillSerializer(backfill).data)
        return Response(BackfillSerializer(backfill).data, status=status.HTTP_202_ACCEPTED)


class BackfillScopedMixin:
    def get_queryset(self):
        return Backfill.objects.filter(job__in=visible_jobs(self.request)).select_related("job")

    @property
    def required_scope(self):
        return None if self.request.method in SAFE_METHODS else SCOPE_EXECUTE

    @property
    def required_permission(self):
        return None if self.request.method in SAFE_METHODS else "execution.control_execution"

    def get_backfill(self) -> Backfill:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["backfill_id"])


class BackfillListView(BackfillScopedMixin, generics.ListAPIView):
    serializer_class = BackfillSerializer
    ordering_fields = ["id", "created_at"]
    search_fields = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Backfill.objects.none()
        return super().get_queryset()


class BackfillDetailView(BackfillScopedMixin, APIView):
    @extend_schema(responses={200: BackfillSerializer})
    def get(self, request, backfill_id):
        return Response(BackfillSerializer(self.get_backfill()).data)


class BackfillStopView(BackfillScopedMixin, APIView):
    @extend_schema(request=None, responses={202: BackfillSerializer})
    def post(self, request, backfill_id):
        """Start no more intervals; ask the running ones to stop."""
        backfill = self.get_backfill()
        for execution in stop_backfill(backfill):
            try:
                request_action(backfill.job, Action.STOP, request.user, execution.pk)
            except Conflict:
                continue  # it ended meanwhile
        record(request, "stop", backfill, after={"state": backfill.state})
        return Response(BackfillSerializer(backfill).data, status=status.HTTP_202_ACCEPTED)


class RerunSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="The start of the failed or stopped interval to run again.")


class BackfillRerunView(BackfillScopedMixin, APIView):
    @extend_schema(request=RerunSerializer, responses={202: BackfillSerializer})
    def post(self, request, backfill_id):
        """Run one failed or stopped interval again, alone."""
        backfill = self.get_backfill()
        body = RerunSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        try:
            interval = rerun_interval(backfill, body.validated_data["start"], request.user)
        except (RunInputError, CredentialKeyError) as error:
            raise _bad_run_input(error) from None
        record(
            request,
            "rerun",
            backfill,
            after={"interval": interval.start.isoformat(), "execution": interval.execution_id},
        )
        backfill.refresh_from_db()
        return Response(BackfillSerializer(backfill).data, status=status.HTTP_202_ACCEPTED)
