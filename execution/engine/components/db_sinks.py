"""Sinks loading PostgreSQL, MySQL/MariaDB and SQLite tables.

Each run loads inside one transaction, committed by the runner only after every
source is exhausted and nothing failed:

- PostgreSQL: COPY straight into the target, in the binary format when every
  column's type allows (pg_binary.py), else CSV; `replace` truncates inside
  the transaction; `upsert` COPYs into a temporary table, then merges with
  INSERT ... ON CONFLICT. The COPY data is sent by a background thread so
  reading and encoding the next batch overlaps with the server's work.
- MySQL/MariaDB: multi-row INSERTs (InnoDB tables only: others cannot roll
  back); `replace` is DELETE (TRUNCATE would commit); `upsert` is
  INSERT ... ON DUPLICATE KEY UPDATE. CREATE TABLE commits implicitly in
  MySQL, so a table this run created is dropped again on rollback.
- SQLite: INSERTs; `upsert` is INSERT ... ON CONFLICT DO UPDATE.

A missing table is created from the data's column types, with the `key`
columns as primary key.
"""

import contextlib
import queue
import sqlite3
import threading

import polars as pl
import psycopg
import pymysql

from execution.engine import pg_binary
from execution.engine.components.base import Sink, choice, config_schema, names, string
from execution.engine.components.db_sources import CONNECTION, connection_settings, open_sqlite
from execution.engine.connections import open_connection
from execution.engine.errors import EngineError
from execution.engine.registry import SINK, register
from execution.engine.sql import MYSQL, POSTGRES, SQLITE, TABLE_NAME_PATTERN, table_parts

TABLE = string(
    "Target table, `table` or `schema.table`; created from the data's types when missing.",
    pattern=TABLE_NAME_PATTERN,
)
MODE = choice(
    "`append` rows (default), `replace` the table's rows, or `upsert` by `key`.",
    ["append", "replace", "upsert"],
)
KEY = names("Key columns for upsert (and the primary key of a created table).", min_items=1)
# Rows per COPY message (and per slot of the sender's queue).
COPY_CHUNK_ROWS = 10_000
UPSERT_NEEDS_KEY = {
    "if": {"properties": {"mode": {"const": "upsert"}}, "required": ["mode"]},
    "then": {"required": ["key"]},
}


def database_sink_schema(*, connection_required: bool) -> dict:
    properties = {"connection": CONNECTION, "table": TABLE, "mode": MODE, "key": KEY}
    required = ("connection", "table") if connection_required else ("table",)
    return config_schema(properties, required, **UPSERT_NEEDS_KEY)


