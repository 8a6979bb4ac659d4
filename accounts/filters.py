from accounts.models import AuditEvent
from etlsite.filters import FilterSet, IsoDateTimeFilter


class AuditEventFilterSet(FilterSet):
    since = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["action", "username", "auth_method", "object_type", "object_id", "request_id"]
