"""Incremental database sources: the watermark condition pushed into the
source query, and the new watermark computed from the batches read.

A source with `"incremental": {"column", "initial", "lookback"}` reads

- on its first run (no saved watermark): rows with `column >= initial`, or
  every row without `initial`;
- afterwards: rows with `column > watermark`, or with a lookback
  `column > watermark - lookback` (a number of the column's units, seconds
  for timestamps and dates), for rows that arrive late; rows read again are
  meant for an upsert sink.

The bound is a bound parameter (SQLite), or for the Arrow readers that take
SQL text only (ADBC, connectorx) a literal rendered by the database's own
driver (db_sources.DatabaseSource.literal_statement). The
new watermark is the largest value of the column among the rows read (the old
one when nothing new was read). The run hands it to whoever stores state
(RunContext.incremental_state / Source.new_state); it becomes the saved
watermark only when the sinks' data committed (docs/execution.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from execution.engine.errors import EngineError
from execution.engine.registry import get_spec
from execution.engine.sql import IDENTIFIER, Dialect

FIELD = "config.incremental.column"

DATABASE_INCREMENTAL = {
    "type": "object",
    "additionalProperties": False,
    "description": "Read only rows past the saved watermark of `column` (docs/engine.md, incremental loads).",
    "properties": {
        "column": {
            "type": "string",
            "pattern": rf"^{IDENTIFIER}$",
            "description": "An orderable column (number, date, timestamp, text) that grows with new rows.",
        },
        "initial": {
            "type": ["string", "number"],
            "description": "Where the first run starts (inclusive); default: every row.",
        },
        "lookback": {
            "type": "number",
            "minimum": 0,
            "description": "Read again this much before the watermark (column units; seconds for times).",
        },
    },
    "required": ["column"],
}

NEW_FILES = "new_files"
# File sources (file_sets.py): a file set that reads only files not loaded before.
FILE_INCREMENTAL = {
    "type": "object",
    "additionalProperties": False,
    "description": 'Read only files not loaded before: {"mode": "new_files"} (docs/engine.md, file sets).',
    "properties": {"mode": {"enum": [NEW_FILES]}},
    "required": ["mode"],
}

# Polars types a watermark can be taken from.
_ORDERABLE = (pl.Date, pl.Datetime, pl.String)


def is_orderable(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, _ORDERABLE) or dtype == pl.Null


def json_value(value):
    """A watermark as it is stored (JSON): numbers stay numbers, times become ISO 8601 text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _parse_time(text: str):
    """ISO 8601 text as a datetime or date; other text stays as it is."""
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def lower_bound(settings: dict, watermark) -> tuple[str, object] | None:
    """(operator, value) of the condition this run reads with, or None (read
    everything). Times stay ISO 8601 text: PostgreSQL casts the parameter to
    the column's type, MySQL/MariaDB compare it as a time with a time column,
    SQLite keeps times as text and compares text."""
    if watermark is None:
        initial = settings.get("initial")
        return None if initial is None else (">=", initial)
    lookback = settings.get("lookback") or 0
    if not lookback:
        return ">", watermark
    value = _parse_time(watermark) if isinstance(watermark, str) else watermark
    if isinstance(value, dt.datetime | dt.date):
        return ">", (value - dt.timedelta(seconds=lookback)).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ">", value - lookback
    return ">", watermark


def condition_statement(dialect: Dialect, select: str, settings: dict, watermark) -> tuple[str, list]:
    """`select` restricted to the rows past the watermark: (statement, parameters)."""
    bound = lower_bound(settings, watermark)
    if bound is None:
        return select, []
    operator, value = bound
    column = dialect.quote(settings["column"])
    if dialect.placeholder == "%s":
        select = select.replace("%", "%%")  # the query's own % signs are text once parameters are bound
    # A derived table, so a query with its own WHERE/GROUP BY keeps its meaning;
    # the planners push the condition down into it.
    statement = (
        f"SELECT * FROM ({select}) AS _etl_incremental WHERE {column} {operator} {dialect.placeholder}"  # noqa: S608 - quoted identifier, bound value
    )
    return statement, [value]


class WatermarkTracker:
    """Follows the largest value of the watermark column over the batches a source yields."""

    def __init__(self, component: str, settings: dict, watermark):
        self.component = component
        self.column = settings["column"]
        self.watermark = watermark
        self.rows = 0

    def see(self, batch: pl.DataFrame) -> None:
        if self.column not in batch.columns:
            raise EngineError(
                f"The watermark column {self.column!r} is not among the columns read "
                f"({', '.join(batch.columns) or 'none'}).",
                component=self.component,
                field=FIELD,
            )
        dtype = batch.schema[self.column]
        if not is_orderable(dtype):
            raise EngineError(
                f"The watermark column {self.column!r} has type {dtype}, which cannot be ordered; "
                "use a number, date, timestamp or text column.",
                component=self.component,
                field=FIELD,
            )
        self.rows += batch.height
        if not batch.height:
            return
        largest = json_value(batch[self.column].max())
        if largest is not None and (self.watermark is None or _greater(largest, self.watermark)):
            self.watermark = largest

    def state(self) -> dict:
        return {"watermark": self.watermark}


def _greater(value, than) -> bool:
    if isinstance(value, str) and isinstance(than, str):
        left, right = _parse_time(value), _parse_time(than)
        if type(left) is type(right) and not isinstance(left, str):
            return _aware(left) > _aware(right)
        return value > than
    try:
        return value > than
    except TypeError:
        return True


def _aware(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def watermark_problems(components: list[dict], ctx) -> list[tuple[str, str]]:
    """(component, message) for each incremental database source whose
    watermark column its database says is unknown or cannot be ordered
    (`max(column)` over no rows). Asked when a run is started, so that is a
    400 naming the field rather than a failed run."""
    problems = []
    for component in components:
        config = component.get("config") or {}
        spec = get_spec(component["type"])
        probe = getattr(spec.implementation, "watermark_problem", None)
        if not isinstance(config.get("incremental"), dict) or probe is None:
            continue
        message = spec.implementation(component["name"], config, ctx).watermark_problem()
        if message:
            problems.append((component["name"], message))
    return problems
