"""Durable evidence of whether a sink's commit happened, for exactly-once
incremental state.

A run with incremental sources has a load id. Each database sink then writes
one row `(load_id, component)` into a small table `_etl_loads` of its target
database inside its own load transaction, so the row exists exactly when the
data does. A file sink needs no table: its data is a temporary file renamed
over the target at commit, so once the run has read everything, the
temporary file being gone means it was renamed.

After a run that did not finish cleanly (killed, or failed during the
commits), `load_committed` reads that evidence back; the control plane then
applies the run's new watermark only if every sink committed.
"""

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from execution.engine.connections import open_connection
from execution.engine.errors import EngineError
from execution.engine.paths import resolve_path
from execution.engine.sql import MYSQL, POSTGRES, SQLITE

MARKER_TABLE = "_etl_loads"
MARKER = "marker"
TEMPORARY_FILE = "file"
CHECK_TIMEOUT_SECONDS = 10

_DIALECTS = {"postgres": POSTGRES, "mysql": MYSQL, "sqlite": SQLITE}
_CREATE = {
    "postgres": "CREATE TABLE IF NOT EXISTS {table} (load_id varchar(64) NOT NULL, "
    "component varchar(63) NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (load_id, component))",
    "mysql": "CREATE TABLE IF NOT EXISTS {table} (load_id varchar(64) NOT NULL, "
    "component varchar(63) NOT NULL, loaded_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "PRIMARY KEY (load_id, component)) ENGINE=InnoDB",
    "sqlite": "CREATE TABLE IF NOT EXISTS {table} (load_id TEXT NOT NULL, component TEXT NOT NULL, "
    "loaded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (load_id, component))",
}


def marker_table(kind: str, schema: str | None) -> str:
    return _DIALECTS[kind].table(schema, MARKER_TABLE)


def create_statement(kind: str, schema: str | None) -> str:
    return _CREATE[kind].format(table=marker_table(kind, schema))


def insert_statement(kind: str, schema: str | None) -> str:
    mark = _DIALECTS[kind].placeholder
    return f"INSERT INTO {marker_table(kind, schema)} (load_id, component) VALUES ({mark}, {mark})"  # noqa: S608


def load_committed(evidence: dict, *, connections: dict, data_roots: list[str]) -> bool:
    """Whether the sink described by `evidence` (Sink.commit_evidence) committed.
    Raises (EngineError, OSError or a driver error) when it cannot tell yet."""
    if evidence["kind"] == TEMPORARY_FILE:
        return not os.path.exists(evidence["temporary"])
    if evidence["kind"] != MARKER:
        raise EngineError(f"Unknown kind of commit evidence {evidence['kind']!r}.")
    kind = evidence["database"]
    statement = (
        f"SELECT count(*) FROM {marker_table(kind, evidence.get('schema'))} "  # noqa: S608 - quoted identifier
        f"WHERE load_id = {_DIALECTS[kind].placeholder} AND component = {_DIALECTS[kind].placeholder}"
    )
    parameters = (evidence["load_id"], evidence["component"])
    if kind == "sqlite" and evidence.get("path"):
        return _sqlite_file_has(evidence["path"], data_roots, statement, parameters)
    name = evidence.get("connection", "")
    if name not in connections:
        raise LookupError(f"no connection {name!r} to check the load of {evidence['component']!r} with")
    database = open_connection(connections[name], deadline=time.time() + CHECK_TIMEOUT_SECONDS)
    try:
        cursor = database.cursor()
        try:
            cursor.execute(statement, parameters)
            return cursor.fetchone()[0] > 0
        except Exception as error:
            if _missing_table(error):
                return False
            raise
        finally:
            cursor.close()
    finally:
        database.close()


def _sqlite_file_has(path: str, data_roots, statement, parameters) -> bool:
    target = resolve_path(path, data_roots, component="", must_exist=False)
    if not target.exists():
        return False
    database = sqlite3.connect(f"file:{quote(str(Path(target)))}?mode=ro", uri=True)
    try:
        return database.execute(statement, parameters).fetchone()[0] > 0
    except sqlite3.OperationalError as error:
        if _missing_table(error):
            return False
        raise
    finally:
        database.close()


def _missing_table(error: Exception) -> bool:
    text = str(error).lower()
    return MARKER_TABLE in text and (
        "does not exist" in text or "no such table" in text or "doesn't exist" in text
    )
