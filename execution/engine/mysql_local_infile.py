"""`LOAD DATA LOCAL INFILE` for mysql_sink, and the connection class that makes
it safe.

Each slice of a batch is written as CSV (Polars, no Python per row) into an
anonymous memory file (`memfd_create`: no name on disk, so a killed run
leaves nothing behind) and loaded from `/proc/self/fd/N` by a background
thread, while the pipeline reads and encodes the next slice. The loads run on
the sink's connection inside the run's transaction.

The CSV dialect: fields separated by `,`, text, dates and times enclosed in
`"` with inner quotes doubled and no escape character (tabs, newlines and
backslashes are data), NULL as the unquoted word NULL (a quoted "NULL" is
text), booleans as 0/1, zoned timestamps in UTC, binary as hex (UNHEX on
the server), durations as `[-]H:MM:SS.ffffff`.

With LOCAL the server turns errors (a duplicate key, a value too long or not
a number) into warnings and skips or truncates the row, since it cannot stop
the client mid-file. So every load must report as many rows as it was sent
and no warning; otherwise the run fails and rolls back.

A server asks the client for the file to send, and the MySQL protocol lets it
ask at any statement for any path. `GuardedConnection` (every MySQL connection
the engine opens) answers only a request for the file the current load
offered; anything else, on any connection, is refused without reading it.
"""

from __future__ import annotations

import os
import queue
import threading

import polars as pl
import pymysql
from pymysql import err
from pymysql.connections import MySQLResult
from pymysql.protocol import LoadLocalPacketWrapper

from execution.engine.errors import EngineError

# Rows per LOAD DATA statement (and per memory file waiting in the queue).
LOAD_CHUNK_ROWS = 20_000
# Memory files waiting for the loading thread: bounds memory.
QUEUED_CHUNKS = 2
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"
_TIME_FORMAT = "%H:%M:%S%.6f"
_PLAIN = (pl.Boolean, pl.String, pl.Date, pl.Time, pl.Datetime, pl.Duration, pl.Decimal, pl.Binary, pl.Null)
_PLAIN_CLASSES = (pl.Datetime, pl.Duration, pl.Decimal, pl.Categorical, pl.Enum)
_REFUSED_FILE = 2000  # CR_UNKNOWN_ERROR: the client refused the server's request


