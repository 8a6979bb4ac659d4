import django_filters

from etlsite.filters import FilterSet
from monitoring.models import NotificationChannel, NotificationDelivery, NotificationRule


class ChannelFilterSet(FilterSet):
    class Meta:
        model = NotificationChannel
        fields = {"name": ["exact", "icontains"], "kind": ["exact"]}


class RuleFilterSet(FilterSet):
    job = django_filters.NumberFilter(field_name="jobs", label="Names this job")

    class Meta:
        model = NotificationRule
        fields = {
            "name": ["exact", "icontains"],
            "channel": ["exact"],
            "enabled": ["exact"],
            "all_jobs": ["exact"],
        }


class DeliveryFilterSet(FilterSet):
    class Meta:
        model = NotificationDelivery
        fields = {
            "channel": ["exact"],
            "rule": ["exact"],
            "event": ["exact"],
            "status": ["exact"],
            "job": ["exact"],
            "execution": ["exact"],
            "created_at": ["gte", "lte"],
        }
