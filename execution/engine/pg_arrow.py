"""PostgreSQL query results as Arrow batches, through ADBC.

The ADBC PostgreSQL driver runs `COPY (query) TO STDOUT (FORMAT binary)` and
decodes the binary rows into Arrow arrays in C++: no Python object per row
(measured in docs/performance.md, "Database connectors": within ~20% of
receiving the same COPY stream without decoding it, ~4× faster than
psycopg's `fetchmany`).

Types the driver decodes well are read as they are (`NATIVE`). The others
are converted by the server in the query (`plan_columns`):

- `numeric` arrives as text and becomes an exact Polars Decimal: precision
  and scale from the column's declared `numeric(p,s)`; an unbounded `numeric`
  (a column declared without them, `sum()`, `amount * 2`) gets precision 38
  and the largest scale among the first batch's values, and a later value
  that needs more decimal places or more than 38 digits fails the read
  (cast it in the query: `x::numeric(20,6)`), never rounds. A declared
  precision above 38 (Polars' limit) stays text, with a warning.
- `interval` becomes microseconds (a Duration; a month counts 30 days, a
  year 365.25, as in PostgreSQL's `extract(epoch ...)`).
- everything else (json, jsonb, uuid, inet, money, xml, enums, arrays of
  those) arrives as its text form.

This module imports the ADBC driver, so it is imported only when a
PostgreSQL source runs.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from dataclasses import dataclass

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import polars as pl
import pyarrow as pa

from execution.engine.errors import EngineError
from execution.engine.sql import POSTGRES

Error = adbc_driver_manager.Error
# What a failed read raises: ADBC's errors, and pyarrow's once the rows stream.
READ_ERRORS = (adbc_driver_manager.Error, pa.ArrowException, OSError)

# PostgreSQL type names ADBC decodes into the Arrow type Polars wants.
NATIVE = frozenset(
    {
        "bool",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "text",
        "varchar",
        "bpchar",
        "name",
        "char",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "bytea",
    }
)
MAX_DECIMAL_PRECISION = 38
# Arrow batches waiting while the pipeline works on the current one.
READ_AHEAD_BATCHES = 2
_TYPE = b"POSTGRESQL:type"
_TYPMOD = b"POSTGRESQL:typmod"


@dataclass
class Column:
    name: str
    # The select-list expression reading it (the quoted name when read as it is).
    expression: str
    # "native", "decimal", "unbounded", "duration", "text".
    kind: str
    dtype: pl.DataType | None = None


def connect(conninfo: str):
    return adbc.connect(conninfo)


def plan_columns(schema: pa.Schema, *, component: str, log) -> list[Column]:
    """How to read each column of a result whose Arrow schema (from
    `adbc_execute_schema`) is `schema`."""
    names = schema.names
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise EngineError(
            f"The query returns several columns named {', '.join(map(repr, repeated))}; give each an alias.",
            component=component,
            field="config.query",
        )
    return [_plan(field, log) for field in schema]


def _plan(field: pa.Field, log) -> Column:
    metadata = field.metadata or {}
    type_name = metadata.get(_TYPE, b"").decode()
    quoted = POSTGRES.quote(field.name)
    element = type_name[1:] if type_name.startswith("_") else None
    if type_name in NATIVE or (element in NATIVE and pa.types.is_list(field.type)):
        return Column(field.name, quoted, "native")
    as_text = f"{quoted}::text AS {quoted}"
    if type_name == "numeric":
        precision, scale = numeric_typmod(int(metadata.get(_TYPMOD, b"-1")))
        if precision is None:
            return Column(field.name, as_text, "unbounded")
        if scale < 0:  # numeric(5,-2): integers with up to p - s digits
            precision, scale = precision - scale, 0
        precision = max(precision, scale)
        if precision > MAX_DECIMAL_PRECISION:
            log(
                "warning",
                f"Column {field.name!r} is numeric({precision},{scale}), more digits than a decimal holds "
                f"({MAX_DECIMAL_PRECISION}); it is read as text. Cast it in the query for a decimal.",
            )
            return Column(field.name, as_text, "text")
        return Column(field.name, as_text, "decimal", pl.Decimal(precision, scale))
    if type_name == "interval":
        micros = f"(extract(epoch FROM {quoted}) * 1000000)::int8 AS {quoted}"
        return Column(field.name, micros, "duration", pl.Duration("us"))
    return Column(field.name, as_text, "text")


def numeric_typmod(typmod: int) -> tuple[int | None, int]:
    """numeric(p,s) from its type modifier; (None, 0) when unbounded."""
    if typmod < 4:
        return None, 0
    value = typmod - 4
    scale = value & 0x7FF
    # PostgreSQL 15+ allows a negative scale, stored in 11 bits.
    if scale & 0x400:
        scale -= 0x800
    return (value >> 16) & 0xFFFF, scale


def read_statement(statement: str, columns: list[Column]) -> str:
    """`statement` itself when every column reads as it is, else a SELECT
    around it converting the others."""
    if all(column.kind == "native" for column in columns):
        return statement
    select = ", ".join(column.expression for column in columns)
    return f"SELECT {select} FROM ({statement}) AS etl_source"  # noqa: S608 - quoted identifiers


class Converter:
    """Turns each frame read into the source's frame: exact decimals, durations."""

    def __init__(self, columns: list[Column], component: str):
        self.columns = columns
        self.component = component

    def convert(self, frame: pl.DataFrame) -> pl.DataFrame:
        for column in self.columns:
            if column.kind == "unbounded" and column.dtype is None:
                column.dtype = self._decimal_for(frame[column.name])
        changes = []
        for column in self.columns:
            if column.kind == "duration":
                changes.append(pl.col(column.name).cast(column.dtype))
            elif column.kind in ("decimal", "unbounded"):
                self._check_scale(frame[column.name], column)
                changes.append(pl.col(column.name).cast(column.dtype, strict=True))
        if not changes:
            return frame
        try:
            return frame.with_columns(changes)
        except pl.exceptions.PolarsError as error:
            raise self._not_decimal(frame, error) from None

    def _decimal_for(self, values: pl.Series) -> pl.DataType:
        """The type of an unbounded numeric column, decided by the first batch."""
        scale = _largest_scale(values)
        return pl.Decimal(MAX_DECIMAL_PRECISION, min(scale, MAX_DECIMAL_PRECISION))

    def _check_scale(self, values: pl.Series, column: Column) -> None:
        # Polars truncates extra decimal places when it casts text to a decimal.
        if column.kind == "decimal" or values.null_count() == len(values):
            return
        scale = _largest_scale(values)
        if scale > column.dtype.scale:
            raise EngineError(
                f"Column {column.name!r} is a numeric without declared precision and scale; it is read "
                f"as {column.dtype} (the largest scale of the first batch), but a later value has "
                f"{scale} decimal places. Cast it in the query, e.g. {column.name}::numeric(30,{scale}).",
                component=self.component,
                field="config.query",
            )

    def _not_decimal(self, frame: pl.DataFrame, error) -> EngineError:
        for column in self.columns:
            if column.kind not in ("decimal", "unbounded"):
                continue
            values = frame[column.name]
            cast = values.cast(column.dtype, strict=False)
            bad = values.filter(cast.is_null() & values.is_not_null())
            if len(bad):
                return EngineError(
                    f"Column {column.name!r} has the value {bad[0]!r}, which {column.dtype} cannot hold "
                    "(NaN, infinity or more than 38 digits); cast it in the query (e.g. to text or "
                    "double precision).",
                    component=self.component,
                    field="config.query",
                )
        return EngineError(f"Cannot convert the batch read: {error}", component=self.component)


