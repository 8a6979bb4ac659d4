"""Routes under /api/v1/jobs/ (included before the jobs router, whose `jobs/{pk}`
would otherwise take `jobs/preview` and `jobs/apply`). A trailing slash is optional."""

from django.urls import re_path

from authoring.views import JobAuthoringViewSet

JOB = r"^jobs/(?P<pk>\d+)/"

urlpatterns = [
    re_path(
        r"^jobs/preview/?$",
        JobAuthoringViewSet.as_view({"post": "preview_unsaved"}),
        name="job-preview-unsaved",
    ),
    re_path(r"^jobs/apply/?$", JobAuthoringViewSet.as_view({"post": "apply"}), name="jobs-apply"),
    re_path(JOB + r"preview/?$", JobAuthoringViewSet.as_view({"post": "preview"}), name="job-preview"),
    re_path(JOB + r"export/?$", JobAuthoringViewSet.as_view({"get": "export"}), name="job-export"),
]
