"""Read-mostly admin: runs are created by starting jobs, not by hand."""

from django.contrib import admin

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
    readonly_fields = [field.name for field in Execution._meta.fields if field.name != "encrypted_overrides"]
    exclude = ["encrypted_overrides"]

    def has_add_permission(self, request):
        return False


@admin.register(ExecutionLog)
class ExecutionLogAdmin(admin.ModelAdmin):
    list_display = ["id", "execution", "created_at", "level", "component", "message"]
    list_filter = ["level"]
    search_fields = ["message", "component"]
    raw_id_fields = ["execution"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
