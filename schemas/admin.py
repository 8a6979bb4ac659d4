from django import forms
from django.contrib import admin

from execution.engine.validation import SchemaDefinitionError
from schemas.models import Schema, check_definition


class SchemaAdminForm(forms.ModelForm):
    """Fields and rules are edited as JSON (the API's shapes) so the admin goes
    through the same checks and versioning as the API."""

    fields_json = forms.JSONField(
        label="Fields",
        help_text='[{"name": "carrier", "type": "string", "required": true, "nullable": false, '
        '"constraints": {"pattern": "^[A-Z0-9]{2}$"}, "examples": ["AA"]}]',
        widget=forms.Textarea(attrs={"rows": 14, "cols": 100}),
    )
    rules_json = forms.JSONField(
        label="Validation rules",
        required=False,
        help_text='[{"name": "times", "expression": "arr_time IS NULL OR dep_time IS NOT NULL", '
        '"message": "arrival without departure", "severity": "error"}]',
        widget=forms.Textarea(attrs={"rows": 6, "cols": 100}),
    )

    class Meta:
        model = Schema
        fields = ["name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            definition = self.instance.definition()
            self.initial["fields_json"] = definition["fields"]
            self.initial["rules_json"] = definition["rules"]

    def clean(self):
        cleaned = super().clean()
        fields, rules = cleaned.get("fields_json"), cleaned.get("rules_json") or []
        if fields is not None:
            try:
                check_definition(fields, rules)
            except SchemaDefinitionError as error:
                target = "rules_json" if error.rule else "fields_json"
                self.add_error(target, str(error))
        return cleaned


@admin.register(Schema)
class SchemaAdmin(admin.ModelAdmin):
    form = SchemaAdminForm
    list_display = ["name", "version", "description", "updated_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "version_history", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        obj.save_definition(
            fields=form.cleaned_data["fields_json"], rules=form.cleaned_data["rules_json"] or []
        )

    @admin.display(description="Saved versions")
    def version_history(self, schema):
        versions = schema.versions.values_list("version", "created_at")
        return ", ".join(f"v{number} ({created:%Y-%m-%d %H:%M})" for number, created in versions) or "-"
