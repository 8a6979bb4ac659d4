"""Sinks writing files under the data roots. Each writes a temporary file next
to the target (`.<target>.<16 hex>.tmp`) and renames it over the target at
commit (an atomic rename), so a failed, stopped or killed run leaves the
target as it was. The temporary file is recorded before it exists
(temporaries.py): a stop or failure deletes it, and after a killed run the
reaper does."""

import os
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pa_parquet

from execution.engine.components.base import Sink, boolean, choice, config_schema, string
from execution.engine.errors import EngineError
from execution.engine.load_markers import TEMPORARY_FILE
from execution.engine.paths import resolve_path
from execution.engine.registry import SINK, register
from execution.engine.temporaries import FILE, Temporary, file_beside

PATH = string("Output file, relative to a data root (or absolute inside one).", minLength=1)
FILE_MODE = choice("`replace` the file (default) or `append` to it.", ["replace", "append"])


class FileSink(Sink):
    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.target = resolve_path(config["path"], ctx.data_roots, component=name, must_exist=False)
        if self.target.is_dir():
            raise EngineError(f"{config['path']!r} is a folder.", component=name, field="config.path")
        self.appending = config.get("mode", "replace") == "append" and self.target.exists()
        self.temporary = Temporary(FILE, str(file_beside(self.target)))
        self.temp_path = self.temporary.name
        self.making(self.temporary)
        # O_EXCL: a temporary name is never reused (mode 0600, as tempfile.mkstemp made it).
        os.close(os.open(self.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    def commit_evidence(self):
        # Once every batch is written, the temporary file is gone only if commit renamed it.
        return {"kind": TEMPORARY_FILE, "temporary": self.temp_path}

    def commit(self):
        os.replace(self.temp_path, self.target)
        self.gone(self.temporary)

    def rollback(self):
        Path(self.temp_path).unlink(missing_ok=True)
        self.gone(self.temporary)

    def copy_existing_target(self):
        """Appending starts from a copy, so the original stays untouched until commit."""
        shutil.copyfile(self.target, self.temp_path)


class StreamedFileSink(FileSink):
    """A sink writing bytes to its temp file batch by batch (CSV, JSON)."""

    def sync_and_close(self):
        """Everything on disk before the rename at commit."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def close(self):
        if not self.handle.closed:
            self.handle.close()


@register(
    "csv_sink",
    kind=SINK,
    outputs=(),
    summary="Write a CSV file (temp file renamed at commit).",
    config_schema=config_schema(
        {
            "path": PATH,
            "delimiter": string("Field separator, one character (default ,).", minLength=1, maxLength=1),
            "header": boolean("Write a header line (default true; not repeated when appending)."),
            "mode": FILE_MODE,
        },
        required=("path",),
    ),
    example={"path": "out/carrier_stats.csv"},
)
class CsvSink(StreamedFileSink):
    """UTF-8. NULL is an empty field, an empty string is written as "" (so
    csv_source reads both back as they were)."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        if self.appending:
            self.copy_existing_target()
        self.handle = open(self.temp_path, "ab")  # noqa: SIM115 - open across batches, closed in prepare/close
        self.header_pending = config.get("header", True) and not self.appending

    def write(self, batch):
        try:
            batch.write_csv(
                self.handle, include_header=self.header_pending, separator=self.config.get("delimiter", ",")
            )
        except pl.exceptions.PolarsError as error:
            raise EngineError(f"Cannot write CSV: {error}", component=self.name) from None
        self.header_pending = False

    def prepare(self):
        self.sync_and_close()


@register(
    "json_sink",
    kind=SINK,
    outputs=(),
    summary="Write NDJSON (one object per line) or a JSON array (temp file renamed at commit).",
    config_schema=config_schema(
        {
            "path": PATH,
            "format": choice("`ndjson` (default) or `array`.", ["ndjson", "array"]),
            "mode": FILE_MODE,
        },
        required=("path",),
    ),
    example={"path": "out/events.ndjson", "format": "ndjson"},
)
class JsonSink(StreamedFileSink):
    """Appending is supported for NDJSON only; dates and timestamps are ISO 8601 strings."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.array = config.get("format", "ndjson") == "array"
        if self.appending and self.array:
            raise EngineError("Appending works with format ndjson only.", component=name, field="config.mode")
        if self.appending:
            self.copy_existing_target()
        self.handle = open(self.temp_path, "ab")  # noqa: SIM115 - open across batches, closed in prepare/close
        self.first_record = True
        if self.array:
            self.handle.write(b"[")

    def write(self, batch):
        if batch.height == 0:
            return
        if not self.array:
            batch.write_ndjson(self.handle)
            return
        body = batch.write_json().strip()[1:-1]
        if not self.first_record:
            self.handle.write(b",")
        self.handle.write(body.encode())
        self.first_record = False

    def prepare(self):
        if self.array:
            self.handle.write(b"]\n")
        self.sync_and_close()


@register(
    "parquet_sink",
    kind=SINK,
    outputs=(),
    summary="Write a Parquet file (temp file renamed at commit).",
    config_schema=config_schema(
        {
            "path": PATH,
            "compression": choice("Compression codec (default zstd).", ["zstd", "snappy", "gzip", "none"]),
            "mode": FILE_MODE,
        },
        required=("path",),
    ),
    example={"path": "out/flights.parquet", "compression": "zstd"},
)
class ParquetSink(FileSink):
    """Every batch is cast to the first batch's column types. Appending rewrites
    the existing rows into the new file first (Parquet files cannot grow in place)."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.writer: pa_parquet.ParquetWriter | None = None
        self.schema: pl.Schema | None = None

    def write(self, batch):
        if self.writer is None:
            self._open(batch)
        if batch.schema != self.schema:
            try:
                batch = batch.select(self.schema.names()).cast(dict(self.schema))
            except pl.exceptions.PolarsError as error:
                raise EngineError(
                    f"A batch does not match the first one's columns: {error}", component=self.name
                ) from None
        if batch.height:
            self.writer.write_table(batch.to_arrow())

    def _open(self, batch):
        self.schema = batch.schema
        compression = self.config.get("compression", "zstd")
        arrow_schema = batch.to_arrow().schema
        existing = pa_parquet.ParquetFile(str(self.target)) if self.appending else None
        if existing is not None:
            arrow_schema = existing.schema_arrow
            self.schema = pl.from_arrow(arrow_schema.empty_table()).schema
        self.writer = pa_parquet.ParquetWriter(self.temp_path, arrow_schema, compression=compression)
        if existing is not None:
            for old in existing.iter_batches():
                self.writer.write_batch(old)

    def prepare(self):
        if self.writer is None:
            self._open(pl.DataFrame())
        self.writer.close()

    def close(self):
        if self.writer is not None:
            self.writer.close()
