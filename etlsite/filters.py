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

    def get_form_class(self):
        # django-filter builds a fresh form class on every request, deep-copying
        # a form field per filter: about a millisecond of every list call. Our
        # filters are fixed per FilterSet class, so the class is built once.
        cls = type(self)
        form_class = cls.__dict__.get("_cached_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._cached_form_class = form_class
        return form_class


class FilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request names none of the view's filters.

    A FilterSet copies every filter and builds a form even when the query
    string has nothing for it; most list calls (and every detail call) give
    no filter at all, so they skip that work. With no value, no filter would
    change the queryset anyway.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not any(
            name in filterset_class.base_filters for name in request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
