"""What sinks make under temporary names, and how to remove it after a killed run.

Every sink writes where nothing can see it and swaps it in at commit:

- `file`: a temporary file beside a file target (`.<target>.<16 hex>.tmp`,
  renamed over the target), also the new database file of a `sqlite_sink`
  whose file did not exist;
- `sqlite_journal`: the write transaction on an existing SQLite file (its
  `-journal` or `-wal` beside it until it ends);
- `mysql_table`: the staging table (`_etl_<8 hex>_<table>`) of a table a
  `mysql_sink` creates, renamed to the target at commit; MySQL commits DDL at
  once, so a created table cannot wait inside the load's transaction.

Blocking transforms (aggregate, sort, metric) report the one thing they make
the same way:

- `spill_directory`: the folder (`etl-spill-<16 hex>`, in the run's spill
  folder, ETL_SPILL_DIR) an operator writes its held batches to once they pass
  its memory budget, removed when the operator closes.

A stopped or failed run removes them itself (the sinks' rollback). A killed
process cannot, so a sink reports each one to `RunContext.temporaries`
before making it (the worker stores that record with the execution, committed
before the object exists) and again once it is gone; whoever finds the run
dead calls `remove` for what is still listed. Temporary names are random and
never reused: removing one that was already swapped in or removed does
nothing, and `remove` refuses names that are not of these shapes.
"""

import os
import re
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from execution.engine.connections import open_connection
from execution.engine.errors import EngineError
from execution.engine.sql import MYSQL, table_parts

FILE = "file"
SQLITE_JOURNAL = "sqlite_journal"
MYSQL_TABLE = "mysql_table"
SPILL_DIRECTORY = "spill_directory"
KINDS = (FILE, SQLITE_JOURNAL, MYSQL_TABLE, SPILL_DIRECTORY)

_TEMPORARY_FILE = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")
_STAGING_TABLE = re.compile(r"^_etl_[0-9a-f]{8}_")
_SPILL_DIRECTORY = re.compile(r"^etl-spill-[0-9a-f]{16}$")
# What SQLite keeps beside a database while a write transaction is open.
_SQLITE_SIDE_FILES = ("-journal", "-wal")
# A DROP waiting for someone's lock on the table gives up by then (tried again later).
REMOVE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Temporary:
    kind: str
    # A file path (FILE), a database file (SQLITE_JOURNAL), `table` or `schema.table` (MYSQL_TABLE).
    name: str
    # The run's connection name, for a table.
    connection: str = ""

    def describe(self) -> str:
        if self.kind == MYSQL_TABLE:
            return f"staging table {self.name} (connection {self.connection})"
        if self.kind == SQLITE_JOURNAL:
            return f"the open transaction on {self.name}"
        if self.kind == SPILL_DIRECTORY:
            return f"spill folder {self.name}"
        return f"temporary file {self.name}"


class Tracker:
    """Where sinks report their temporary objects. This one keeps nothing (a
    run in a process nobody watches); the worker's stores them."""

    def making(self, temporary: Temporary) -> None:
        """Called before the object exists."""

    def gone(self, temporary: Temporary) -> None:
        """Called once it no longer exists (swapped in or removed)."""


def file_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")


def staging_table(table: str) -> str:
    return f"_etl_{secrets.token_hex(4)}_{table}"[:64]


def spill_directory(spill_root: str) -> Path:
    return Path(spill_root) / f"etl-spill-{secrets.token_hex(8)}"


def remove(
    temporary: Temporary,
    *,
    data_roots: list[str],
    connection: dict | None = None,
    spill_root: str | None = None,
) -> None:
    """Remove what a dead run left; raises EngineError (or the OSError or
    driver error) when it cannot. `connection` is needed for a table,
    `spill_root` (the spill folder of this host) for a spill folder."""
    if temporary.kind == FILE:
        path = _inside_roots(temporary.name, data_roots)
        if not _TEMPORARY_FILE.match(path.name):
            raise EngineError(f"{temporary.name!r} is not a temporary file of a sink; not removing it.")
        path.unlink(missing_ok=True)
    elif temporary.kind == SQLITE_JOURNAL:
        _end_sqlite_transaction(_inside_roots(temporary.name, data_roots))
    elif temporary.kind == MYSQL_TABLE:
        _drop_staging_table(temporary, connection)
    elif temporary.kind == SPILL_DIRECTORY:
        _remove_spill_directory(temporary.name, spill_root)
    else:
        raise EngineError(f"Unknown kind of temporary object {temporary.kind!r}.")


def _inside_roots(name: str, data_roots: list[str]) -> Path:
    path = Path(name)
    roots = [Path(root).resolve() for root in data_roots]
    real = Path(os.path.realpath(path.parent)) / path.name
    if not any(real.is_relative_to(root) for root in roots):
        raise EngineError(f"{name!r} is outside the data roots; not touching it.")
    return real


def _remove_spill_directory(name: str, spill_root: str | None) -> None:
    path = Path(name)
    inside = spill_root is not None and Path(os.path.realpath(path.parent)) == Path(spill_root).resolve()
    if not inside or not _SPILL_DIRECTORY.match(path.name) or path.is_symlink():
        raise EngineError(f"{name!r} is not a spill folder in {spill_root!r}; not removing it.")
    if path.exists():
        shutil.rmtree(path)


def _end_sqlite_transaction(database: Path) -> None:
    """A killed writer leaves its journal beside the database. Reading rolls
    back a hot one; one SQLite left cold (nothing of it reached the database)
    is deleted while holding the write lock, when it belongs to no writer."""
    if not database.exists() or not any(Path(f"{database}{s}").exists() for s in _SQLITE_SIDE_FILES):
        return
    connection = sqlite3.connect(f"file:{quote(str(database))}?mode=rw", uri=True, isolation_level=None)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        connection.execute("BEGIN IMMEDIATE")
        Path(f"{database}-journal").unlink(missing_ok=True)
        connection.execute("ROLLBACK")
    finally:
        # Closing the last connection also checkpoints and deletes a `-wal`.
        connection.close()


def _drop_staging_table(temporary: Temporary, connection: dict | None) -> None:
    schema, table = table_parts(temporary.name, component="")
    if not _STAGING_TABLE.match(table):
        raise EngineError(f"{temporary.name!r} is not a staging table of a sink; not dropping it.")
    if connection is None:
        raise EngineError(f"No connection {temporary.connection!r} to drop {temporary.name} with.")
    database = open_connection(connection, autocommit=True, deadline=time.time() + REMOVE_TIMEOUT_SECONDS)
    try:
        with database.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {MYSQL.table(schema, table)}")
    finally:
        database.close()
