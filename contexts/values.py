"""Parameter types and how a given value is checked and converted to one.

Values arrive as JSON (`60`, `true`) or as text (`--param min_delay=60` on
the command line, a form field); both are accepted when the text means a
value of the type. Stored values are JSON: dates as "YYYY-MM-DD".
"""

import re

from django.db import models
from rest_framework import serializers

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
NAME_RULE = "Use letters, digits and '_', starting with a letter or '_' (at most 100)."

WHOLE_NUMBER = re.compile(r"\s*[-+]?\d+\s*")
ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
TRUE_OR_FALSE = re.compile(r"\s*(true|yes|on|1|false|no|off|0)\s*", re.IGNORECASE)


class ParameterType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    SECRET = "secret"


# What each type takes, converted by DRF's fields: the JSON types it takes, and
# which text. DRF alone would take more: 1.0 and "1_000" as whole numbers, true
# as a number, numbers as text, 1 and "t" as true, 2024-2-9 and 20240229 as dates.
# Text is kept as given (DRF would trim it and refuse "").
TEXT = serializers.CharField(trim_whitespace=False, allow_blank=True)
FIELDS = {
    ParameterType.STRING: (TEXT, (str,), None, "text"),
    ParameterType.SECRET: (TEXT, (str,), None, "text"),
    ParameterType.INTEGER: (serializers.IntegerField(), (int, str), WHOLE_NUMBER, "a whole number"),
    ParameterType.NUMBER: (serializers.FloatField(), (int, float, str), None, "a number"),
    ParameterType.BOOLEAN: (serializers.BooleanField(), (bool, str), TRUE_OR_FALSE, "true or false"),
    ParameterType.DATE: (serializers.DateField(), (str,), ISO_DATE, "a date as YYYY-MM-DD"),
}


def coerce_value(type_name: str, value):
    """The value as the parameter type stores it; ValueError says what was expected."""
    if type_name not in FIELDS:
        raise ValueError(
            f"Unknown parameter type {type_name!r}; use one of: {', '.join(ParameterType.values)}."
        )
    field, json_types, text, expected = FIELDS[type_name]
    is_text = isinstance(value, str)
    try:
        if not isinstance(value, json_types) or isinstance(value, bool) and bool not in json_types:
            raise serializers.ValidationError(expected)
        if is_text and text and not text.fullmatch(value):
            raise serializers.ValidationError(expected)
        converted = field.run_validation(value.strip() if is_text and text else value)
    except serializers.ValidationError:
        if type_name == ParameterType.SECRET:  # never echo a secret, even a mistyped one
            raise ValueError(f"Expected text for a secret parameter, got {type(value).__name__}.") from None
        raise ValueError(f"Expected {expected}, got {_describe(value)}.") from None
    if type_name == ParameterType.NUMBER and (
        isinstance(value, int) or is_text and WHOLE_NUMBER.fullmatch(value)
    ):
        return int(value)  # a whole number stays whole: 60, not DRF's 60.0
    return converted.isoformat() if type_name == ParameterType.DATE else converted


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40] + "...")
    return f"{type(value).__name__} {value!r}"[:60]
