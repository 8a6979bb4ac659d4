import django_filters
from django.db.models import Q

from etlsite.filters import FilterSet
from schemas.models import Schema


class SchemaFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or description contains")
    field = django_filters.CharFilter(
        field_name="fields__name", distinct=True, label="Has a field of this name"
    )

    class Meta:
        model = Schema
        # No `version` filter: `?version=N` on a detail route selects a saved version.
        fields = {"name": ["exact", "icontains"], "updated_at": ["gte", "lte"]}

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
