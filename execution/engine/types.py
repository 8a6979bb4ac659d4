"""Column type names users write in configs (`select.cast`, `csv_source.columns`)
and the Polars types they mean."""

import re

import polars as pl

_SIMPLE_TYPES = {
    "string": pl.String,
    "text": pl.String,
    "int": pl.Int64,
    "integer": pl.Int64,
    "bigint": pl.Int64,
    "smallint": pl.Int16,
    "float": pl.Float64,
    "double": pl.Float64,
    "bool": pl.Boolean,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "time": pl.Time,
    "datetime": pl.Datetime("us"),
    "timestamp": pl.Datetime("us"),
    "timestamptz": pl.Datetime("us", "UTC"),
}
_DECIMAL = re.compile(r"^decimal\((\d{1,2})\s*,\s*(\d{1,2})\)$")

TYPE_NAMES = sorted(_SIMPLE_TYPES) + ["decimal(precision,scale)"]

TYPE_NAME_SCHEMA = {
    "type": "string",
    "pattern": r"^(" + "|".join(sorted(_SIMPLE_TYPES)) + r"|decimal\(\d{1,2}\s*,\s*\d{1,2}\))$",
    "description": "One of: " + ", ".join(TYPE_NAMES) + ".",
}


class UnknownTypeName(ValueError):
    pass


def polars_type(name: str) -> pl.DataType:
    """`"decimal(12,2)"` -> `pl.Decimal(12, 2)`; raises UnknownTypeName."""
    key = name.strip().lower()
    if key in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[key]
    match = _DECIMAL.match(key)
    if match:
        precision, scale = int(match[1]), int(match[2])
        if scale <= precision:
            return pl.Decimal(precision, scale)
    raise UnknownTypeName(f"Unknown type {name!r}; use one of: {', '.join(TYPE_NAMES)}.")


_TRUE_TEXT = ("true", "t", "yes", "y", "1")
_FALSE_TEXT = ("false", "f", "no", "n", "0")


def cast_expression(column: str, source: pl.DataType, target: pl.DataType) -> pl.Expr:
    """A strict cast of `column`; text is parsed into dates, times, timestamps
    and booleans (Polars 2 no longer casts text to those directly)."""
    expression = pl.col(column)
    if source != pl.String:
        return expression.cast(target, strict=True)
    if target == pl.Date:
        return expression.str.to_date()
    if target == pl.Time:
        return expression.str.to_time()
    if isinstance(target, pl.Datetime):
        return expression.str.to_datetime(time_unit=target.time_unit, time_zone=target.time_zone)
    if target == pl.Boolean:
        mapping = {**dict.fromkeys(_TRUE_TEXT, True), **dict.fromkeys(_FALSE_TEXT, False)}
        return (
            expression.str.strip_chars().str.to_lowercase().replace_strict(mapping, return_dtype=pl.Boolean)
        )
    return expression.cast(target, strict=True)
