import django_filters

from etlsite.filters import FilterSet, IsoDateTimeFilter
from execution.models import Execution, ExecutionEvent, State, Trigger


class ExecutionFilterSet(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=Trigger.choices)
    queued_after = IsoDateTimeFilter(field_name="queued_at", lookup_expr="gte")
    queued_before = IsoDateTimeFilter(field_name="queued_at", lookup_expr="lte")
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lte")
    finished_after = IsoDateTimeFilter(field_name="finished_at", lookup_expr="gte")
    finished_before = IsoDateTimeFilter(field_name="finished_at", lookup_expr="lte")
    context = django_filters.CharFilter(field_name="context_name")
    # By id, not a choice among every execution: "not one of the available choices"
    # would tell a hidden job's run from a missing one.
    parent = django_filters.NumberFilter()

    class Meta:
        model = Execution
        fields = ["state", "trigger", "context", "attempt", "parent"]


class ExecutionEventFilterSet(FilterSet):
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    execution = django_filters.NumberFilter()

    class Meta:
        model = ExecutionEvent
        fields = ["execution", "action", "to_state"]
