import django_filters
from django.db.models import Q

from contexts.models import Context
from etlsite.filters import FilterSet


class ContextFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or description contains")
    credential = django_filters.CharFilter(
        field_name="credentials__name", distinct=True, label="Has a credential of this name"
    )

    class Meta:
        model = Context
        fields = {
            "name": ["exact", "icontains"],
            "is_default": ["exact"],
            "created_at": ["gte", "lte"],
            "updated_at": ["gte", "lte"],
        }

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
