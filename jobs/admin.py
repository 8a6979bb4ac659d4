import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path

from accounts.access import restrict_to_groups
from accounts.admin_grants import HiddenObjectsUnnamedOnDeletePages
from contexts.access import usable_contexts
from execution.engine.registry import all_specs
from jobs.access import may_change_job, visible_jobs, visible_links
from jobs.component_editor import ComponentForm, ComponentFormSet
from jobs.config import JobConfigSerializer
from jobs.config_forms import known_settings, render_config_form
from jobs.graph_picture import graph_picture
from jobs.models import Component, Job, JobDependency, JobVersion
from jobs.versions import record_version


def extra_ports() -> dict[str, list[str]]:
    """Type -> its ports besides the main one (`validate`: rejects), for the editor's input lists."""
    return {
        spec.type: [p for p in spec.outputs if p != "main"] for spec in all_specs() if len(spec.outputs) > 1
    }


class ComponentInline(admin.StackedInline):
    model = Component
    form = ComponentForm
    formset = ComponentFormSet
    extra = 0
    fieldsets = [(None, {"fields": [("name", "position"), ("type", "inputs"), "config"]})]
    ordering = ["position"]
    classes = ["component-editor"]


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

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The graph as saved; the editor's script redraws it from the form as it changes.
        components = obj.component_dicts() if obj is not None else []
        context.update(
            graph=graph_picture(components), components=components, output_ports=json.dumps(extra_ports())
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request, form, formsets, change):
        # The components and dependencies are saved here, after the job: only now is the definition whole.
        super().save_related(request, form, formsets, change)
        record_version(form.instance, user=request.user, via=JobVersion.Via.ADMIN)

    def get_urls(self):
        editor = [
            path(
                "editor/config-form/",
                self.admin_site.admin_view(self.editor_config_form),
                name="jobs_job_editor_config_form",
            ),
            path(
                "editor/graph/", self.admin_site.admin_view(self.editor_graph), name="jobs_job_editor_graph"
            ),
        ]
        return editor + super().get_urls()

    def editor_config_form(self, request):
        """The generated config form of `type` holding `config` (for a type just chosen,
        `keep_known` keeps the settings the new type also has)."""
        body = self._editor_body(request)
        if isinstance(body, HttpResponse):
            return body
        type_name = str(body.get("type") or "")
        config = body.get("config") if isinstance(body.get("config"), dict) else {}
        if body.get("keep_known"):
            config = known_settings(type_name, config)
        return HttpResponse(render_config_form(type_name, config, prefix=str(body.get("prefix") or "")))

    def editor_graph(self, request):
        """The graph of `components` as the editor holds them (unsaved)."""
        body = self._editor_body(request)
        if isinstance(body, HttpResponse):
            return body
        components = []
        for item in body.get("components") or []:
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name and name not in {c["name"] for c in components}:
                inputs = item.get("inputs") if isinstance(item.get("inputs"), list) else []
                components.append(
                    {"name": name, "type": str(item.get("type") or ""), "inputs": [str(i) for i in inputs]}
                )
        context = {"graph": graph_picture(components), "components": components}
        return TemplateResponse(request, "admin/jobs/job/graph.html", context)

    def _editor_body(self, request) -> dict | HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        try:
            body = json.loads(request.body)
        except ValueError:
            return HttpResponseBadRequest("Send a JSON object.")
        return body if isinstance(body, dict) else HttpResponseBadRequest("Send a JSON object.")

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
