"""The Execution router (control, monitoring, history) and the job monitoring
routes, all under /api/v1/jobs/{id}/.

Access is the API's default (`etlsite.permissions.ApiPermission`): reads
need a signed-in user (or the `read` scope), control actions the
`execution.control_execution` permission (the operator role) and the
`execute` scope. Jobs hidden from the user by object grants answer 404.
Every control action is audited.
"""

from functools import partial

from django.db.models import Count, Max
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.caching import aggregate, answer_unless_current, cached
from etlsite.permissions import SCOPE_EXECUTE
from execution import stats
from execution.control import RunRequest, record_start, restart_execution, start_execution
from execution.filters import ExecutionEventFilterSet, ExecutionFilterSet
from execution.lifecycle import request_action
from execution.models import ACTIVE_STATES, LEVEL_ORDER, Execution, ExecutionEvent, Trigger
from execution.serializers import (
    ControlSerializer,
    ExecutionErrorSerializer,
    ExecutionEventSerializer,
    ExecutionLogSerializer,
    ExecutionRejectsSerializer,
    ExecutionSerializer,
    RestartSerializer,
    StartSerializer,
)
from jobs.access import visible_jobs
from jobs.models import Job

LOG_PAGE_DEFAULT = 200
LOG_PAGE_MAX = 1000


class JobScopedMixin:
    """Every route here hangs off /jobs/{job_id}/."""

    def get_job(self) -> Job:
        if not hasattr(self, "_job"):  # read once per request
            self._job = get_object_or_404(visible_jobs(self.request), pk=self.kwargs["job_id"])
        return self._job

    def get_execution(self, job: Job) -> Execution:
        """The execution named in the URL, or `?execution=`, else the job's current one
        (the latest active, else the latest)."""
        executions = job.executions.all()
        wanted = self.kwargs.get("execution_id") or self.request.query_params.get("execution")
        if wanted:
            if not str(wanted).isdigit():
                raise serializers.ValidationError({"execution": ["Give an execution id (a number)."]})
            return get_object_or_404(executions, pk=wanted)
        execution = executions.filter(state__in=ACTIVE_STATES).order_by("-id").first() or executions.first()
        if execution is None:
            raise NotFound(f"Job {job.name!r} has not run yet.")
        return execution


# --- control ----------------------------------------------------------------------


def _bad_run_input(error: RunInputError | CredentialKeyError) -> serializers.ValidationError:
    if isinstance(error, RunInputError):
        return serializers.ValidationError(error.details)
    return serializers.ValidationError({"context": [str(error)]})


class ControlMixin(JobScopedMixin):
    required_scope = SCOPE_EXECUTE
    required_permission = "execution.control_execution"
    extra_error_statuses = ("409",)  # max_concurrent reached, nothing to act on


class StartView(ControlMixin, APIView):
    @extend_schema(
        request=StartSerializer,
        responses={202: ExecutionSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request, job_id):
        """Queue a run. The same `Idempotency-Key` header returns the same execution."""
        job = self.get_job()
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            execution, created = start_execution(
                job,
                RunRequest(
                    context_name=body.validated_data.get("context") or None,
                    overrides=body.validated_data["parameters"],
                    trigger=Trigger.API,
                    user=request.user,
                    idempotency_key=request.headers.get("Idempotency-Key") or None,
                ),
            )
        except (RunInputError, CredentialKeyError) as error:
            raise _bad_run_input(error) from None
        if created:
            record_start(request, job, execution)
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED, headers=headers)


class ControlView(ControlMixin, APIView):
    """Pause, resume or stop: takes effect at the next batch boundary."""

    control_action: str = ""

    @extend_schema(request=ControlSerializer, responses={202: ExecutionSerializer})
    def post(self, request, job_id):
        job = self.get_job()
        body = ControlSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        execution = request_action(
            job, self.control_action, request.user, body.validated_data.get("execution")
        )
        record(request, self.control_action, execution, after={"state": execution.state})
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)


class RestartView(ControlMixin, APIView):
    @extend_schema(request=RestartSerializer, responses={202: ExecutionSerializer})
    def post(self, request, job_id):
        """A new run of a finished execution (default: the latest), linked to it,
        with its context and parameters unless given."""
        job = self.get_job()
        body = RestartSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        try:
            execution = restart_execution(
                job,
                request.user,
                execution_id=body.validated_data.get("execution"),
                context_name=body.validated_data.get("context") or None,
                overrides=body.validated_data.get("parameters"),
            )
        except (RunInputError, CredentialKeyError) as error:
            raise _bad_run_input(error) from None
        record(
            request,
            "restart",
            execution,
            after={"restarts": execution.parent_id, "context": execution.context_name},
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)


