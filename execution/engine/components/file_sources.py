"""What file sources share (paths, byte progress, batches of `batch_size`
rows), and the Parquet and inline sources. CSV and JSON have modules of
their own (csv_source.py, json_source.py)."""

from collections import deque
from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pa_parquet

from execution.engine.components.base import Source, config_schema, string
from execution.engine.errors import EngineError
from execution.engine.paths import resolve_path
from execution.engine.placeholders import has_placeholder
from execution.engine.registry import SOURCE, register
from execution.engine.types import TYPE_NAME_SCHEMA, UnknownTypeName, cast_expression, polars_type

# The row index column a pushed-down filter's scan adds (and drops again).
_ROW_INDEX = "_etl_row_index"
PATH = string("File path, relative to a data root (or absolute inside one).", minLength=1)
COLUMN_TYPES = {
    "type": "object",
    "additionalProperties": TYPE_NAME_SCHEMA,
    "description": "Explicit column types by column name; other columns are inferred.",
}


def check_column_types(config: dict, field: str = "columns") -> list[tuple[str, str]]:
    problems = []
    for column, type_name in (config.get(field) or {}).items():
        if has_placeholder(type_name):
            continue
        try:
            polars_type(type_name)
        except UnknownTypeName as error:
            problems.append((f"{field}.{column}", str(error)))
    return problems


class FileSource(Source):
    """Shared by file sources: resolve the path once, report progress in bytes.

    Progress counts the file bytes of the rows actually emitted, never what a
    reader has read ahead (Arrow's CSV reader runs tens of MiB ahead of the
    batches it has handed out)."""

    def resolved_path(self):
        path = resolve_path(self.config["path"], self.ctx.data_roots, component=self.name, must_exist=True)
        if not path.is_file():
            raise EngineError(
                f"{self.config['path']!r} is not a file.", component=self.name, field="config.path"
            )
        self.progress_total = path.stat().st_size
        return path

    def keep_used(self, pieces: Iterator[tuple[pl.DataFrame, int]]) -> Iterator[tuple[pl.DataFrame, int]]:
        """Pieces with only the columns used downstream (projection pushdown
        after parsing, for readers that cannot skip columns), decided on the
        first piece: when it lacks a used name every column is kept, so the
        error that follows lists them all."""
        keep = None
        for number, (frame, byte_count) in enumerate(pieces):
            if number == 0 and self.used_columns is not None and self.used_columns <= set(frame.columns):
                keep = [c for c in frame.columns if c in self.used_columns] or frame.columns[:1]
            yield (frame.select([c for c in keep if c in frame.columns]) if keep else frame), byte_count

    def rebatch(self, pieces: Iterator[tuple[pl.DataFrame, int]]) -> Iterator[pl.DataFrame]:
        """Cut or glue frames to exactly `batch_size` rows (the last one shorter).

        Each piece is a frame and the number of file bytes it was parsed from;
        a batch's rows are credited their share of those bytes as it is emitted.
        """
        size = self.ctx.batch_size
        pending: deque[tuple[pl.DataFrame, int]] = deque()
        pending_rows = 0
        emitted = False
        empty = None
        for frame, byte_count in pieces:
            if empty is None:
                empty = frame.clear()
            pending.append((frame, byte_count))
            pending_rows += frame.height
            while pending_rows >= size:
                yield self._take(pending, size)
                pending_rows -= size
                emitted = True
        last = None
        if pending_rows:
            last = self._take(pending, pending_rows)
        elif not emitted:
            last = empty if empty is not None else pl.DataFrame()
        self.progress_done = self.bytes_read = self.progress_total or 0
        if last is not None:
            yield last

    def _take(self, pending: deque, rows: int) -> pl.DataFrame:
        """The first `rows` pending rows, counting their bytes as read."""
        parts = []
        while rows or (pending and pending[0][0].height == 0):
            frame, byte_count = pending.popleft()
            if frame.height <= rows:
                parts.append(frame)
                taken_bytes = byte_count
                rows -= frame.height
            else:
                taken_bytes = byte_count * rows // frame.height
                parts.append(frame.slice(0, rows))
                pending.appendleft((frame.slice(rows), byte_count - taken_bytes))
                rows = 0
            self.progress_done += taken_bytes
        self.bytes_read = self.progress_done
        return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]


def normalize_datetimes(frame: pl.DataFrame) -> pl.DataFrame:
    """One datetime precision (microseconds) whatever Arrow inferred per block,
    so every batch of a source has the same schema."""
    fixes = [
        pl.col(name).cast(pl.Datetime("us", dtype.time_zone))
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_unit != "us"
    ]
    return frame.with_columns(fixes) if fixes else frame