class DatabaseSink(Sink):
    dialect = POSTGRES
    driver_errors: tuple = ()

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.schema_name, self.table_name = table_parts(config["table"], component=name)
        self.qualified = self.dialect.table(self.schema_name, self.table_name)
        self.mode = config.get("mode", "append")
        self.key = list(config.get("key") or [])
        self.connection = None
        self.columns: list[str] | None = None
        self.created_table = False

    # -- the shared flow -------------------------------------------------------------
    def write(self, batch):
        try:
            if self.connection is None:
                self.begin(batch.schema)
            elif batch.columns != self.columns:
                batch = self._conform(batch)
            if batch.height:
                self.load(batch)
        except self.driver_errors as error:
            raise self.explain(error) from None

    def prepare(self):
        try:
            if self.connection is None:
                self.begin(pl.Schema())
            self.finish_load()
        except self.driver_errors as error:
            raise self.explain(error) from None

    def commit(self):
        if self.connection is not None:
            self.connection.commit()

    def rollback(self):
        if self.connection is None:
            return
        try:
            self.abort_load()
            self.connection.rollback()
            if self.created_table and self.dialect is MYSQL:
                with self.connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {self.qualified}")
        except self.driver_errors as error:
            self.log("warning", f"Rollback failed: {error}")

    def close(self):
        if self.connection is not None:
            self.connection.close()

    def begin(self, schema: pl.Schema):
        self.connection = self.connect()
        self.schema = schema
        self.columns = list(schema.names())
        existing = self.existing_columns()
        if self.mode == "upsert":
            missing_keys = [k for k in self.key if k not in self.columns]
            if missing_keys and self.columns:
                raise EngineError(
                    f"Key column(s) {missing_keys} are not in the data.",
                    component=self.name,
                    field="config.key",
                )
        if existing is None:
            if not self.columns:
                return
            self.create(schema)
        else:
            unknown = [c for c in self.columns if c not in existing]
            if unknown:
                raise EngineError(
                    f"Column(s) {unknown} are not in table {self.config['table']} "
                    f"(it has: {', '.join(existing)}); add a select to rename or drop them.",
                    component=self.name,
                    field="config.table",
                )
            if self.mode == "replace":
                self.clear()
        self.start_load()

    def _conform(self, batch):
        if set(batch.columns) != set(self.columns):
            raise EngineError(
                f"A batch has columns {batch.columns}, the first one had {self.columns}.", component=self.name
            )
        return batch.select(self.columns)

    def explain(self, error) -> EngineError:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return EngineError(
            f"{self.dialect.name} refused the load: {message}", component=self.name, field="config.table"
        )

    def quoted_columns(self) -> str:
        return ", ".join(self.dialect.quote(c) for c in self.columns)

    # -- per database -------------------------------------------------------------------
    def connect(self):
        return open_connection(connection_settings(self, self.config), deadline=self.ctx.deadline)

    def existing_columns(self) -> list[str] | None:
        raise NotImplementedError

    def create(self, schema):
        with self.connection.cursor() as cursor:
            cursor.execute(self.dialect.create_table(self.qualified, schema, self.key, component=self.name))
        self.created_table = True

    def clear(self):
        with self.connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.qualified}")  # noqa: S608 - quoted identifier

    def start_load(self):
        """Prepare for the first batch."""

    def load(self, batch):
        raise NotImplementedError

    def finish_load(self):
        """Complete the load (still inside the transaction)."""

    def abort_load(self):
        """Stop a load in progress before rolling back."""


