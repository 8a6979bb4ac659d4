from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from etlsite import configuration
from etlsite.models import SystemSetting


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
