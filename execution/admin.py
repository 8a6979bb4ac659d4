"""Read-mostly admin: runs are created by starting jobs, not by hand.

Runs and log lines of a job hidden from the user are hidden too, as in the API."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.access import visible_jobs
from execution.models import Execution, ExecutionError, ExecutionEvent, ExecutionLog, ExecutionRejects


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
