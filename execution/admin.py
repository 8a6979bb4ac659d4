"""Read-mostly admin: runs are created by starting jobs, not by hand.

Runs and log lines of a job hidden from the user are hidden too, as in the API."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.audit import record
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution.control import RunRequest, check_context_grant, check_job_runs, record_start, start_execution
from execution.lifecycle import request_action
from execution.models import (
    Action,
    Execution,
    ExecutionError,
    ExecutionEvent,
    ExecutionLog,
    ExecutionRejects,
    Trigger,
)
from jobs.access import visible_jobs
from jobs.admin import JobAdmin
from jobs.models import Job

# Why a job could not be started or controlled: shown to the admin, never raised.
RUN_PROBLEMS = (RunInputError, CredentialKeyError, Conflict)


@admin.register(Job)
class JobRunAdmin(JobAdmin):
    """The job admin (jobs/admin.py) with the actions that start and control runs."""

    actions = ["start_jobs", "pause_jobs", "resume_jobs", "stop_jobs", "validate_jobs"]

    def has_control_permission(self, request):
        return request.user.has_perm("execution.control_execution")

    @admin.action(description="Start selected jobs", permissions=["control"])
    def start_jobs(self, request, queryset):
        for job in queryset:
            try:
                execution, _ = start_execution(job, RunRequest(trigger=Trigger.UI, user=request.user))
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


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = ExecutionEvent
    fields = ["created_at", "action", "from_state", "to_state", "by", "message"]


class ErrorInline(ReadOnlyInline):
    model = ExecutionError
    fields = ["created_at", "component", "field", "location", "message"]


class RejectsInline(ReadOnlyInline):
    model = ExecutionRejects
    fields = ["component", "rows", "path"]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "state", "trigger", "attempt", "context_name", "queued_at", "finished_at"]
    list_filter = ["state", "trigger"]
    search_fields = ["job__name", "worker_id"]
    list_select_related = ["job"]
    date_hierarchy = "queued_at"
    inlines = [EventInline, ErrorInline, RejectsInline]
    readonly_fields = [
        *(field.name for field in Execution._meta.fields if field.name != "encrypted_overrides"),
        "log_tail",
    ]
    exclude = ["encrypted_overrides"]
    LOG_TAIL_LINES = 50

    @admin.display(description="log (last lines)")
    def log_tail(self, execution):
        lines = list(execution.logs.order_by("-id")[: self.LOG_TAIL_LINES])[::-1]
        rows = format_html_join(
            "\n",
            "{} {} {}{}",
            (
                (
                    f"{line.created_at:%H:%M:%S}",
                    line.level.upper(),
                    f"[{line.component}] " if line.component else "",
                    line.message,
                )
                for line in lines
            ),
        )
        everything = (
            reverse("admin:execution_executionlog_changelist") + f"?execution__id__exact={execution.pk}"
        )
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre><a href="{}">All log lines</a>', rows, everything
        )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(job__in=visible_jobs(request).values("pk"))

    def has_add_permission(self, request):
        return False


@admin.register(ExecutionLog)
class ExecutionLogAdmin(admin.ModelAdmin):
    list_display = ["id", "execution", "created_at", "level", "component", "message"]
    list_filter = ["level"]
    search_fields = ["message", "component"]
    raw_id_fields = ["execution"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(execution__job__in=visible_jobs(request).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
