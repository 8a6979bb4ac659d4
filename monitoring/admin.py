from django.contrib import admin

from jobs.access import visible_jobs
from monitoring.custom_metrics import visible_metrics
from monitoring.models import CustomMetric
from monitoring.notifications import admin as notification_admin  # noqa: F401  (registers its pages)


@admin.register(CustomMetric)
class CustomMetricAdmin(admin.ModelAdmin):
    list_display = ["name", "value", "labels", "source", "recorded_at", "execution"]
    list_filter = ["source", "name"]
    search_fields = ["name"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["execution"]

    # Values of runs of hidden jobs, or labelled with a hidden job's name, are hidden, as in the API.
    def get_queryset(self, request):
        return visible_metrics(visible_jobs(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
