import json
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects, quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from accounts.access import (
    hidden_job_names,
    may_change_job,
    restrict_to_groups,
    usable_contexts,
    visible_jobs,
    visible_links,
)
from accounts.audit import record
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution.control import (
    check_context_grant,
    check_job_runs,
    record_start,
    request_action,
    start_execution,
)
from execution.engine.registry import all_specs
from execution.models import Action, Trigger
from jobs.component_editor import ComponentForm, ComponentFormSet
from jobs.config import JobConfigSerializer
from jobs.config_forms import known_settings, render_config_form
from jobs.models import Component, Job, JobDependency, JobVersion
from jobs.pages import graph_picture
from jobs.versions import record_version


def extra_ports() -> dict[str, list[str]]:
    """Type -> its ports besides the main one (`validate`: rejects), for the editor's input lists."""
    return {
        spec.type: [p for p in spec.outputs if p != "main"] for spec in all_specs() if len(spec.outputs) > 1
    }


# Why a job could not be started or controlled: shown to the admin, never raised.
RUN_PROBLEMS = (RunInputError, CredentialKeyError, Conflict)


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


class HiddenJobsUnnamedOnDeletePages:
    """Django's delete pages list by name every object a delete takes along or is
    blocked by: a job the user may not see (a context's job, the other end of a
    dependency) is listed without its name, as in the API's 409s."""

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        hidden = hidden_job_names(request)
        if hidden:
            collector = NestedObjects(using=router.db_for_write(self.model), origin=objs)
            collector.collect(objs)
            describe = partial(_listed, self.admin_site, hidden)
            to_delete, protected = collector.nested(describe), [describe(obj) for obj in collector.protected]
        return to_delete, model_count, perms_needed, protected


def _listed(admin_site, hidden: frozenset[str], obj) -> str:
    """`obj` as Django's delete pages list it (linked to its change page), unless it names a hidden job."""
    opts = obj._meta
    label = capfirst(opts.verbose_name)
    if isinstance(obj, Job) and obj.name in hidden:
        return f"{label}: a job you cannot see"
    if isinstance(obj, JobDependency) and {obj.upstream.name, obj.downstream.name} & hidden:
        return f"{label}: with a job you cannot see"
    if admin_site.is_registered(type(obj)):
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=(quote(obj.pk),)
            )
        except NoReverseMatch:
            pass
        else:
            return format_html('{}: <a href="{}">{}</a>', label, url, obj)
    return f"{label}: {obj}"


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
class JobAdmin(HiddenJobsUnnamedOnDeletePages, admin.ModelAdmin):
    form = JobAdminForm
    list_display = ["name", "description", "default_context", "component_count", "schedule", "updated_at"]
    # Only contexts the listed (visible) jobs use: the plain filter would list every context.
    list_filter = [("default_context", admin.RelatedOnlyFieldListFilter), "components__type", "created_at"]
    search_fields = ["name", "description", "components__name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ComponentInline, JobDependencyInline]
    actions = ["start_jobs", "pause_jobs", "resume_jobs", "stop_jobs", "validate_jobs"]

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

    def save_related(self, request, form, formsets, change):
        # The components and dependencies are saved here, after the job: only now is the definition whole.
        super().save_related(request, form, formsets, change)
        record_version(form.instance, user=request.user, via=JobVersion.Via.ADMIN)

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

    def has_control_permission(self, request):
        return request.user.has_perm("execution.control_execution")

    @admin.action(description="Start selected jobs", permissions=["control"])
    def start_jobs(self, request, queryset):
        for job in queryset:
            try:
                execution, _ = start_execution(job, trigger=Trigger.UI, user=request.user)
            except RUN_PROBLEMS as error:
                self.message_user(request, f"{job.name}: not started. {error}", messages.ERROR)
                continue
            record_start(request, job, execution)
            self.message_user(request, f"{job.name}: execution #{execution.pk} is queued.", messages.SUCCESS)

    def _control(self, request, queryset, action: str, done: str):
        for job in queryset:
            try:
                execution = request_action(job, action, request.user)
            except RUN_PROBLEMS as error:
                self.message_user(request, f"{job.name}: {error}", messages.WARNING)
                continue
            record(request, action, execution, after={"state": execution.state})
            self.message_user(request, f"{job.name}: execution #{execution.pk} {done}.", messages.SUCCESS)

    @admin.action(description="Pause selected jobs' running executions", permissions=["control"])
    def pause_jobs(self, request, queryset):
        self._control(request, queryset, Action.PAUSE, "will pause at the next batch")

    @admin.action(description="Resume selected jobs' paused executions", permissions=["control"])
    def resume_jobs(self, request, queryset):
        self._control(request, queryset, Action.RESUME, "resumes")

    @admin.action(description="Stop selected jobs' active executions", permissions=["control"])
    def stop_jobs(self, request, queryset):
        self._control(request, queryset, Action.STOP, "will stop at the next batch")

    @admin.action(description="Validate selected jobs (graph, context, parameters, schemas)")
    def validate_jobs(self, request, queryset):
        for job in queryset:
            try:
                # Checked like a start by this user, so a hidden context's details stay hidden.
                check_context_grant(job, None, request.user, Trigger.UI)
                check_job_runs(job, None, None)
            except RunInputError as error:
                problems = "; ".join(f"{key}: {' '.join(texts)}" for key, texts in error.details.items())
                self.message_user(request, f"{job.name} would not run: {problems}", messages.ERROR)
            except CredentialKeyError as error:
                self.message_user(request, f"{job.name} would not run: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{job.name} is valid and ready to run.", messages.SUCCESS)

    @admin.display(description="components")
    def component_count(self, job):
        return len(job.components.all())

    @admin.display(description="schedule")
    def schedule(self, job):
        return job.effective_config.get("schedule") or "—"
