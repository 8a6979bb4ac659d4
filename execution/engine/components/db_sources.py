"""Sources reading a table or a query from PostgreSQL, MySQL/MariaDB or SQLite,
streamed with server-side (unbuffered) cursors, `batch_size` rows at a time."""

import contextlib
import json
import math
import sqlite3
import time
from urllib.parse import quote

import polars as pl
import psycopg
import pymysql
from pymysql.constants import FIELD_TYPE

from execution.engine.arrow_batches import frames
from execution.engine.components.base import Source, config_schema, string
from execution.engine.connections import (
    ConnectionFailed,
    from_url,
    open_connection,
    postgres_conninfo,
    scrub,
)
from execution.engine.errors import EngineError
from execution.engine.paths import resolve_path
from execution.engine.registry import SOURCE, register
from execution.engine.sql import MYSQL, POSTGRES, SQLITE, TABLE_NAME_PATTERN, table_parts, without_semicolon

CONNECTION = string("Name of a connection (a credential of the run's context).", minLength=1)
TABLE = string("Table to read, `table` or `schema.table`.", pattern=TABLE_NAME_PATTERN)
QUERY = string("A SELECT query to read instead of a table (runs on that database as written).", minLength=1)
TABLE_OR_QUERY = {"oneOf": [{"required": ["table"]}, {"required": ["query"]}]}

DATABASE_ERRORS = (psycopg.Error, pymysql.MySQLError, sqlite3.Error)


def connection_settings(component, config) -> dict:
    name = config["connection"]
    try:
        return component.ctx.connections[name]
    except KeyError:
        raise EngineError(
            f"Unknown connection {name!r}; add a credential of that name to the context "
            "(or pass --connection name=URL).",
            component=component.name,
            field="config.connection",
        ) from None


class DatabaseSource(Source):
    dialect = POSTGRES

    def select_statement(self) -> str:
        if "query" in self.config:
            return self.config["query"]
        schema, table = table_parts(self.config["table"], component=self.name)
        return f"SELECT * FROM {self.dialect.table(schema, table)}"  # noqa: S608 - quoted identifiers

    def database_error(self, error) -> EngineError:
        field = "config.query" if "query" in self.config else "config.table"
        return EngineError(
            f"The database refused the read: {str(error).strip()}", component=self.name, field=field
        )

    def frames_from_rows(self, fetch, names: list[str], schema: dict):
        """Pull `batch_size` rows at a time and turn each block into a frame;
        columns whose type the driver does not tell keep the first block's type."""
        emitted = False
        while True:
            rows = fetch(self.ctx.batch_size)
            if not rows and emitted:
                break
            frame = pl.DataFrame(
                rows, schema=names, schema_overrides=schema, orient="row", infer_schema_length=None
            )
            for column, dtype in frame.schema.items():
                if column not in schema and dtype != pl.Null:
                    schema[column] = dtype
            self.progress_done += frame.height
            emitted = True
            yield frame
            if not rows:
                break


