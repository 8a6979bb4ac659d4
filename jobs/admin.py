from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.access import restrict_to_groups
from accounts.admin_grants import HiddenObjectsUnnamedOnDeletePages
from contexts.access import usable_contexts
from execution.engine.graph import validate_components
from jobs.access import may_change_job, visible_jobs, visible_links
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
        problems = validate_components(components, data_roots=settings.ETL_DATA_ROOTS)
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

    # Links to upstream jobs hidden from the user are neither shown nor offered (nor
    # touched when the others are saved), as in the API.
    def get_queryset(self, request):
        return visible_links(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "upstream":
            kwargs["queryset"] = visible_jobs(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


class JobAdmin(HiddenObjectsUnnamedOnDeletePages, admin.ModelAdmin):
    form = JobAdminForm
    list_display = ["name", "description", "default_context", "component_count", "schedule", "updated_at"]
    # Only contexts the listed (visible) jobs use: the plain filter would list every context.
    list_filter = [("default_context", admin.RelatedOnlyFieldListFilter), "components__type", "created_at"]
    search_fields = ["name", "description", "components__name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ComponentInline, JobDependencyInline]
    # The run actions (start, pause, resume, stop, validate) come with the runs:
    # execution/admin.py registers this admin with them.

    def get_queryset(self, request):
        jobs = super().get_queryset(request).select_related("default_context").prefetch_related("components")
        # Restricted jobs stay invisible to staff outside their groups, as in the API
        # (a pk subquery rather than restrict_to_groups' DISTINCT, which bulk delete refuses).
        return jobs.filter(pk__in=restrict_to_groups(Job.objects.all(), request.user).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "default_context":
            # A hidden context is not offered, and naming one is "not one of the available choices".
            kwargs["queryset"] = usable_contexts(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # A job whose default context the user may not use is read-only to them (as in the API).
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or may_change_job(request.user, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or may_change_job(request.user, obj)
        )

    @admin.display(description="components")
    def component_count(self, job):
        return len(job.components.all())

    @admin.display(description="schedule")
    def schedule(self, job):
        return job.effective_config.get("schedule") or "—"
