"""The Metrics and Setup routes. Views stay thin: the work is in the modules they call.

Figures about jobs, executions, custom metrics and credentials' hosts count only
what the caller may see (accounts.access): their jobs and contexts. Figures
about the server itself (CPU, memory, disk, network, API requests per route,
workers and queue depth, database and migrations) are the same for every
authenticated caller.
"""

import time
from datetime import UTC, datetime, timedelta
from functools import partial

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from contexts.access import visible_contexts
from etlsite import configuration
from etlsite.caching import cached
from etlsite.errors import error_body
from jobs.access import visible_jobs
from monitoring import (
    custom_metrics,
    execution_stats,
    health,
    info,
    request_metrics,
    resources,
)
from monitoring.filters import parse_labels, time_range
from monitoring.models import CustomMetric, SystemState
from monitoring.serializers import ConfigureSerializer, CustomMetricSerializer, InitializeSerializer
from monitoring.setup import initialize_system, setup_status

HISTORY_MINUTES_MAX = 24 * 60

WINDOW_PARAMETERS = [
    OpenApiParameter("window", str, description="Duration back from now: 90s, 15m, 1h, 7d."),
    OpenApiParameter("since", str, description="ISO 8601 start time (instead of window)."),
    OpenApiParameter("until", str, description="ISO 8601 end time (default now)."),
]


def health_response(report: dict) -> Response:
    """A health report; a 503 also carries the standard error body."""
    http_status = report.pop("http_status", 200)
    if http_status >= 500:
        failing = [name for name, check in report["checks"].items() if check["status"] == health.FAILING]
        report.update(error_body("unhealthy", f"Failing checks: {', '.join(failing)}.", {"failing": failing}))
    return Response(report, status=http_status)


# --- Metrics ----------------------------------------------------------------------


class SystemMetricsView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """CPU, load, memory, disk, network, this process and uptime (cached a few seconds)."""
        return Response(cached("system", resources.system_snapshot))


class PerformanceView(APIView):
    @extend_schema(parameters=WINDOW_PARAMETERS, responses={200: dict})
    def get(self, request):
        """API request rate, latency percentiles and error rate per route since the server
        started, and ETL throughput over a window (default 15m)."""
        since, until = time_range(request.query_params, timedelta(minutes=15))
        return Response(
            {
                "window": {"since": since, "until": until},
                "requests": request_summary(),
                "etl": execution_stats.throughput(since, until, jobs=visible_jobs(request)),
            }
        )


def request_summary() -> dict:
    """API requests since the web server started (its counters only grow), with rates
    over that time. Rates over a window: Prometheus' rate() on /metrics."""
    stats, counting_since = request_metrics.read_stats()
    since = counting_since or time.time()
    seconds = max(time.time() - since, 1.0)
    total = sum(route.count for route in stats)
    errors = sum(route.server_errors for route in stats)
    return {
        "since": datetime.fromtimestamp(since, UTC),
        "total": total,
        "rate_per_second": round(total / seconds, 4),
        "error_rate": round(errors / total, 4) if total else 0.0,
        "routes": [
            {
                "method": route.method,
                "route": route.route,
                "count": route.count,
                "rate_per_second": round(route.count / seconds, 4),
                "latency_seconds": {
                    "mean": round(route.duration_sum / route.count, 6),
                    "p50": route.quantile(0.50),
                    "p95": route.quantile(0.95),
                    "p99": route.quantile(0.99),
                },
                "client_errors": route.client_errors,
                "server_errors": route.server_errors,
                "error_rate": round(route.server_errors / route.count, 4),
            }
            for route in stats
        ],
    }


RESOURCE_SERIES = {
    "cpu": {"fields": {"percent": "cpu_percent", "load_1m": "load_1m"}, "rates": {}},
    "memory": {
        "fields": {
            "percent": "memory_percent",
            "used_bytes": "memory_used_bytes",
            "swap_percent": "swap_percent",
        },
        "rates": {},
    },
    "disk": {
        "fields": {"percent": "disk_percent", "used_bytes": "disk_used_bytes"},
        "rates": {"read_bytes_per_second": "disk_read_bytes", "write_bytes_per_second": "disk_write_bytes"},
    },
    "network": {
        "fields": {"bytes_sent": "net_sent_bytes", "bytes_recv": "net_recv_bytes"},
        "rates": {"sent_bytes_per_second": "net_sent_bytes", "recv_bytes_per_second": "net_recv_bytes"},
    },
}