@register(
    "postgres_source",
    kind=SOURCE,
    summary="Read a PostgreSQL table or query as Arrow batches (binary COPY through ADBC).",
    config_schema=config_schema(
        {"connection": CONNECTION, "table": TABLE, "query": QUERY}, ("connection",), **TABLE_OR_QUERY
    ),
    example={"connection": "warehouse", "table": "public.flights"},
)
class PostgresSource(DatabaseSource):
    """Progress is rows read of the planner's row estimate. numeric columns
    become exact decimals (see pg_arrow.py for unbounded numeric), timestamptz
    UTC datetimes; json, uuid and other types without a Polars counterpart
    arrive as text. The next batch is read while the pipeline works on this one."""

    dialect = POSTGRES

    def batches(self):
        # Imported here: the ADBC driver is loaded only by runs that read PostgreSQL.
        from execution.engine import pg_arrow

        settings = connection_settings(self, self.config)
        statement = without_semicolon(self.select_statement())
        self.progress_total = self._estimate(settings, statement)
        try:
            connection = pg_arrow.connect(postgres_conninfo(settings, deadline=self.ctx.deadline))
        except pg_arrow.Error as error:
            raise ConnectionFailed(
                scrub(f"Cannot connect to the postgres database: {pg_arrow.error_message(error)}", settings)
            ) from None
        cursor = connection.cursor()
        reading = None
        try:
            columns = pg_arrow.plan_columns(
                cursor.adbc_execute_schema(statement),
                component=self.name,
                log=lambda level, message: self.log(level, message),
            )
            cursor.execute(pg_arrow.read_statement(statement, columns))
            reader = cursor.fetch_record_batch()
            reading = pg_arrow.ReadAhead(reader)
            converter = pg_arrow.Converter(columns, self.name)
            for frame in frames(reading, reader.schema, self.ctx.batch_size):
                frame = converter.convert(frame)
                self.progress_done += frame.height
                yield frame
        except pg_arrow.READ_ERRORS as error:
            raise self.database_error(pg_arrow.error_message(error)) from None
        finally:
            if reading is not None:
                reading.stop(cursor.adbc_cancel)
            with contextlib.suppress(*pg_arrow.READ_ERRORS):
                cursor.close()
                connection.close()

    def _estimate(self, settings, statement) -> int | None:
        connection = open_connection(settings, autocommit=True, deadline=self.ctx.deadline)
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
                plan = cursor.fetchone()[0]
        except psycopg.Error as error:
            raise self.database_error(error) from None
        finally:
            connection.close()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"]) or None


_MYSQL_TYPES = {
    FIELD_TYPE.SHORT: pl.Int16,
    FIELD_TYPE.INT24: pl.Int32,
    FIELD_TYPE.LONG: pl.Int64,
    FIELD_TYPE.LONGLONG: pl.Int64,
    FIELD_TYPE.FLOAT: pl.Float32,
    FIELD_TYPE.DOUBLE: pl.Float64,
    FIELD_TYPE.DATE: pl.Date,
    FIELD_TYPE.DATETIME: pl.Datetime("us"),
    FIELD_TYPE.TIMESTAMP: pl.Datetime("us"),
    FIELD_TYPE.TIME: pl.Duration("us"),
    FIELD_TYPE.VARCHAR: pl.String,
    FIELD_TYPE.VAR_STRING: pl.String,
    FIELD_TYPE.STRING: pl.String,
    FIELD_TYPE.JSON: pl.String,
}


