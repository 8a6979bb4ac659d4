import django_filters
from django.db.models import Q

from etlsite.filters import FilterSet
from jobs.models import Job


class JobFilterSet(FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or description contains")
    default_context = django_filters.CharFilter(field_name="default_context__name")
    component_type = django_filters.CharFilter(
        field_name="components__type", distinct=True, label="Has a component of this type"
    )

    class Meta:
        model = Job
        fields = {"name": ["exact", "icontains"], "created_at": ["gte", "lte"], "updated_at": ["gte", "lte"]}

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
