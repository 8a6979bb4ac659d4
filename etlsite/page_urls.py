"""The server-rendered pages, mounted at the site root (after /api/, /admin/,
/o/ and /metrics, which they never shadow)."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from authoring import pages as authoring_pages
from execution import job_pages
from execution import pages as execution_pages
from monitoring import pages as monitoring_pages
from schemas import pages as schema_pages

urlpatterns = [
    path("", monitoring_pages.dashboard, name="page-dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", next_page="page-dashboard"),
        name="page-login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="page-login"), name="page-logout"),
    path("jobs/", job_pages.job_list, name="page-jobs"),
    path("jobs/<int:job_id>/", job_pages.job_detail, name="page-job"),
    path("jobs/<int:job_id>/start/", job_pages.job_start, name="page-job-start"),
    path("jobs/<int:job_id>/state/reset/", job_pages.job_state_reset, name="page-job-state-reset"),
    path("jobs/<int:job_id>/backfill/", job_pages.job_backfill, name="page-job-backfill"),
    path("executions/", execution_pages.execution_list, name="page-executions"),
    path("executions/<int:execution_id>/", execution_pages.execution_detail, name="page-execution"),
    path(
        "executions/<int:execution_id>/throughput/",
        execution_pages.execution_throughput,
        name="page-execution-throughput",
    ),
    re_path(
        r"^executions/(?P<execution_id>\d+)/(?P<action>pause|resume|stop|restart)/$",
        execution_pages.execution_control,
        name="page-execution-control",
    ),
    path("schemas/", schema_pages.schema_list, name="page-schemas"),
    path("schemas/<int:schema_id>/", schema_pages.schema_documentation, name="page-schema"),
    path("jobs/<int:job_id>/versions/", authoring_pages.job_versions_compare, name="page-job-versions"),
    path("jobs/<int:job_id>/versions/<int:number>/", authoring_pages.job_version, name="page-job-version"),
    path(
        "jobs/<int:job_id>/versions/<int:number>/restore/",
        authoring_pages.job_version_restore,
        name="page-job-version-restore",
    ),
]
