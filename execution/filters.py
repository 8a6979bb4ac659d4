import django_filters

from execution.models import Execution, ExecutionEvent, State, Trigger


class ExecutionFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=Trigger.choices)
    queued_after = django_filters.IsoDateTimeFilter(field_name="queued_at", lookup_expr="gte")
    queued_before = django_filters.IsoDateTimeFilter(field_name="queued_at", lookup_expr="lte")
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lte")
    finished_after = django_filters.IsoDateTimeFilter(field_name="finished_at", lookup_expr="gte")
    finished_before = django_filters.IsoDateTimeFilter(field_name="finished_at", lookup_expr="lte")
    context = django_filters.CharFilter(field_name="context_name")

    class Meta:
        model = Execution
        fields = ["state", "trigger", "context", "attempt", "parent"]


class ExecutionEventFilterSet(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = ExecutionEvent
        fields = ["execution", "action", "to_state"]
