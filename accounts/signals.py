"""Audit what happens outside the API views: admin-site changes, logins and
credentials the API refused."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import audit
from accounts.models import AuditEvent
from etlsite.request_id import current_request_id
from etlsite.signals import api_authentication_failed

_ADMIN_ACTIONS = {ADDITION: "create", CHANGE: "update", DELETION: "delete"}


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender, instance, created, **kwargs):
    if not created:
        return
    AuditEvent.objects.create(
        user=instance.user,
        username=instance.user.get_username(),
        auth_method="admin",
        action=_ADMIN_ACTIONS.get(instance.action_flag, "update"),
        object_type=instance.content_type.model_class()._meta.label_lower if instance.content_type else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr[:200],
        after={"change": instance.get_change_message()},
        request_id=current_request_id(),
    )


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit.record(request, "login", user, username=user.get_username(), after={"method": "session"})


@receiver(user_login_failed)
def audit_login_failure(sender, credentials, request=None, **kwargs):
    audit.record(request, "login_failed", None, username=str(credentials.get("username", ""))[:150])


@receiver(api_authentication_failed)
def audit_refused_credentials(sender, request, reason, **kwargs):
    audit.record(request, "auth_failed", None, after={"reason": reason})
