"""Parameter types and how a given value is checked and converted to one.

Values arrive as JSON (`60`, `true`) or as text (`--param min_delay=60` on
the command line, a form field); both are accepted when the text means a
value of the type. Stored values are JSON: dates as "YYYY-MM-DD".
"""

import datetime
import math
import re

from django.db import models

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
NAME_RULE = "Use letters, digits and '_', starting with a letter or '_' (at most 100)."

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ParameterType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    SECRET = "secret"


def coerce_value(type_name: str, value):
    """The value as the parameter type stores it; ValueError says what was expected."""
    if type_name == ParameterType.SECRET:
        if not isinstance(value, str):
            # Never echo a secret, even a mistyped one.
            raise ValueError(f"Expected text for a secret parameter, got {type(value).__name__}.")
        return value
    if type_name == ParameterType.STRING:
        if not isinstance(value, str):
            raise ValueError(f"Expected text, got {_describe(value)}.")
        return value
    if type_name == ParameterType.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        raise ValueError(f"Expected a whole number, got {_describe(value)}.")
    if type_name == ParameterType.NUMBER:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return int(number) if re.fullmatch(r"\s*[-+]?\d+\s*", value) else number
        raise ValueError(f"Expected a number, got {_describe(value)}.")
    if type_name == ParameterType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"Expected true or false, got {_describe(value)}.")
    if type_name == ParameterType.DATE:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return datetime.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise ValueError(f"Expected a date as YYYY-MM-DD, got {_describe(value)}.")
    raise ValueError(f"Unknown parameter type {type_name!r}; use one of: {', '.join(ParameterType.values)}.")


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40] + "...")
    return f"{type(value).__name__} {value!r}"[:60]
