"""Writing audit events. Call `record` from views; `AuditedViewSetMixin` does it
for the create/update/delete of a model viewset."""

import re

from django.forms.models import model_to_dict

from accounts.client_address import client_address
from accounts.models import AuditEvent
from etlsite.request_id import current_request_id

MASK = "***"
# A snapshot keeps this many levels of nested values and cuts what lies
# deeper: a user's deeply nested config must not make the audit (and with it
# the request) fail on Python's recursion limit.
SNAPSHOT_MAX_DEPTH = 100
CUT = f"(nested deeper than {SNAPSHOT_MAX_DEPTH} levels: not recorded)"
# Keys whose values never reach an audit row, whatever object they belong to.
_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|key|credential)s?$", re.IGNORECASE)


def mask_secrets(value):
    """A copy of `value` with every secret-looking key's value replaced by ***."""
    if isinstance(value, dict):
        return {
            key: (MASK if _SECRET_KEY.search(str(key)) and item not in (None, "") else mask_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def snapshot(obj) -> dict:
    """A JSON-able picture of a model instance for before/after."""
    if hasattr(obj, "audit_snapshot"):
        data = obj.audit_snapshot()
    else:
        data = model_to_dict(obj)
    return mask_secrets(_jsonable(data))


def _jsonable(value, depth: int = 0):
    if isinstance(value, dict | list | tuple | set) and depth == SNAPSHOT_MAX_DEPTH:
        return CUT
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def auth_method(request) -> str:
    """How the request was authenticated: session, token, jwt, api_key, oauth2."""
    authenticator = getattr(request, "successful_authenticator", None)
    if authenticator is None:
        return "session" if getattr(request, "user", None) and request.user.is_authenticated else ""
    name = type(authenticator).__name__.lower()
    for method in ("apikey", "jwt", "oauth2", "token", "session"):
        if method in name:
            return "api_key" if method == "apikey" else method
    return name


def _object_id(obj) -> str:
    # A model may name itself differently (an API key's pk embeds its hash; its public id is the prefix).
    if obj is None or obj.pk is None:
        return ""
    return str(getattr(obj, "audit_object_id", obj.pk))


def record(request, action: str, obj=None, *, before=None, after=None, object_type=None, username=None):
    """Write one audit event for `action` on `obj` by the request's user."""
    user = getattr(request, "user", None) if request is not None else None
    user = user if user is not None and user.is_authenticated else None
    return AuditEvent.objects.create(
        user=user,
        username=username or (user.get_username() if user else ""),
        auth_method=auth_method(request) if request is not None else "",
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=_object_id(obj),
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        request_id=current_request_id(),
        ip=client_address(request) if request is not None else None,
    )


class AuditedViewSetMixin:
    """Record create/update/delete of a ModelViewSet with before/after snapshots."""

    def perform_create(self, serializer):
        super().perform_create(serializer)
        record(self.request, "create", serializer.instance, after=snapshot(serializer.instance))

    def perform_update(self, serializer):
        before = snapshot(serializer.instance)
        super().perform_update(serializer)
        record(
            self.request, "update", serializer.instance, before=before, after=snapshot(serializer.instance)
        )

    def perform_destroy(self, instance):
        before = snapshot(instance)
        pk, label = instance.pk, instance._meta.label_lower
        super().perform_destroy(instance)
        instance.pk = pk
        record(self.request, "delete", instance, before=before, object_type=label)
