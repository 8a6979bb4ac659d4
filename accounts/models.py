from django.conf import settings
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    """What a scoped credential (API key, OAuth2 token) may do. `admin` implies all."""

    READ = "read", "read: GET anything the user may see"
    WRITE = "write", "write: create/update/delete definitions"
    EXECUTE = "execute", "execute: start/stop/pause/resume/restart executions"
    ADMIN = "admin", "admin: everything the user may do, incl. setup, audit, credentials"


class ApiKey(AbstractAPIKey):
    """A key acting for its owner, narrowed by scopes and optionally to some jobs.

    Only a hash of the key is stored (djangorestframework-api-key); the key
    itself is shown once, at creation.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list)
    jobs = models.ManyToManyField(
        "jobs.Job", blank=True, related_name="+", help_text="If any, the key may only see and run these jobs."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    @property
    def audit_object_id(self) -> str:
        """Audit events name the key by its public id: the pk is longer than object_id allows."""
        return self.prefix

    def allows(self, scope: str) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    def mark_used(self) -> None:
        # A conditional update once a minute at most: no write per request.
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class AuditEvent(models.Model):
    """Who did what to which object, when, from where (NetBox's change log, written explicitly)."""

    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, default="")
    auth_method = models.CharField(max_length=30, blank=True, default="")
    action = models.CharField(max_length=50, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, default="", db_index=True)
    object_id = models.CharField(max_length=100, blank=True, default="")
    object_repr = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]

    def __str__(self):
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.username or 'anonymous'} {self.action} {self.object_repr}"
