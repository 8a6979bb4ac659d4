"""Serializer output without DRF's per-field bookkeeping, for the big read responses.

DRF's `Serializer.to_representation` walks every field of every object
through a generator, `Field.get_attribute` (a loop over the source path with
exception handling) and a `SkipField` check: about half of a list call's
time for a page of 50 jobs or executions. `FastRepresentationMixin` works
that out once per serializer class instead: for each readable field, a
plain attribute getter and the field's own `to_representation`. The output
is the same (tests/foundation/test_fast_representation.py compares the two);
anything the plan cannot read plainly (a method, a missing attribute or
key, a default) goes through DRF's own `get_attribute`.

Only for serializers whose fields do not depend on the request or context:
the plan is built from the first instance's fields and shared by the class.
"""

from datetime import datetime
from operator import attrgetter

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.utils import timezone
from rest_framework import ISO_8601
from rest_framework.fields import DateTimeField, SerializerMethodField, SkipField
from rest_framework.relations import HyperlinkedRelatedField, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

# Fields that read the request or the serializer's context while rendering.
CONTEXT_DEPENDENT = (SerializerMethodField, HyperlinkedRelatedField)


def _is_plain_foreign_key(field) -> bool:
    return (
        isinstance(field, PrimaryKeyRelatedField) and field.pk_field is None and len(field.source_attrs) == 1
    )


def _plain_getter(field):
    if field.source == "*":
        return lambda instance: instance
    if _is_plain_foreign_key(field):
        # DRF answers a foreign key with its id without loading the object; so does `<name>_id`.
        read = attrgetter(field.source_attrs[0] + "_id")
    else:
        read = attrgetter(".".join(field.source_attrs))

    key = field.source_attrs[0] if len(field.source_attrs) == 1 else None

    def get(instance):
        try:
            # Plain dicts (rows read with values()) by key, as DRF does for mappings.
            value = instance[key] if key is not None and type(instance) is dict else read(instance)
        except (AttributeError, KeyError, ObjectDoesNotExist):
            return field.get_attribute(instance)  # DRF: defaults, dicts, SkipField
        if callable(value):  # a method as source: DRF calls it
            return field.get_attribute(instance)
        return value

    return get


def _identity(value):
    return value


def _iso_datetime(field):
    """DRF's ISO 8601 rendering of an aware datetime (in the current time zone,
    `Z` for UTC), minus the per-call settings lookups; anything else goes to DRF."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if not settings.USE_TZ or hasattr(field, "timezone") or str(output_format).lower() != ISO_8601:
        return field.to_representation

    def represent(value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            try:
                text = value.astimezone(timezone.get_current_timezone()).isoformat()
            except OverflowError:
                return field.to_representation(value)
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return field.to_representation(value)

    return represent


def _none(_instance):
    return None


def _plan_step(field, computed: bool):
    if computed:  # keeps its place in the output; the subclass fills it in
        return field.field_name, _none, _identity
    if isinstance(field, CONTEXT_DEPENDENT):
        raise ImproperlyConfigured(
            f"{field.field_name!r} ({type(field).__name__}) renders from the request; "
            "FastRepresentationMixin cannot share a plan for it."
        )
    if _is_plain_foreign_key(field):
        represent = _identity
    elif isinstance(field, DateTimeField):
        represent = _iso_datetime(field)
    else:
        represent = field.to_representation
    return field.field_name, _plain_getter(field), represent


class FastRepresentationMixin:
    # Fields the subclass's own to_representation fills in: the plan only holds their place.
    computed_fields: tuple[str, ...] = ()

    @classmethod
    def _representation_plan(cls, serializer):
        plan = cls.__dict__.get("_fast_plan")
        if plan is None:
            plan = [
                _plan_step(field, field.field_name in cls.computed_fields)
                for field in serializer._readable_fields
            ]
            cls._fast_plan = plan
        return plan

    def to_representation(self, instance):
        data = {}
        for name, get, represent in self._representation_plan(self):
            try:
                attribute = get(instance)
            except SkipField:
                continue
            data[name] = None if attribute is None else represent(attribute)
        return data
