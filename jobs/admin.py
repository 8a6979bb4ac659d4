from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from execution.engine.graph import validate_components
from jobs.config import JobConfigSerializer
from jobs.models import Component, Job, JobDependency


class ComponentFormSet(forms.BaseInlineFormSet):
    """Validate the graph the inline rows form together, before anything is saved."""

    def clean(self):
        super().clean()
        components = [
            {
                "name": form.cleaned_data.get("name"),
                "type": form.cleaned_data.get("type"),
                "inputs": form.cleaned_data.get("inputs") or [],
                "config": form.cleaned_data.get("config") or {},
            }
            for form in sorted(self.forms, key=lambda f: f.cleaned_data.get("position") or 0)
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = validate_components(components)
        if problems:
            raise ValidationError([problem.describe() for problem in problems])


class ComponentInline(admin.TabularInline):
    model = Component
    formset = ComponentFormSet
    extra = 0
    fields = ["position", "name", "type", "inputs", "config"]
    ordering = ["position"]


class JobDependencyInline(admin.TabularInline):
    model = JobDependency
    fk_name = "downstream"
    extra = 0
    verbose_name = "runs after"
    verbose_name_plural = "runs after (upstream jobs)"
    autocomplete_fields = ["upstream"]


class JobAdminForm(forms.ModelForm):
    class Meta:
        model = Job
        fields = ["name", "description", "default_context", "config"]

    def clean_config(self):
        config = self.cleaned_data.get("config") or {}
        serializer = JobConfigSerializer(data=config)
        if not serializer.is_valid():
            errors = serializer.errors.items()
            raise ValidationError([f"{name}: {' '.join(map(str, messages))}" for name, messages in errors])
        return dict(serializer.validated_data)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobAdminForm
    list_display = ["name", "description", "default_context", "component_count", "schedule", "updated_at"]
    list_filter = ["default_context", "components__type", "created_at"]
    search_fields = ["name", "description", "components__name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ComponentInline, JobDependencyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("default_context").prefetch_related("components")

    @admin.display(description="components")
    def component_count(self, job):
        return len(job.components.all())

    @admin.display(description="schedule")
    def schedule(self, job):
        return job.effective_config.get("schedule") or "—"