class ResourceHistoryView(APIView):
    resource = ""

    @extend_schema(
        parameters=[OpenApiParameter("minutes", int, description="History length (default 60, max 1440).")],
        responses={200: dict},
    )
    def get(self, request):
        """The current value and a short history sampled in the background."""
        minutes = request.query_params.get("minutes", "60")
        if not minutes.isdigit() or not 1 <= int(minutes) <= HISTORY_MINUTES_MAX:
            raise ValidationError({"minutes": [f"Expected a whole number from 1 to {HISTORY_MINUTES_MAX}."]})
        spec = RESOURCE_SERIES[self.resource]
        history = resources.series(int(minutes), spec["fields"], spec["rates"])
        return Response({"resource": self.resource, "current": history[-1], "history": history})


# POST takes and returns an object or a list of them.
ONE_OR_MANY_METRICS = PolymorphicProxySerializer(
    component_name="CustomMetricOneOrMany",
    serializers=[CustomMetricSerializer, CustomMetricSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


class CustomMetricsView(APIView):
    queryset = CustomMetric.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, description="Exact metric name."),
            OpenApiParameter("label", str, many=True, description="key:value, repeatable (all must match)."),
            *WINDOW_PARAMETERS,
        ],
        responses={200: dict},
    )
    def get(self, request):
        """Custom metric series filtered by name, labels and time (default window 24h)."""
        params = request.query_params
        since, until = time_range(params, timedelta(hours=24))
        try:
            result = custom_metrics.query_series(
                jobs=visible_jobs(request),
                name=params.get("name"),
                labels=parse_labels(params.getlist("label")),
                since=since,
                until=until,
            )
        except custom_metrics.MetricError as error:
            raise ValidationError({error.field: [error.message]}) from None
        return Response({"window": {"since": since, "until": until}, **result})

    @extend_schema(request=ONE_OR_MANY_METRICS, responses={201: ONE_OR_MANY_METRICS})
    def post(self, request):
        """Record one value (an object) or several (a list of objects, at most 1000)."""
        many = isinstance(request.data, list)
        serializer = CustomMetricSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        rows = custom_metrics.record_custom_metrics(items)
        data = CustomMetricSerializer(rows, many=True).data
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


class JobMetricsView(APIView):
    @extend_schema(parameters=WINDOW_PARAMETERS, responses={200: dict})
    def get(self, request):
        """Per job: executions by state, and over the window (default 7d) success rate and rows moved."""
        since, until = time_range(request.query_params, timedelta(days=7))
        return Response(
            {
                "window": {"since": since, "until": until},
                "jobs": execution_stats.job_metrics(since, until, jobs=visible_jobs(request)),
            }
        )


class ComponentMetricsView(APIView):
    @extend_schema(parameters=WINDOW_PARAMETERS, responses={200: dict})
    def get(self, request):
        """Per component type over the window (default 7d): runs, rows in/out/rejected, rows/s, failures."""
        since, until = time_range(request.query_params, timedelta(days=7))
        return Response(
            {
                "window": {"since": since, "until": until},
                "component_types": execution_stats.component_metrics(
                    since, until, jobs=visible_jobs(request), include_idle=True
                ),
            }
        )


class ExecutionMetricsView(APIView):
    @extend_schema(parameters=WINDOW_PARAMETERS, responses={200: dict})
    def get(self, request):
        """Running, queued and paused now; throughput and failure rate over the window (default 24h)."""
        since, until = time_range(request.query_params, timedelta(hours=24))
        return Response(execution_stats.execution_metrics(since, until, jobs=visible_jobs(request)))


# --- Health -------------------------------------------------------------------------


def _all_checks(request) -> dict:
    """Every check, the job, component and external ones over what the caller may see."""
    jobs = visible_jobs(request)
    return {
        "database": health.check_database,
        "migrations": health.check_migrations,
        "worker": health.check_worker,
        "jobs": partial(execution_stats.check_jobs, jobs=jobs),
        "components": partial(execution_stats.check_components, jobs=jobs),
        "external": partial(health.check_external, contexts=visible_contexts(request)),
    }


class HealthView(APIView):
    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        """Overall health: 503 when the database or migrations fail, else ok or degraded."""
        report = health.run_checks(_all_checks(request))
        summary = {
            name: {"status": check["status"], "message": check["message"]}
            for name, check in report["checks"].items()
        }
        report["checks"] = summary
        return health_response(report)


def _single_checks(request) -> dict:
    return {**_all_checks(request), "database": health.check_database_and_migrations}