class GuardedConnection(pymysql.connections.Connection):
    """A PyMySQL connection that sends a local file only when the running
    statement offered that very file (`offered_file`)."""

    offered_file: bytes | None = None

    def _read_query_result(self, unbuffered=False):
        # PyMySQL's own method, with the guarded result class.
        self._result = None
        result = _GuardedResult(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows


class _GuardedResult(MySQLResult):
    def _read_load_local_packet(self, first_packet):
        connection = self.connection
        requested = LoadLocalPacketWrapper(first_packet).filename
        if connection.offered_file is None or requested != connection.offered_file:
            # Send no data: the server ends the statement (an error or 0 rows).
            connection.write_packet(b"")
            connection._read_packet()
            raise err.OperationalError(
                _REFUSED_FILE,
                f"The server asked for the local file {requested.decode(errors='replace')!r}, "
                "which this statement did not offer; refused.",
            )
        super()._read_load_local_packet(first_packet)


def loadable(schema: pl.Schema) -> list[str]:
    """Columns whose type this CSV dialect cannot carry (lists, structs...)."""
    return [
        name
        for name, dtype in schema.items()
        if not (dtype.is_numeric() or dtype in _PLAIN or isinstance(dtype, _PLAIN_CLASSES))
    ]


def load_statement(target: str, columns: list[str], schema: pl.Schema, quote) -> str:
    """The LOAD DATA statement for `columns`; `{path}` is filled in per file."""
    targets, assignments = [], []
    for index, column in enumerate(columns):
        if schema[column] == pl.Binary:
            variable = f"@etl_hex_{index}"
            targets.append(variable)
            assignments.append(f"{quote(column)} = UNHEX({variable})")
        else:
            targets.append(quote(column))
    statement = (
        f"LOAD DATA LOCAL INFILE '{{path}}' INTO TABLE {target} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
        f"({', '.join(targets)})"
    )
    if assignments:
        statement += " SET " + ", ".join(assignments)
    return statement


def encode(batch: pl.DataFrame) -> bytes:
    """`batch` in the CSV dialect above."""
    changes = []
    for column, dtype in batch.schema.items():
        if dtype == pl.Boolean:
            changes.append(pl.col(column).cast(pl.Int8))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            changes.append(pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        elif dtype == pl.Binary:
            changes.append(pl.col(column).bin.encode("hex"))
        elif isinstance(dtype, pl.Duration):
            changes.append(_mysql_time(pl.col(column)).alias(column))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            changes.append(pl.col(column).cast(pl.String))
    if changes:
        batch = batch.with_columns(changes)
    return batch.write_csv(
        include_header=False,
        quote_style="non_numeric",
        null_value="NULL",
        datetime_format=_DATETIME_FORMAT,
        time_format=_TIME_FORMAT,
        date_format="%Y-%m-%d",
    ).encode()


def _mysql_time(duration: pl.Expr) -> pl.Expr:
    """A duration as MySQL's TIME text, `[-]H:MM:SS.ffffff`."""
    micros = duration.dt.total_microseconds()
    size = micros.abs()
    seconds = size // 1_000_000
    return pl.format(
        "{}{}:{}:{}.{}",
        pl.when(micros < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        seconds // 3600,
        (seconds // 60 % 60).cast(pl.String).str.zfill(2),
        (seconds % 60).cast(pl.String).str.zfill(2),
        (size % 1_000_000).cast(pl.String).str.zfill(6),
    )


class Loader:
    """Runs one LOAD DATA per memory file on `connection`, in a thread. The
    caller must not use the connection until `finish` or `abort` returned."""

    def __init__(self, connection: GuardedConnection, statement: str, component: str):
        self.connection = connection
        self.statement = statement
        self.component = component
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.error: BaseException | None = None
        self.rows_loaded = 0
        self.thread = threading.Thread(target=self._run, name="etl-mysql-load", daemon=True)
        self.thread.start()

    def send(self, batch: pl.DataFrame) -> None:
        for offset in range(0, batch.height, LOAD_CHUNK_ROWS):
            chunk = batch.slice(offset, LOAD_CHUNK_ROWS)
            self._raise_error()
            descriptor = _memory_file(encode(chunk))
            self.queue.put((descriptor, chunk.height))

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self._raise_error()

    def abort(self) -> None:
        if self.thread.is_alive():
            self.error = self.error or EngineError("load abandoned", component=self.component)
            self.queue.put(None)
            self.thread.join()

    def _raise_error(self):
        if self.error is not None:
            raise self.error

    def _run(self):
        while (item := self.queue.get()) is not None:
            descriptor, rows = item
            try:
                if self.error is None:
                    self._load(descriptor, rows)
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                self.error = error
            finally:
                os.close(descriptor)

    def _load(self, descriptor: int, rows: int) -> None:
        path = f"/proc/self/fd/{descriptor}"
        self.connection.offered_file = path.encode()
        try:
            with self.connection.cursor() as cursor:
                loaded = cursor.execute(self.statement.format(path=path))
                warnings = cursor.warning_count
        finally:
            self.connection.offered_file = None
        if warnings or loaded != rows:
            shown = self.connection.show_warnings()[:3]
            said = "; ".join(str(message) for _, _, message in shown) or "no warning given"
            raise EngineError(
                f"The server loaded {loaded} of {rows} rows of a slice and said: {said}. "
                "Nothing was written (the load is rolled back).",
                component=self.component,
                field="config.table",
            )
        self.rows_loaded += rows


def _memory_file(data: bytes) -> int:
    descriptor = os.memfd_create("etl-mysql-load", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
    return descriptor
