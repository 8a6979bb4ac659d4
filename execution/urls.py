"""Routes under /api/v1/jobs/{id}/: control, monitoring and history of runs.

Seed paths have no trailing slash; one is accepted too (as the jobs router does).
"""

from django.urls import re_path

from execution import views
from execution.incremental import backfill_api
from execution.incremental.state_api import JobStateView
from execution.models import Action

JOB = r"^jobs/(?P<job_id>\d+)/"
EXECUTION = JOB + r"executions/(?P<execution_id>\d+)/"
BACKFILL = r"^backfills/(?P<backfill_id>\d+)/"


def route(prefix: str, name: str, view, url_name: str):
    return re_path(rf"{prefix}{name}/?$", view, name=url_name)


urlpatterns = [
    route(JOB, "start", views.StartView.as_view(), "job-start"),
    route(JOB, "stop", views.ControlView.as_view(control_action=Action.STOP), "job-stop"),
    route(JOB, "pause", views.ControlView.as_view(control_action=Action.PAUSE), "job-pause"),
    route(JOB, "resume", views.ControlView.as_view(control_action=Action.RESUME), "job-resume"),
    route(JOB, "restart", views.RestartView.as_view(), "job-restart"),
    route(JOB, "status", views.StatusView.as_view(), "job-status"),
    route(JOB, "logs", views.LogsView.as_view(), "job-logs"),
    route(JOB, "metrics", views.MetricsView.as_view(), "job-metrics"),
    route(JOB, "errors", views.ErrorsView.as_view(), "job-errors"),
    route(JOB, "progress", views.ProgressView.as_view(), "job-progress"),
    route(JOB, "executions", views.ExecutionListView.as_view(), "job-executions"),
    re_path(EXECUTION[:-1] + "/?$", views.ExecutionDetailView.as_view(), name="job-execution"),
    route(EXECUTION, "logs", views.LogsView.as_view(), "job-execution-logs"),
    route(EXECUTION, "metrics", views.MetricsView.as_view(), "job-execution-metrics"),
    route(EXECUTION, "errors", views.ErrorsView.as_view(), "job-execution-errors"),
    re_path(
        EXECUTION + r"rejects/(?P<component>[A-Za-z_][A-Za-z0-9_]*)\.csv$",
        views.RejectsDownloadView.as_view(),
        name="job-execution-rejects",
    ),
    route(JOB, "state", JobStateView.as_view(), "job-state"),
    route(JOB, "backfill", backfill_api.JobBackfillView.as_view(), "job-backfill"),
    re_path(r"^backfills/?$", backfill_api.BackfillListView.as_view(), name="backfill-list"),
    re_path(BACKFILL[:-1] + "/?$", backfill_api.BackfillDetailView.as_view(), name="backfill-detail"),
    route(BACKFILL, "stop", backfill_api.BackfillStopView.as_view(), "backfill-stop"),
    route(BACKFILL, "rerun", backfill_api.BackfillRerunView.as_view(), "backfill-rerun"),
    route(JOB, "health", views.HealthView.as_view(), "job-health"),
    route(JOB, "performance", views.PerformanceView.as_view(), "job-performance"),
    route(JOB, "statistics", views.StatisticsView.as_view(), "job-statistics"),
    route(JOB, "timeline", views.TimelineView.as_view(), "job-timeline"),
]