# --- monitoring of the current (or a given) execution ------------------------------------


def version_of_runs(request, job_id) -> tuple | None:
    """What the history and status of a job are built from, read without reading
    its runs, in one query: the job (its name), the number of its runs and the
    last one, their latest heartbeat (progress and counters move with it) and
    their latest event (every change of state writes one, with the run's end
    and its error). The counters a run saves when it ends are followed by its
    `finish` event, at the latest a heartbeat later (execution/worker.py).
    None when the caller may not see the job (the answer is a 404)."""
    if not str(job_id).isdigit():
        return None
    facts = aggregate(
        visible_jobs(request).filter(pk=job_id),
        job=Max("pk"),
        changed=Max("updated_at"),
        count=Count("executions", distinct=True),
        last=Max("executions__id"),
        beat=Max("executions__heartbeat_at"),
        last_event=Max("executions__events__id"),
    )
    return tuple(facts.values()) if facts["job"] else None


class StatusView(JobScopedMixin, APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, job_id):
        """The job's current state: its active executions, else its last one."""
        version = version_of_runs(request, job_id)
        return answer_unless_current(request, version, partial(self.status, request))

    def status(self, request):
        job = self.get_job()
        executions = job.executions.select_related("job", "started_by")
        active = list(executions.filter(state__in=ACTIVE_STATES).order_by("-id"))
        current = active[0] if active else executions.first()
        return Response(
            {
                "job": job.pk,
                "job_name": job.name,
                "state": current.state if current else "idle",
                "active_executions": [e.pk for e in active],
                "execution": ExecutionSerializer(current).data if current else None,
                "progress": stats.progress_of(current) if current else None,
            }
        )


class ProgressView(JobScopedMixin, APIView):
    @extend_schema(
        responses={200: dict}, parameters=[OpenApiParameter("execution", int, description="Default: current")]
    )
    def get(self, request, job_id):
        """Percent done, rows, rows/s and the estimated time left."""
        return Response(stats.progress_of(self.get_execution(self.get_job())))


class MetricsView(JobScopedMixin, APIView):
    @extend_schema(
        responses={200: dict}, parameters=[OpenApiParameter("execution", int, description="Default: current")]
    )
    def get(self, request, job_id, execution_id=None):
        """Per-component counters (rows in/out/rejected, batches, seconds, bytes) and rows/s."""
        return Response(stats.metrics_of(self.get_execution(self.get_job())))


class ErrorsView(JobScopedMixin, APIView):
    @extend_schema(
        responses={200: dict}, parameters=[OpenApiParameter("execution", int, description="Default: current")]
    )
    def get(self, request, job_id, execution_id=None):
        """Why the run failed (component, field, location, sample rows) and its rejected rows."""
        execution = self.get_execution(self.get_job())
        errors = execution.errors.all()
        rejects = execution.rejects.select_related("execution")
        context = {"request": request}
        return Response(
            {
                "execution": execution.pk,
                "state": execution.state,
                "error": execution.error or None,
                "count": len(errors),
                "results": ExecutionErrorSerializer(errors, many=True).data,
                "rejects": ExecutionRejectsSerializer(rejects, many=True, context=context).data,
            }
        )


