"""`sqlite_sink`: a SQLite table loaded in one transaction.

- An existing database file (named by `path` or by a connection): BEGIN
  IMMEDIATE ... COMMIT; a table the run creates is created inside the
  transaction, so a stop or a failure rolls it back. The open transaction
  is recorded as a temporary (its journal beside the file), which the
  reaper rolls back after a killed run.
- A `path` whose file does not exist yet: the database is built in a
  temporary file beside it and linked into place at commit (never over a
  file that appeared meanwhile), so a stopped, failed or killed run leaves
  no file behind.
- `upsert` is INSERT ... ON CONFLICT DO UPDATE.
"""

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import polars as pl

from execution.engine.components.base import config_schema, string
from execution.engine.components.db_sinks import KEY, MODE, TABLE, UPSERT_NEEDS_KEY, InsertingSink
from execution.engine.components.db_sources import CONNECTION, open_sqlite
from execution.engine.errors import EngineError
from execution.engine.paths import resolve_path
from execution.engine.registry import SINK, register
from execution.engine.sql import SQLITE
from execution.engine.temporaries import FILE, SQLITE_JOURNAL, Temporary, file_beside


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
    decimals as text in a NUMERIC column. A database file the run creates
    appears only when the run succeeds."""

    dialect = SQLITE
    driver_errors = (sqlite3.Error,)
    marker_kind = "sqlite"

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        # The database being built for a file that did not exist, and that file.
        self.new_file: Temporary | None = None
        self.target_file = None
        # The write transaction on an existing database.
        self.transaction: Temporary | None = None

    def connect(self):
        connection = self._open()
        if self.new_file is None:
            database = connection.execute("PRAGMA database_list").fetchone()[2]
            self.transaction = Temporary(SQLITE_JOURNAL, database)
            self.making(self.transaction)
        connection.execute("BEGIN IMMEDIATE")
        return connection

    def _open(self):
        if "connection" in self.config:
            return open_sqlite(self)
        target = resolve_path(self.config["path"], self.ctx.data_roots, component=self.name, must_exist=False)
        if target.exists():
            return open_sqlite(self)
        self.target_file = target
        self.new_file = Temporary(FILE, str(file_beside(target)))
        self.making(self.new_file)
        try:
            connection = sqlite3.connect(
                f"file:{quote(self.new_file.name)}?mode=rwc", uri=True, isolation_level=None
            )
        except sqlite3.Error as error:
            raise EngineError(
                f"Cannot create the database file: {error}", component=self.name, field="config.path"
            ) from None
        # The whole file is temporary: a failed run deletes it, so no journal file is needed beside it.
        connection.execute("PRAGMA journal_mode=MEMORY")
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
            quote_name = self.dialect.quote
            updates = [c for c in self.columns if c not in self.key]
            action = (
                "DO UPDATE SET " + ", ".join(f"{quote_name(c)} = excluded.{quote_name(c)}" for c in updates)
                if updates
                else "DO NOTHING"
            )
            self.statement += f" ON CONFLICT ({', '.join(quote_name(k) for k in self.key)}) {action}"

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

    def commit(self):
        super().commit()
        self._disconnect()
        if self.new_file is None:
            return
        try:
            # A link, unlike a rename, never replaces a file someone created meanwhile.
            os.link(self.new_file.name, self.target_file)
        except FileExistsError:
            raise EngineError(
                f"{self.config['path']!r} was created by someone else while the run loaded; the new "
                "database was not put in its place.",
                component=self.name,
                field="config.path",
            ) from None
        os.unlink(self.new_file.name)
        self.gone(self.new_file)

    def rollback(self):
        super().rollback()
        self._disconnect()
        if self.new_file is not None:
            Path(self.new_file.name).unlink(missing_ok=True)
            self.gone(self.new_file)

    def _disconnect(self):
        """Closing ends the transaction (rolling back one still open) and its journal."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.transaction is not None:
            self.gone(self.transaction)
            self.transaction = None