@register(
    "postgres_sink",
    kind=SINK,
    outputs=(),
    summary="Load a PostgreSQL table with COPY inside one transaction (append, replace or upsert).",
    config_schema=database_sink_schema(connection_required=True),
    example={"connection": "warehouse", "table": "public.carrier_stats", "mode": "replace"},
)
class PostgresSink(DatabaseSink):
    """`replace` truncates inside the run's transaction: other sessions see the
    old rows until commit, but wait for the table while the load runs. `upsert`
    needs a unique constraint on `key` (a created table gets it as primary
    key); of several rows with the same key, the last one wins."""

    dialect = POSTGRES
    driver_errors = (psycopg.Error,)

    def existing_columns(self):
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum",
                (self.qualified,),
            )
            rows = cursor.fetchall()
            if rows:
                return [row[0] for row in rows]
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (self.qualified,))
            return [] if cursor.fetchone()[0] else None

    def clear(self):
        with self.connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {self.qualified}")

    def start_load(self):
        self.copy_target = self.qualified
        if self.mode == "upsert":
            self.copy_target = self.dialect.quote(f"etl_stage_{self.name}")
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.copy_target} "
                    f"(LIKE {self.qualified} INCLUDING DEFAULTS) ON COMMIT DROP"
                )
        # Binary spares the server parsing text; CSV serves the column types it does not cover.
        self.encoder = pg_binary.encoder_for(self.schema, self._column_types())
        copy_format = "binary" if self.encoder else "csv"
        self.sender = CopySender(
            self.connection,
            f"COPY {self.copy_target} ({self.quoted_columns()}) FROM STDIN (FORMAT {copy_format})",
        )
        if self.encoder:
            self.sender.send(pg_binary.SIGNATURE)

    def _column_types(self) -> dict[str, str]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid::regtype::text FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
                (self.qualified,),
            )
            return dict(cursor.fetchall())

    def load(self, batch):
        # Encoded in slices: the queue then holds small buffers whatever the batch size.
        for offset in range(0, batch.height, COPY_CHUNK_ROWS):
            chunk = batch.slice(offset, COPY_CHUNK_ROWS)
            if self.encoder:
                self.sender.send(self.encoder.encode(chunk))
            else:
                self.sender.send(chunk.write_csv(include_header=False).encode())

    def finish_load(self):
        if self.columns:
            if self.encoder:
                self.sender.send(pg_binary.TRAILER)
            self.sender.finish()
        if self.mode == "upsert" and self.columns:
            self._merge()

    def abort_load(self):
        if self.columns and getattr(self, "sender", None):
            self.sender.abort()

    def _merge(self):
        quote = self.dialect.quote
        keys = ", ".join(quote(k) for k in self.key)
        updates = [c for c in self.columns if c not in self.key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        # Last row per key wins: in a freshly loaded temp table ctid follows load order.
        statement = (
            f"INSERT INTO {self.qualified} ({self.quoted_columns()}) "  # noqa: S608 - quoted identifiers
            f"SELECT DISTINCT ON ({keys}) {self.quoted_columns()} FROM {self.copy_target} "
            f"ORDER BY {keys}, ctid DESC ON CONFLICT ({keys}) {action}"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(statement)

    def explain(self, error):
        if isinstance(error, psycopg.errors.InvalidColumnReference) and "ON CONFLICT" in str(error):
            return EngineError(
                f"Upsert needs a primary key or unique constraint on {self.key} in {self.config['table']}.",
                component=self.name,
                field="config.key",
            )
        return super().explain(error)


class CopySender:
    """Feeds one COPY FROM STDIN from a background thread.

    The queue holds at most two batches, so memory stays bounded while the
    caller formats the next batch and the server parses the previous one.
    """

    def __init__(self, connection, statement):
        self.cursor = connection.cursor()
        self.copy_context = self.cursor.copy(statement)
        self.copy = self.copy_context.__enter__()
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="etl-copy", daemon=True)
        self.thread.start()

    def _run(self):
        while (data := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.copy.write(data)
                except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                    self.error = error

    def send(self, data: bytes | memoryview):
        if self.error is not None:
            raise self.error
        self.queue.put(data)

    def finish(self):
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            self.copy_context.__exit__(type(self.error), self.error, None)
            raise self.error
        self.copy_context.__exit__(None, None, None)

    def abort(self):
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        error = self.error or RuntimeError("load abandoned")
        with contextlib.suppress(psycopg.Error):
            self.copy_context.__exit__(type(error), error, None)


class InsertingSink(DatabaseSink):
    """MySQL and SQLite: parametrized multi-row INSERTs of Python values."""

    def insert_statement(self) -> str:
        marks = ", ".join([self.dialect.placeholder] * len(self.columns))
        return f"INSERT INTO {self.qualified} ({self.quoted_columns()}) VALUES ({marks})"  # noqa: S608

    def load(self, batch):
        rows = self.python_rows(batch)
        cursor = self.connection.cursor()
        try:
            cursor.executemany(self.statement, rows)
        finally:
            cursor.close()

    def python_rows(self, batch: pl.DataFrame) -> list[tuple]:
        return batch.rows()


@register(
    "mysql_sink",
    kind=SINK,
    outputs=(),
    summary="Load a MySQL/MariaDB table inside one transaction (append, replace or upsert).",
    config_schema=database_sink_schema(connection_required=True),
    example={"connection": "shop", "table": "flights_copy", "mode": "upsert", "key": ["flight_id"]},
)
class MySQLSink(InsertingSink):
    """Zoned timestamps are stored in UTC (MySQL has no zoned type). Upsert
    needs a primary key or unique index on `key`."""

    dialect = MYSQL
    driver_errors = (pymysql.MySQLError,)

    def existing_columns(self):
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
                "AND TABLE_NAME = %s",
                (self.schema_name, self.table_name),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            if (row[0] or "").lower() != "innodb":
                raise EngineError(
                    f"Table {self.config['table']} uses the {row[0]} engine, which cannot roll back a "
                    "failed load; convert it to InnoDB.",
                    component=self.name,
                    field="config.table",
                )
            cursor.execute(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                (self.schema_name, self.table_name),
            )
            return [r[0] for r in cursor.fetchall()]

    def start_load(self):
        # autocommit is off: the session's implicit transaction already holds the
        # DELETE of `replace`; an explicit BEGIN here would commit it.
        self.statement = self.insert_statement()
        if self.mode == "upsert":
            quote = self.dialect.quote
            updates = [c for c in self.columns if c not in self.key] or self.key[:1]
            self.statement += " ON DUPLICATE KEY UPDATE " + ", ".join(
                f"{quote(c)} = VALUES({quote(c)})" for c in updates
            )

    def python_rows(self, batch):
        zoned = [c for c, t in batch.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
        if zoned:
            batch = batch.with_columns(pl.col(zoned).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        return batch.rows()


@register(
    "sqlite_sink",
    kind=SINK,
    outputs=(),
    summary="Load a SQLite table (database file under the data roots, or a connection) in one transaction.",
    config_schema=config_schema(
        {
            "path": string("Database file, relative to a data root (created when missing).", minLength=1),
            "connection": CONNECTION,
            "table": TABLE,
            "mode": MODE,
            "key": KEY,
        },
        ("table",),
        allOf=[UPSERT_NEEDS_KEY, {"oneOf": [{"required": ["path"]}, {"required": ["connection"]}]}],
    ),
    example={"path": "out/shop.sqlite3", "table": "orders", "mode": "append"},
)
class SQLiteSink(InsertingSink):
    """Dates and timestamps are stored as ISO 8601 text, booleans as 0/1,
    decimals as text in a NUMERIC column."""

    dialect = SQLITE
    driver_errors = (sqlite3.Error,)

    def connect(self):
        connection = open_sqlite(self, create=True)
        connection.execute("BEGIN IMMEDIATE")
        return connection

    def existing_columns(self):
        rows = self.connection.execute(
            "SELECT name FROM pragma_table_info(?, ?)", (self.table_name, self.schema_name or "main")
        ).fetchall()
        return [r[0] for r in rows] or None

    def create(self, schema):
        self.connection.execute(
            self.dialect.create_table(self.qualified, schema, self.key, component=self.name)
        )
        self.created_table = True

    def clear(self):
        self.connection.execute(f"DELETE FROM {self.qualified}")  # noqa: S608 - quoted identifier

    def start_load(self):
        self.statement = self.insert_statement()
        if self.mode == "upsert":
            quote = self.dialect.quote
            updates = [c for c in self.columns if c not in self.key]
            action = (
                "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
                if updates
                else "DO NOTHING"
            )
            self.statement += f" ON CONFLICT ({', '.join(quote(k) for k in self.key)}) {action}"

    def load(self, batch):
        self.connection.executemany(self.statement, self.python_rows(batch))

    def python_rows(self, batch):
        conversions = []
        for column, dtype in batch.schema.items():
            if isinstance(dtype, pl.Datetime):
                zone = "%:z" if dtype.time_zone else ""
                conversions.append(pl.col(column).dt.to_string(f"%Y-%m-%dT%H:%M:%S%.f{zone}"))
            elif dtype in (pl.Date, pl.Time) or isinstance(dtype, pl.Decimal):
                conversions.append(pl.col(column).cast(pl.String))
        return batch.with_columns(conversions).rows() if conversions else batch.rows()