class LogsView(JobScopedMixin, APIView):
    @extend_schema(
        responses={200: dict},
        parameters=[
            OpenApiParameter("execution", int, description="Default: current (on the job-level route)"),
            OpenApiParameter("after", int, description="Only lines after this log id (tailing cursor)"),
            OpenApiParameter("level", str, description="Exact level(s), comma-separated"),
            OpenApiParameter("min_level", str, description="This level and above"),
            OpenApiParameter("component", str),
            OpenApiParameter("page_size", int, description=f"At most {LOG_PAGE_MAX}"),
        ],
    )
    def get(self, request, job_id, execution_id=None):
        """Log lines in order. Tail a run by passing the returned `last_id` as `after`."""
        execution = self.get_execution(self.get_job())
        params = request.query_params
        lines = execution.logs.all()
        after = _int_param(params, "after", 0)
        lines = lines.filter(id__gt=after)
        if params.get("level"):
            levels = [level.strip().lower() for level in params["level"].split(",")]
            _check_levels(levels, "level")
            lines = lines.filter(level__in=levels)
        if params.get("min_level"):
            minimum = params["min_level"].lower()
            _check_levels([minimum], "min_level")
            lines = lines.filter(level__in=LEVEL_ORDER[LEVEL_ORDER.index(minimum) :])
        if params.get("component"):
            lines = lines.filter(component=params["component"])
        size = min(_int_param(params, "page_size", LOG_PAGE_DEFAULT), LOG_PAGE_MAX) or LOG_PAGE_DEFAULT
        page = list(lines.order_by("id")[: size + 1])
        more = len(page) > size
        page = page[:size]
        last_id = page[-1].pk if page else after
        query = params.copy()
        query["after"] = str(last_id)
        return Response(
            {
                "execution": execution.pk,
                "state": execution.state,
                "last_id": last_id,
                "more": more,
                "next": request.build_absolute_uri(f"{request.path}?{query.urlencode()}"),
                "results": ExecutionLogSerializer(page, many=True).data,
            }
        )


def _int_param(params, name: str, default: int) -> int:
    value = params.get(name)
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise serializers.ValidationError({name: ["Give a whole number."]})
    return int(value)


def _check_levels(levels, name):
    unknown = [level for level in levels if level not in LEVEL_ORDER]
    if unknown:
        raise serializers.ValidationError(
            {name: [f"Unknown level {', '.join(unknown)}; use one of: {', '.join(LEVEL_ORDER)}."]}
        )


# --- history ------------------------------------------------------------------------


class ExecutionListView(JobScopedMixin, generics.ListAPIView):
    """A job's runs, newest first; filter by state, trigger, context and date range."""

    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilterSet
    ordering_fields = ["id", "queued_at", "started_at", "finished_at", "rows_read"]
    search_fields = []

    def get(self, request, *args, **kwargs):
        version = version_of_runs(request, kwargs["job_id"])
        return answer_unless_current(request, version, partial(super().get, request, *args, **kwargs))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Execution.objects.none()
        # Through the job's own manager, each execution already knows its job
        # (no join, no Job per row); the encrypted run-time overrides are never shown.
        return self.get_job().executions.select_related("started_by").defer("encrypted_overrides")


class ExecutionDetailView(JobScopedMixin, APIView):
    @extend_schema(responses={200: ExecutionSerializer})
    def get(self, request, job_id, execution_id):
        return Response(ExecutionSerializer(self.get_execution(self.get_job())).data)


class RejectsDownloadView(JobScopedMixin, APIView):
    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request, job_id, execution_id, component):
        """The rows a validate component rejected, with the `_reject_reason` column, as CSV."""
        execution = self.get_execution(self.get_job())
        rejects = get_object_or_404(execution.rejects, component=component)
        if not rejects.file_path.exists():
            raise NotFound(f"The rejects file of {component!r} is gone (removed by retention?).")
        return FileResponse(
            rejects.file_path.open("rb"),
            as_attachment=True,
            filename=f"{execution.job.name}-{execution.pk}-{component}-rejects.csv",
            content_type="text/csv",
        )


# --- job monitoring ---------------------------------------------------------------------


class HealthView(JobScopedMixin, APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, job_id):
        """ok / degraded / failing from recent success rate, consecutive failures and overdue schedules."""
        return Response(stats.health_of(self.get_job()))


class PerformanceView(JobScopedMixin, APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, job_id):
        """Duration p50/p95 and rows/s over recent successful runs (cached a few seconds)."""
        job = self.get_job()
        return Response(cached(f"job-performance:{job.pk}", lambda: stats.performance_of(job)))


class StatisticsView(JobScopedMixin, APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, job_id):
        """Counts by state and trigger, total rows read, written and rejected (cached a few seconds)."""
        job = self.get_job()
        return Response(cached(f"job-statistics:{job.pk}", lambda: stats.statistics_of(job)))


class TimelineView(JobScopedMixin, generics.ListAPIView):
    """Every state change and control request of the job's runs, in order, with who did it."""

    serializer_class = ExecutionEventSerializer
    filterset_class = ExecutionEventFilterSet
    ordering_fields = ["id", "created_at"]
    search_fields = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExecutionEvent.objects.none()
        return ExecutionEvent.objects.filter(execution__job=self.get_job()).order_by("id")