@register(
    "mysql_source",
    kind=SOURCE,
    summary="Read a MySQL/MariaDB table or query as Arrow batches (connectorx).",
    config_schema=config_schema(
        {"connection": CONNECTION, "table": TABLE, "query": QUERY}, ("connection",), **TABLE_OR_QUERY
    ),
    example={"connection": "shop", "table": "flights"},
)
class MySQLSource(DatabaseSource):
    """Progress is rows read of the table's row estimate (information_schema).
    TINYINT(1) columns become booleans, DECIMAL columns exact decimals, TIME
    durations. Rows arrive as Arrow batches (connectorx, see mysql_arrow.py)."""

    dialect = MYSQL

    def batches(self):
        # Imported here: connectorx is loaded only by runs that read MySQL.
        from execution.engine import mysql_arrow

        settings = connection_settings(self, self.config)
        statement = without_semicolon(self.select_statement())
        connection = open_connection(settings, autocommit=True, deadline=self.ctx.deadline)
        marker = mysql_arrow.new_marker()
        finished = False
        try:
            self.progress_total = self._estimate(connection)
            with connection.cursor() as cursor:
                cursor.execute(mysql_arrow.probe_statement(statement))
                description = cursor.description
            _, schema = self._schema(description)
            columns = mysql_arrow.plan_columns(
                description, schema, lambda level, message: self.log(level, message)
            )
            reader = mysql_arrow.reader(
                mysql_arrow.url(_normalized_settings(settings)),
                mysql_arrow.read_statement(statement, columns, marker),
                self.ctx.batch_size,
                self._session_setup(),
            )
            for frame in frames(reader, reader.schema, self.ctx.batch_size):
                frame = mysql_arrow.convert(frame, columns, self.name)
                self.progress_done += frame.height
                yield frame
            finished = True
        except pymysql.MySQLError as error:
            raise self.database_error(error) from None
        except BaseException as error:
            if not mysql_arrow.is_read_error(error):
                raise
            raise self.database_error(mysql_arrow.error_message(error)) from None
        finally:
            if not finished:
                with contextlib.suppress(pymysql.MySQLError):
                    mysql_arrow.kill(connection, marker)
            connection.close()

    def _session_setup(self) -> list[str]:
        """The deadline's lock-wait limits, as open_connection sets them."""
        if self.ctx.deadline is None:
            return []
        seconds = max(1, math.ceil(self.ctx.deadline - time.time()))
        return [f"SET SESSION innodb_lock_wait_timeout={seconds}, SESSION lock_wait_timeout={seconds}"]

    def _estimate(self, connection) -> int | None:
        if "table" not in self.config:
            return None
        schema, table = table_parts(self.config["table"], component=self.name)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT TABLE_ROWS FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
                (schema, table),
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] else None

    def _schema(self, description):
        names = [column[0] for column in description]
        schema = {}
        for name, type_code, _, length, _, scale, _ in description:
            if type_code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
                digits = length - (1 if scale else 0) - 1
                schema[name] = pl.Decimal(max(digits, 1), scale)
            elif type_code == FIELD_TYPE.TINY:
                schema[name] = pl.Boolean if length == 1 else pl.Int8
            elif type_code in _MYSQL_TYPES:
                schema[name] = _MYSQL_TYPES[type_code]
        return names, schema


@register(
    "sqlite_source",
    kind=SOURCE,
    summary="Read a SQLite table or query from a database file under the data roots (or a connection).",
    config_schema=config_schema(
        {
            "path": string("Database file, relative to a data root.", minLength=1),
            "connection": CONNECTION,
            "table": TABLE,
            "query": QUERY,
        },
        allOf=[TABLE_OR_QUERY, {"oneOf": [{"required": ["path"]}, {"required": ["connection"]}]}],
    ),
    example={"path": "flights.sqlite3", "table": "flights"},
)
class SQLiteSource(DatabaseSource):
    """SQLite columns have no strict types: each column's type is inferred from
    the values of the first batch (dates stored as text stay text)."""

    dialect = SQLITE

    def batches(self):
        connection = open_sqlite(self)
        try:
            cursor = connection.execute(self.select_statement())
            names = [column[0] for column in cursor.description]
            if "table" in self.config:
                schema, table = table_parts(self.config["table"], component=self.name)
                counted = connection.execute(f"SELECT count(*) FROM {self.dialect.table(schema, table)}")  # noqa: S608
                self.progress_total = counted.fetchone()[0]
            yield from self.frames_from_rows(cursor.fetchmany, names, {})
        except sqlite3.Error as error:
            raise self.database_error(error) from None
        finally:
            connection.close()


def open_sqlite(component, *, create: bool = False):
    """The SQLite database of a source or sink: a file under the data roots, or a connection."""
    if "connection" in component.config:
        return open_connection(
            connection_settings(component, component.config), deadline=component.ctx.deadline
        )
    path = resolve_path(
        component.config["path"], component.ctx.data_roots, component=component.name, must_exist=not create
    )
    try:
        mode = "rwc" if create else "rw"
        return sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise EngineError(
            f"Cannot open the database file: {error}", component=component.name, field="config.path"
        ) from None


def _normalized_settings(settings: dict) -> dict:
    """A connection dict with host, port, user... also when it was given as a URL."""
    if settings.get("url"):
        return {**from_url(settings["url"]), **{k: v for k, v in settings.items() if k != "url"}}
    return settings
