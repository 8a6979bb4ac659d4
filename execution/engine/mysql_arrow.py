"""MySQL/MariaDB query results as Arrow batches, through connectorx.

connectorx reads the binary protocol in Rust straight into Arrow arrays: no
Python object per row (measured in docs/performance.md, "Database
connectors": about 12× PyMySQL's `fetchmany`). Its own conversions are
limited, so the source asks the server for the columns' types first
(PyMySQL, `SELECT * FROM (query) LIMIT 0`) and converts on the server what
connectorx would get wrong (`plan_columns`):

- DECIMAL arrives as text and becomes an exact `Decimal(p, s)` (connectorx
  keeps at most 28 digits); more than 38 digits (Polars' limit) stays text,
  with a warning;
- TIME arrives as text and becomes a Duration (connectorx reads it as a time
  of day and fails on negative or >24h values);
- TINYINT(1) becomes a boolean, other columns keep the Polars type the
  PyMySQL source gave them (`_MYSQL_TYPES` of db_sources.py), except
  unsigned integers, which stay unsigned.

A read stopped before its end kills its query on the server (connectorx's
connection would otherwise stream the rest of the result to nobody): the
query carries a random marker, and `stop` finds it in the process list.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

import connectorx
import polars as pl
import pyarrow as pa
from pymysql.constants import FIELD_TYPE

from execution.engine.errors import EngineError
from execution.engine.sql import MYSQL

MAX_DECIMAL_PRECISION = 38


def is_read_error(error: BaseException) -> bool:
    """What a failed connectorx read raises: RuntimeError (the server's error),
    Arrow's errors, and a Rust panic on a value it cannot convert (pyo3's
    PanicException, which derives from BaseException and cannot be imported)."""
    return (
        isinstance(error, RuntimeError | pa.ArrowException | OSError)
        or type(error).__name__ == "PanicException"
    )


@dataclass
class Column:
    name: str
    expression: str
    # "plain", "decimal", "duration", "text".
    kind: str
    dtype: pl.DataType | None = None


def probe_statement(statement: str) -> str:
    return f"SELECT * FROM ({statement}) AS etl_probe LIMIT 0"  # noqa: S608 - the job's own query


def plan_columns(description, schema: dict, log) -> list[Column]:
    """How to read each column, from PyMySQL's description of the probe and
    the Polars types the row-by-row source would give (`schema`)."""
    columns = []
    for name, type_code, _, length, _, scale, _ in description:
        quoted = MYSQL.quote(name)
        as_text = f"CAST({quoted} AS CHAR) AS {quoted}"
        if type_code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
            digits = max(length - (1 if scale else 0) - 1, 1)
            if digits > MAX_DECIMAL_PRECISION:
                log(
                    "warning",
                    f"Column {name!r} is DECIMAL({digits},{scale}), more digits than a decimal holds "
                    f"({MAX_DECIMAL_PRECISION}); it is read as text. Cast it in the query for a decimal.",
                )
                columns.append(Column(name, as_text, "text"))
            else:
                columns.append(Column(name, as_text, "decimal", pl.Decimal(max(digits, scale), scale)))
        elif type_code == FIELD_TYPE.TIME:
            columns.append(Column(name, as_text, "duration", pl.Duration("us")))
        else:
            columns.append(Column(name, quoted, "plain", schema.get(name)))
    return columns


def read_statement(statement: str, columns: list[Column], marker: str) -> str:
    select = ", ".join(column.expression for column in columns)
    if all(column.kind == "plain" for column in columns):
        return f"/* {marker} */ {statement}"
    return f"/* {marker} */ SELECT {select} FROM ({statement}) AS etl_source"  # noqa: S608


def new_marker() -> str:
    return f"etl-read-{secrets.token_hex(8)}"


def url(settings: dict) -> str:
    user = quote(settings.get("user") or "", safe="")
    password = quote(settings.get("password") or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings.get("host") or "127.0.0.1"
    port = int(settings.get("port") or 3306)
    return f"mysql://{auth}{host}:{port}/{quote(settings.get('database') or '', safe='')}"


def reader(connection_url: str, statement: str, batch_size: int, setup: list[str]) -> pa.RecordBatchReader:
    return connectorx.read_sql(
        connection_url,
        statement,
        return_type="arrow_stream",
        batch_size=batch_size,
        pre_execution_query=setup or None,
    )


def convert(frame: pl.DataFrame, columns: list[Column], component: str) -> pl.DataFrame:
    changes = []
    for column in columns:
        current = frame.schema[column.name]
        if column.kind == "decimal":
            changes.append(pl.col(column.name).cast(column.dtype, strict=True))
        elif column.kind == "duration":
            changes.append(_duration(pl.col(column.name)).alias(column.name))
        elif column.kind == "plain" and column.dtype is not None and current != column.dtype:
            if current.is_unsigned_integer() and column.dtype.is_integer():
                continue
            if column.dtype == pl.Boolean:
                changes.append(pl.col(column.name) != 0)
            else:
                changes.append(pl.col(column.name).cast(column.dtype, strict=True))
    if not changes:
        return frame
    try:
        return frame.with_columns(changes)
    except pl.exceptions.PolarsError as error:
        raise EngineError(f"Cannot convert the rows read: {error}", component=component) from None


def _duration(text: pl.Expr) -> pl.Expr:
    """MySQL's TIME text, `[-]H:MM:SS[.ffffff]`, as microseconds."""
    body = text.str.strip_chars_start("-")
    parts = body.str.split_exact(":", 2)
    seconds = parts.struct.field("field_2").str.split_exact(".", 1)
    fraction = seconds.struct.field("field_1").fill_null("").str.pad_end(6, "0").str.slice(0, 6)
    micros = (
        parts.struct.field("field_0").cast(pl.Int64) * 3_600_000_000
        + parts.struct.field("field_1").cast(pl.Int64) * 60_000_000
        + seconds.struct.field("field_0").cast(pl.Int64) * 1_000_000
        + fraction.cast(pl.Int64)
    )
    signed = pl.when(text.str.starts_with("-")).then(-micros).otherwise(micros)
    return signed.cast(pl.Duration("us"))


def kill(connection, marker: str) -> None:
    """End the query carrying `marker` (a read stopped early), from `connection`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
            (f"/* {marker} */%",),
        )
        for (identifier,) in cursor.fetchall():
            cursor.execute(f"KILL QUERY {int(identifier)}")


def error_message(error: BaseException) -> str:
    """connectorx's `MySqlError { ERROR 1054 (42S22): Unknown column ... }` as the server's words."""
    text = str(error).strip()
    if "ERROR" in text and "{" in text:
        text = text[text.index("ERROR") :].rstrip("} ").strip()
    return text or type(error).__name__
