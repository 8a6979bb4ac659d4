"""Values of a schema's field types: JSON values and constraint values checked
in Python, column values converted in Polars (text parsed to the field's
type, null where it does not fit). Used by validation.py."""

import datetime as dt
import math
import re

import polars as pl

TYPED_DTYPES = {
    "string": pl.String,
    "integer": pl.Int64,
    "number": pl.Float64,
    "decimal": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "datetime": pl.Datetime("us"),
    "time": pl.Time,
}
_TRUE_WORDS = ("true", "t", "yes", "y", "1")
_FALSE_WORDS = ("false", "f", "no", "n", "0")
_DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME_SHAPE = r"^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?$"
_DATETIME_SHAPE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def python_value(type_: str, value):
    """Convert a JSON value to the Python value a field of `type_` holds;
    raises TypeError/ValueError if it is not one. Dates and times are ISO strings."""
    if type_ == "string" and isinstance(value, str):
        return value
    if type_ == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers")
    if type_ == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
            return value
    if type_ in ("number", "decimal") and isinstance(value, (int, float)) and math.isfinite(value):
        return value
    if type_ in ("date", "time", "datetime") and isinstance(value, str):
        return parse_temporal(type_, value.strip())
    raise TypeError(f"not a {type_}")


def parse_temporal(type_: str, value: str):
    """ISO text as the same shapes the Polars parser accepts."""
    if type_ == "date" and re.match(_DATE_SHAPE, value):
        return dt.date.fromisoformat(value)
    if type_ == "time" and re.match(_TIME_SHAPE, value):
        return dt.time.fromisoformat(value)
    value = value.replace(" ", "T", 1)
    if type_ == "datetime" and re.match(_DATETIME_SHAPE, value):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed
    raise TypeError(f"not a {type_}")


# Records keep dates and times as text so they go through the same parser as CSV.
RECORD_DTYPES = {**TYPED_DTYPES, "date": pl.String, "datetime": pl.String, "time": pl.String}


def json_value(type_: str, value):
    """(value for the column, True) if `value` has the JSON type the field needs."""
    if value is None:
        return None, True
    if type_ in ("string", "date", "datetime", "time"):
        return (value, True) if isinstance(value, str) else (None, False)
    try:
        return python_value(type_, value), True
    except (TypeError, ValueError):
        return None, False


def typed_value(raw: pl.Expr, dtype: pl.DataType, type_: str) -> pl.Expr:
    """The column as the field's Polars type; null where a value does not fit."""
    text = dtype == pl.String
    if type_ == "string":
        return raw if text else raw.cast(pl.String)
    if type_ == "integer":
        if dtype.is_integer():
            return raw.cast(pl.Int64)
        if text:
            return raw.str.strip_chars().cast(pl.Int64, strict=False)
        if dtype.is_float() or dtype.is_decimal():
            as_float = raw.cast(pl.Float64)
            return pl.when(as_float.is_finite() & (as_float == as_float.round(0))).then(
                raw.cast(pl.Int64, strict=False)
            )
        return pl.lit(None, pl.Int64)
    if type_ in ("number", "decimal"):
        if dtype.is_numeric():
            number = raw.cast(pl.Float64)
        elif text:
            number = raw.str.strip_chars().cast(pl.Float64, strict=False)
        else:
            return pl.lit(None, pl.Float64)
        return pl.when(number.is_finite()).then(number)
    if type_ == "boolean":
        if dtype == pl.Boolean:
            return raw
        if text:
            words = {w: True for w in _TRUE_WORDS} | {w: False for w in _FALSE_WORDS}
            return (
                raw.str.strip_chars()
                .str.to_lowercase()
                .replace_strict(words, default=None, return_dtype=pl.Boolean)
            )
        return pl.lit(None, pl.Boolean)
    if type_ == "date":
        if dtype == pl.Date:
            return raw
        if text:
            clean = raw.str.strip_chars()
            return pl.when(clean.str.contains(_DATE_SHAPE)).then(clean.str.to_date("%Y-%m-%d", strict=False))
        return pl.lit(None, pl.Date)
    if type_ == "time":
        if dtype == pl.Time:
            return raw
        if text:
            clean = raw.str.strip_chars()
            parsed = pl.coalesce(
                clean.str.to_time("%H:%M:%S%.f", strict=False), clean.str.to_time("%H:%M", strict=False)
            )
            return pl.when(clean.str.contains(_TIME_SHAPE)).then(parsed)
        return pl.lit(None, pl.Time)
    # datetime
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            raw = raw.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return raw.cast(pl.Datetime("us"))
    if text:
        clean = raw.str.strip_chars().str.replace(" ", "T", literal=True)
        naive = pl.coalesce(
            clean.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False),
            clean.str.to_datetime("%Y-%m-%dT%H:%M", time_unit="us", strict=False),
        )
        aware = clean.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", strict=False)
        aware = aware.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return pl.when(clean.str.contains(_DATETIME_SHAPE)).then(pl.coalesce(naive, aware))
    return pl.lit(None, pl.Datetime("us"))
