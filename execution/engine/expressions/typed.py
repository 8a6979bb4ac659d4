"""What the builder knows about each part of an expression: the Polars
expression, its value type when known, and whether it aggregates."""

import datetime as dt
from dataclasses import dataclass

import polars as pl

from execution.engine.expressions.parsing import ExpressionError

BOOLEAN, INTEGER, NUMBER, STRING = "boolean", "integer", "number", "string"
DATE, DATETIME, TIME, NULL = "date", "datetime", "time", "null"
NUMERIC = (INTEGER, NUMBER)
TEMPORAL = (DATE, DATETIME, TIME)


class _Unknown:
    """The value of a placeholder at save time, before any context supplies it."""

    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()
NOT_CONSTANT = object()


@dataclass(frozen=True)
class Typed:
    expr: pl.Expr
    # One of the names above; None when it cannot be known yet (no input schema).
    type: str | None
    # Contains an aggregate function (count, sum, ...).
    aggregated: bool = False
    # Uses a column outside any aggregate function.
    bare: bool = False
    # The Python value of a literal (a placeholder's too, UNKNOWN before a run).
    constant: object = NOT_CONSTANT
    # The Polars type of a column, when the input schema is known.
    dtype: pl.DataType | None = None
    # The input column it is, for messages ("column 'amount' is text").
    column: str | None = None

    @property
    def is_constant(self) -> bool:
        return self.constant is not NOT_CONSTANT


def type_of_dtype(dtype: pl.DataType | None) -> str | None:
    if dtype is None:
        return None
    if dtype == pl.Boolean:
        return BOOLEAN
    if dtype.is_integer():
        return INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return NUMBER
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return STRING
    if dtype == pl.Date:
        return DATE
    if isinstance(dtype, pl.Datetime):
        return DATETIME
    if dtype == pl.Time:
        return TIME
    if dtype == pl.Null:
        return NULL
    return None


def constant(value) -> Typed:
    """A literal for a Python value (a number, text, true/false, NULL)."""
    if value is UNKNOWN:
        return Typed(pl.lit(None), None, constant=UNKNOWN)
    if value is None:
        return Typed(pl.lit(None), NULL, constant=None)
    if isinstance(value, bool):
        return Typed(pl.lit(value, pl.Boolean), BOOLEAN, constant=value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ExpressionError(f"The number {value} is too large (64-bit integers only).")
        return Typed(pl.lit(value, pl.Int64), INTEGER, constant=value)
    if isinstance(value, float):
        return Typed(pl.lit(value, pl.Float64), NUMBER, constant=value)
    if isinstance(value, str):
        return Typed(pl.lit(value, pl.String), STRING, constant=value)
    if isinstance(value, dt.datetime):
        return Typed(pl.lit(value), DATETIME, constant=value)
    if isinstance(value, dt.date):
        return Typed(pl.lit(value, pl.Date), DATE, constant=value)
    if isinstance(value, dt.time):
        return Typed(pl.lit(value, pl.Time), TIME, constant=value)
    raise ExpressionError(
        f"A {type(value).__name__} value cannot be used in an expression; give a number, text or true/false."
    )


def describe(type_name: str | None) -> str:
    return {
        BOOLEAN: "true/false",
        INTEGER: "a whole number",
        NUMBER: "a number",
        STRING: "text",
        DATE: "a date",
        DATETIME: "a timestamp",
        TIME: "a time of day",
        NULL: "NULL",
    }.get(type_name, "a value")


def describe_value(value: Typed) -> str:
    """`column 'amount' (text)` for a column, else what kind of value it is."""
    if value.column is not None:
        return f"column {value.column!r} ({describe(value.type)})"
    return describe(value.type)


def parse_temporal(text: str, type_name: str):
    """`'2021-01-01'` as the date (timestamp, time) it names, for comparing with such a column."""
    value = text.strip()
    try:
        if type_name == DATE:
            return dt.date.fromisoformat(value)
        if type_name == TIME:
            return dt.time.fromisoformat(value)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except ValueError:
        shape = {DATE: "YYYY-MM-DD", TIME: "HH:MM[:SS]", DATETIME: "YYYY-MM-DD HH:MM[:SS]"}[type_name]
        raise ExpressionError(f"{text!r} is not {describe(type_name)} ({shape}).") from None