@register(
    "parquet_source",
    kind=SOURCE,
    summary="Read a Parquet file, streamed by row groups.",
    config_schema=config_schema(
        {
            "path": PATH,
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Columns to read (default all).",
            },
        },
        required=("path",),
    ),
    example={"path": "flights.parquet"},
)
class ParquetSource(FileSource):
    """Streams a Parquet file `batch_size` rows at a time; progress counts rows."""

    # The `filter` evaluated in the scan (planning.pushable_filters), or None.
    pushed_filter = None

    def _projected(self, available: list[str]) -> list[str] | None:
        """The columns to read: `available` (the file's, or the config's)
        cut to those used downstream, or None when nothing is cut. A used
        name that is not there reads everything, so the error that follows
        lists every column as before."""
        used = self.used_columns
        if used is None or not used <= set(available) or len(used) == len(available):
            return None
        # Reading no column would lose the row count: keep the first.
        return [c for c in available if c in used] or list(available[:1])

    def _filtered_scan(self, path, columns) -> pl.LazyFrame | None:
        """The file scanned by Polars with the filter's condition inside the
        scan, with a row index telling how many rows were read; None where
        pushing is not safe (the condition does not build on these columns:
        then the filter runs after the source and reports the problem)."""
        scan = pl.scan_parquet(path, row_index_name=_ROW_INDEX)
        if columns:
            scan = scan.select([_ROW_INDEX, *columns])
        self.scan_schema = scan.collect_schema()
        try:
            filtered, _schema = self.pushed_filter.lazy(scan, self.scan_schema)
        except EngineError:
            self.pushed_filter = None  # the run sends the batches through the filter instead
            return None
        return filtered

    def _scanned(self, scan: pl.LazyFrame, total_rows: int):
        """Batches of the rows the pushed filter keeps. `rows_scanned` (what
        the source read, the filter's rows in) comes from the row index of
        each batch's last row, and is the file's row count at the end."""
        emitted = False
        with self.pushed_filter.evaluating(
            "config.where", self.pushed_filter.condition.columns, self.scan_schema
        ):
            for batch in scan.collect_batches(chunk_size=self.ctx.batch_size):
                if batch.height:
                    self.rows_scanned = batch[_ROW_INDEX][-1] + 1
                    self.progress_done = self.rows_scanned
                    emitted = True
                    yield batch.drop(_ROW_INDEX)
            if not emitted:
                yield scan.drop(_ROW_INDEX).clear().collect()
        self.rows_scanned = self.progress_done = total_rows

    def batches(self):
        path = self.resolved_path()
        try:
            parquet = pa_parquet.ParquetFile(str(path))
        except (pa.ArrowInvalid, OSError) as error:
            raise EngineError(
                f"Not a readable Parquet file: {error}",
                component=self.name,
                location=f"file {self.config['path']}",
            ) from None
        file_size = self.progress_total
        total_rows = parquet.metadata.num_rows
        self.progress_total = total_rows
        columns = self.config.get("columns")
        missing = [c for c in columns or [] if c not in parquet.schema_arrow.names]
        if missing:
            raise EngineError(
                f"No column(s) {missing} in the file.", component=self.name, field="config.columns"
            )
        columns = self._projected(columns or parquet.schema_arrow.names) or columns
        scan = self._filtered_scan(path, columns) if self.pushed_filter is not None else None
        if scan is not None:
            yield from self._scanned(scan, total_rows)
            self.bytes_read = file_size
            return
        emitted = False
        for batch in parquet.iter_batches(batch_size=self.ctx.batch_size, columns=columns):
            self.progress_done += batch.num_rows
            self.bytes_read = int(file_size * self.progress_done / total_rows) if total_rows else file_size
            emitted = True
            yield pl.from_arrow(batch)
        if not emitted:
            schema = parquet.schema_arrow
            if columns:
                schema = pa.schema([schema.field(c) for c in columns])
            yield pl.from_arrow(schema.empty_table())
        self.bytes_read = file_size


@register(
    "inline_source",
    kind=SOURCE,
    summary="Rows written in the config (small lookup tables, tests, demos).",
    config_schema=config_schema(
        {
            "rows": {"type": "array", "items": {"type": "object"}, "description": "The rows, as objects."},
            "columns": COLUMN_TYPES,
        },
        required=("rows",),
    ),
    example={"rows": [{"code": "AA", "carrier": "American"}, {"code": "DL", "carrier": "Delta"}]},
)
class InlineSource(Source):
    """Emits the rows of its config; `columns` sets types (and the columns of an empty table)."""

    @classmethod
    def check_config(cls, config):
        return check_column_types(config)

    def batches(self):
        types = {c: polars_type(t) for c, t in (self.config.get("columns") or {}).items()}
        rows = self.config["rows"]
        self.progress_total = len(rows)
        try:
            if not rows:
                frame = pl.DataFrame(schema=types)
            else:
                frame = pl.from_dicts(rows, infer_schema_length=None)
                frame = frame.with_columns(
                    cast_expression(column, frame.schema[column], dtype)
                    if column in frame.columns
                    else pl.lit(None, dtype).alias(column)
                    for column, dtype in types.items()
                )
        except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
            raise EngineError(
                f"The rows do not form a table: {error}", component=self.name, field="config.rows"
            ) from None
        if frame.height == 0:
            yield frame
        for offset in range(0, frame.height, self.ctx.batch_size):
            batch = frame.slice(offset, self.ctx.batch_size)
            self.progress_done += batch.height
            yield batch