def _largest_scale(values: pl.Series) -> int:
    """The most decimal places among the values' text forms (trailing zeros kept,
    as the server wrote them for the column)."""
    places = values.str.extract(r"\.(\d+)$").str.len_chars().max()
    return int(places or 0)


class ReadAhead:
    """Reads the next Arrow batch in a thread while the pipeline works on the
    current one; the driver releases the GIL while it waits and decodes."""

    _END = object()

    def __init__(self, reader: pa.RecordBatchReader):
        self.reader = reader
        self.queue: queue.Queue = queue.Queue(maxsize=READ_AHEAD_BATCHES)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="etl-pg-read", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for batch in self.reader:
                if not self._put(batch):
                    return
            self._put(self._END)
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread
            self._put(error)

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self, cancel) -> None:
        """Stop reading (a stopped run, or a failure downstream); `cancel`
        interrupts a read the server is still answering."""
        self.stopping.set()
        if self.thread.is_alive():
            with contextlib.suppress(Error):
                cancel()
        self.thread.join(timeout=30)


_DRIVER_NOISE = re.compile(r"^.*?ERROR:\s*|\s*(Query was:|SQLSTATE:).*$", re.DOTALL)


def error_message(error: BaseException) -> str:
    """The server's words from an ADBC error ("ERROR:  relation ... does not
    exist"), without the driver's prefix and the COPY statement it wrapped."""
    text = str(error)
    if "ERROR:" in text:
        text = _DRIVER_NOISE.sub("", text)
    return text.strip().rstrip(".") or type(error).__name__