class SingleCheckView(APIView):
    """One check; 503 when it fails."""

    check_name = ""

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        report = health.run_checks({self.check_name: _single_checks(request)[self.check_name]})
        check = report["checks"][self.check_name]
        body = {**check, "checked_at": report["checked_at"]}
        if check["status"] == health.FAILING:
            body.update(error_body("unhealthy", check["message"]))
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(body)


class ProbeView(APIView):
    """For load balancers: no credentials, and never throttled (a 429 would read as "down")."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []


class ReadyView(ProbeView):
    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        """Ready to serve: database reachable, migrations applied, a worker alive (no auth)."""
        report = health.run_checks(
            {
                "database": health.check_database,
                "migrations": health.check_migrations,
                "worker": health.check_worker,
            }
        )
        failing = [name for name, check in report["checks"].items() if check["status"] == health.FAILING]
        body = {
            "ready": not failing,
            "checks": {name: check["status"] for name, check in report["checks"].items()},
        }
        if failing:
            messages = " ".join(report["checks"][name]["message"] for name in failing)
            body.update(error_body("not_ready", messages, {"failing": failing}))
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(body)


class LiveView(ProbeView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """The process answers (no database access, no auth)."""
        return Response({"alive": True, "time": timezone.now()})


class DetailedHealthView(APIView):
    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        """Every check with its details and timing, plus version and uptime."""
        report = health.run_checks(_all_checks(request))
        report["version"] = info.version_info()
        return health_response(report)


# --- Setup ----------------------------------------------------------------------------


class AdminOnlyView(APIView):
    # The API permission lets only superusers and the `admin` role (and API keys
    # with the admin scope) through.
    admin_only = True


class InitializeView(AdminOnlyView):
    @extend_schema(request=InitializeSerializer, responses={200: dict})
    def post(self, request):
        """Create roles, the default context and (unless demo=false) the demo job; reports created vs found."""
        serializer = InitializeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = initialize_system(create_admin=False, demo=serializer.validated_data["demo"])
        return Response(report)


class SetupStatusView(AdminOnlyView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Initialized, migrations, admin account, workers, data roots."""
        return Response(setup_status())


class ConfigureView(AdminOnlyView):
    @extend_schema(request=ConfigureSerializer, responses={200: dict})
    def post(self, request):
        """Apply a set of settings and mark the system configured."""
        serializer = ConfigureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = apply_settings(request, serializer.validated_data["settings"], field_prefix="settings")
        state = SystemState.current()
        state.configured_at = timezone.now()
        state.save(update_fields=["configured_at"])
        return Response(
            {
                "configured": True,
                "configured_at": state.configured_at,
                "changed": changed,
                "settings": configuration.current_settings(),
            }
        )


class ConfigurationView(AdminOnlyView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Every system setting: type, default, description, current value."""
        return Response({"settings": configuration.current_settings()})

    @extend_schema(request=dict, responses={200: dict})
    def put(self, request):
        """Change settings: `{name: value}` (null resets to the default), or the GET body edited."""
        changes = request.data
        if isinstance(changes, dict) and isinstance(changes.get("settings"), list):
            changes = {
                item.get("name"): item.get("value") for item in changes["settings"] if isinstance(item, dict)
            }
        changed = apply_settings(request, changes)
        return Response({"changed": changed, "settings": configuration.current_settings()})


def apply_settings(request, changes, field_prefix: str | None = None) -> dict:
    """Validate all changes first (400 naming every bad one), then store and audit them."""
    try:
        cleaned = configuration.validate_changes(changes)
    except configuration.SettingError as error:
        raise ValidationError({error.field: [error.message]}) from None
    except configuration.SettingValidationError as error:
        raise ValidationError({field_prefix: error.errors} if field_prefix else error.errors) from None
    changed = configuration.apply_changes(cleaned, user=request.user)
    if changed:
        audit.record(
            request,
            "update",
            object_type="etlsite.systemsetting",
            before={name: change["old"] for name, change in changed.items()},
            after={name: change["new"] for name, change in changed.items()},
        )
    return changed


# --- Info ---------------------------------------------------------------------------------


class InfoView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Name, version, environment, database engine, broker."""
        return Response(cached("info", info.system_info))


class VersionView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """The version (the same source as the OpenAPI schema's)."""
        return Response(info.version_info())


class FeaturesView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Feature flags and whether each is enabled."""
        return Response(cached("features", info.features))


class CapabilitiesView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        """Component types, auth methods, source/sink kinds and limits."""
        return Response(cached("capabilities", info.capabilities))
