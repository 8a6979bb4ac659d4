from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.access import visible_jobs
from monitoring import configuration
from monitoring.custom_metrics import visible_metrics
from monitoring.models import CustomMetric, SystemSetting


class SystemSettingForm(forms.ModelForm):
    class Meta:
        model = SystemSetting
        fields = ["name", "value"]

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name")
        if name is None:
            return cleaned
        try:
            cleaned["value"] = configuration.get_definition(name).clean(cleaned.get("value"))
        except configuration.SettingError as error:
            raise ValidationError({"value" if error.field == name else "name": error.message}) from None
        return cleaned


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    """Stored overrides of the system settings; the full list with defaults is
    GET /api/v1/setup/configuration."""

    form = SystemSettingForm
    list_display = ["name", "value", "updated_at", "updated_by"]
    search_fields = ["name"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        configuration.clear_cache()


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
