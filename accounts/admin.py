from django.contrib import admin

from accounts.models import ApiKey, AuditEvent


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "owner", "scopes", "expiry_date", "revoked", "last_used_at", "created"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created", "last_used_at"]
    fields = [
        "name",
        "owner",
        "scopes",
        "jobs",
        "expiry_date",
        "revoked",
        "prefix",
        "created",
        "last_used_at",
    ]
    autocomplete_fields = ["jobs"]

    def has_add_permission(self, request):
        # Keys are minted by the API, which shows the plaintext key once.
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "username", "auth_method", "action", "object_type", "object_repr", "ip"]
    list_filter = ["action", "auth_method", "object_type", "timestamp"]
    search_fields = ["username", "object_repr", "request_id", "object_id"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
