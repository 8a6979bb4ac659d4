"""What the database sinks share, and the PostgreSQL sink.

Each run loads inside one transaction, committed by the runner only after every
source is exhausted and nothing failed:

- PostgreSQL: COPY straight into the target, in the binary format when every
  column's type allows (pg_binary.py), else CSV; `replace` truncates inside
  the transaction; `upsert` COPYs into a temporary table, then merges with
  INSERT ... ON CONFLICT. The COPY data is sent by a background thread so
  reading and encoding the next batch overlaps with the server's work. A
  table the run creates is created inside the transaction too.
- MySQL/MariaDB (mysql_sink.py): LOAD DATA LOCAL INFILE, or parametrized
  INSERTs (InsertingSink below) when the server refuses it; SQLite
  (sqlite_sink.py): parametrized INSERTs.

A missing table is created from the data's column types, with the `key`
columns as primary key.
"""

import contextlib
import queue
import threading

import polars as pl
import psycopg

from execution.engine import pg_binary
from execution.engine.components.base import Sink, choice, config_schema, names, string
from execution.engine.components.db_sources import CONNECTION, connection_settings
from execution.engine.connections import open_connection
from execution.engine.errors import EngineError
from execution.engine.registry import SINK, register
from execution.engine.sql import POSTGRES, TABLE_NAME_PATTERN, table_parts

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
        # Where rows go: the target, or a staging table swapped in at commit.
        self.load_target = self.qualified
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
                self.check_batch(batch)
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
            self.check_existing()
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

    def check_existing(self):
        """Refuse an existing table this load would damage, before writing anything."""

    def check_batch(self, batch):
        """Refuse a batch the table cannot hold as it is (before loading it)."""

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
        return f"INSERT INTO {self.load_target} ({self.quoted_columns()}) VALUES ({marks})"  # noqa: S608

    def load(self, batch):
        rows = self.python_rows(batch)
        cursor = self.connection.cursor()
        try:
            cursor.executemany(self.statement, rows)
        finally:
            cursor.close()

    def python_rows(self, batch: pl.DataFrame) -> list[tuple]:
        return batch.rows()
