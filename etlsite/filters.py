"""Filter conventions every app's FilterSet builds on.

Date-time filters take ISO 8601 and are converted to UTC before they reach
the database: PostgreSQL refuses offsets beyond ±15:59 (Python accepts up to
±23:59), and a value that leaves the representable range in UTC is a 400
rather than a server error.
"""

from datetime import UTC

import django_filters
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend


class UTCIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("The date-time is out of range once converted to UTC.") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class FilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": IsoDateTimeFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """django-filter, not run when the query string names none of the view's filters:
    with nothing to filter it still builds a form, ~1 ms of every list and detail call."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)
