"""Sources reading files under the data roots: CSV, JSON/NDJSON, Parquet, and
rows written inline in the config."""

import codecs
import csv
import io
import json
import re
from collections import deque
from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from execution.engine.components.base import Source, boolean, choice, config_schema, string
from execution.engine.errors import EngineError
from execution.engine.paths import resolve_path
from execution.engine.placeholders import has_placeholder
from execution.engine.registry import SOURCE, register
from execution.engine.types import TYPE_NAME_SCHEMA, UnknownTypeName, cast_expression, polars_type

PATH = string("File path, relative to a data root (or absolute inside one).", minLength=1)
COLUMN_TYPES = {
    "type": "object",
    "additionalProperties": TYPE_NAME_SCHEMA,
    "description": "Explicit column types by column name; other columns are inferred.",
}
# Arrow reads ahead several blocks per thread: 1 MiB blocks kept the benchmark at ~310 MiB peak (4 MiB: ~410).
_CSV_BLOCK_BYTES = 1 << 20


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


@register(
    "csv_source",
    kind=SOURCE,
    summary="Read a CSV file (streamed), with delimiter, header, quote, encoding and optional column types.",
    config_schema=config_schema(
        {
            "path": PATH,
            "delimiter": string("Field separator, one character.", minLength=1, maxLength=1, default=","),
            "header": boolean("The first line holds column names (default true)."),
            "quote": string("Quote character, one character.", minLength=1, maxLength=1, default='"'),
            "encoding": choice("File encoding (default utf8).", ["utf8", "latin-1"]),
            "columns": COLUMN_TYPES,
        },
        required=("path",),
    ),
    example={"path": "flights.csv", "delimiter": ",", "header": True, "columns": {"carrier": "string"}},
)
class CsvSource(FileSource):
    """Streams a CSV file in batches.

    An unquoted empty field is NULL, a quoted empty field ("") an empty string.
    Column types are inferred from the first block of the file unless given in
    `columns`; without a header, columns are named f0, f1, ...
    """

    @classmethod
    def check_config(cls, config):
        return check_column_types(config)

    def batches(self):
        path = self.resolved_path()
        column_types = self._arrow_column_types()
        # In a one-column file an empty line is a NULL value, not a blank line to skip.
        self.single_column = len(self._header_names(path)) == 1
        with pa.OSFile(str(path)) as stream:
            try:
                reader = pa_csv.open_csv(
                    stream,
                    read_options=self._read_options(use_threads=True),
                    parse_options=self._parse_options(),
                    convert_options=self._convert_options(column_types),
                )
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                raise self._explain(error, path, column_types) from None
            binary = [
                f.name
                for f in reader.schema
                if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
            ]
            if binary:
                raise self._not_utf8()
            yield from self.rebatch(self._frames(reader, path, column_types))

    def _arrow_column_types(self) -> dict:
        types = {}
        for column, type_name in (self.config.get("columns") or {}).items():
            types[column] = pl.Series([], dtype=polars_type(type_name)).to_arrow().type
        return types

    def _read_options(self, *, use_threads):
        return pa_csv.ReadOptions(
            use_threads=use_threads,
            block_size=_CSV_BLOCK_BYTES,
            encoding="latin-1" if self.config.get("encoding") == "latin-1" else "utf8",
            autogenerate_column_names=not self.config.get("header", True),
        )

    def _parse_options(self, invalid_row_handler=None):
        return pa_csv.ParseOptions(
            delimiter=self.config.get("delimiter", ","),
            quote_char=self.config.get("quote", '"'),
            newlines_in_values=True,
            ignore_empty_lines=not self.single_column,
            invalid_row_handler=invalid_row_handler,
        )

    @staticmethod
    def _convert_options(column_types):
        return pa_csv.ConvertOptions(
            column_types=column_types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )

    def _frames(self, reader, path, column_types):
        """(frame, bytes) pieces. Arrow parses one block of `_CSV_BLOCK_BYTES`
        (cut at a row boundary) into each batch, so a batch stands for one
        block of the file; `stream.tell()` would count Arrow's read-ahead."""
        unread = self.progress_total
        emitted = False
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                raise self._explain(error, path, column_types) from None
            block = min(_CSV_BLOCK_BYTES, unread)
            unread -= block
            emitted = True
            yield _normalize(pl.from_arrow(batch)), block
        if not emitted:
            yield _normalize(pl.from_arrow(reader.schema.empty_table())), unread

    def _not_utf8(self, offset: int | None = None) -> EngineError:
        where = f", byte {offset}" if offset is not None else ""
        return EngineError(
            "The file is not valid UTF-8; set `encoding` to latin-1 if that is its encoding.",
            component=self.name,
            field="config.encoding",
            location=f"file {self.config['path']}{where}",
        )

    def _explain(self, error, path, column_types) -> EngineError:
        location = f"file {self.config['path']}"
        text = str(error)
        if isinstance(error, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text:
            return self._not_utf8()
        if "straddl" in text:
            # Arrow cannot parse a record larger than one read block.
            return EngineError(
                f"A record is longer than {_CSV_BLOCK_BYTES // (1024 * 1024)} MiB, the reader's block; such "
                "records are not supported. (A quote left open makes the rest of the file one record.)",
                component=self.name,
                location=location,
            )
        if "Expected" in text and "columns" in text:
            # Binary or wrongly encoded data splits into random "records": say what it is.
            offset = None if self.config.get("encoding") == "latin-1" else _first_invalid_utf8(path)
            if offset is not None:
                return self._not_utf8(offset)
            record = self._find_ragged_record(path, column_types)
            where = f"{location}, record {record} (counting the header)" if record else location
            return EngineError(text.replace("CSV parse error: ", ""), component=self.name, location=where)
        column = re.search(r"In CSV column #(\d+)", text)
        if column:
            names = self._header_names(path)
            index = int(column[1])
            name = names[index] if index < len(names) else f"#{index}"
            detail = text.split(": ", 1)[-1]
            return EngineError(
                f"Column {name!r}: {detail}. Its type was inferred from the start of the file; "
                f'set `columns: {{{name!r}: "string"}}` (or the right type) to read it.',
                component=self.name,
                field="config.columns",
                location=location,
            )
        return EngineError(text, component=self.name, location=location)

    def _header_names(self, path) -> list[str]:
        encoding = "latin-1" if self.config.get("encoding") == "latin-1" else "utf-8"
        with open(path, encoding=encoding, errors="replace", newline="") as handle:
            first = next(
                csv.reader(
                    handle,
                    delimiter=self.config.get("delimiter", ","),
                    quotechar=self.config.get("quote", '"'),
                ),
                [],
            )
        return first if self.config.get("header", True) else [f"f{i}" for i in range(len(first))]

    def _find_ragged_record(self, path, column_types) -> int | None:
        """Rescan single-threaded: only then does Arrow know the record number."""
        found = []

        def remember(row):
            found.append(row.number)
            return "error"

        with pa.OSFile(str(path)) as stream:
            try:
                reader = pa_csv.open_csv(
                    stream,
                    read_options=self._read_options(use_threads=False),
                    parse_options=self._parse_options(remember),
                    convert_options=self._convert_options(column_types),
                )
                for _ in reader:
                    pass
            except (pa.ArrowInvalid, UnicodeDecodeError):
                pass
        return found[0] if found else None


def _first_invalid_utf8(path) -> int | None:
    """The byte offset of the file's first invalid UTF-8 sequence, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CSV_BLOCK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return offset + error.start - len(decoder.getstate()[0])
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - len(decoder.getstate()[0])
    return None


def _normalize(frame: pl.DataFrame) -> pl.DataFrame:
    """One datetime precision (microseconds) whatever Arrow inferred per block,
    so every batch of a source has the same schema."""
    fixes = [
        pl.col(name).cast(pl.Datetime("us", dtype.time_zone))
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_unit != "us"
    ]
    return frame.with_columns(fixes) if fixes else frame


@register(
    "json_source",
    kind=SOURCE,
    summary="Read a JSON array of objects or NDJSON (one object per line; streamed).",
    config_schema=config_schema(
        {
            "path": PATH,
            "format": choice(
                "`array`, `ndjson`, or `auto` (decided by the first character).", ["auto", "array", "ndjson"]
            ),
        },
        required=("path",),
    ),
    example={"path": "flights.ndjson", "format": "ndjson"},
)
class JsonSource(FileSource):
    """Reads JSON records.

    NDJSON is streamed `batch_size` lines at a time and its columns are fixed by
    the first batch. A JSON array is parsed whole (it cannot be streamed), so
    prefer NDJSON for large files.
    """

    def batches(self):
        path = self.resolved_path()
        file_format = self.config.get("format", "auto")
        if file_format == "auto":
            file_format = "array" if _first_character(path) == "[" else "ndjson"
        frames = self._array(path) if file_format == "array" else self._ndjson(path)
        yield from self.rebatch(frames)

    def _array(self, path):
        raw = path.read_bytes()
        try:
            records = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EngineError(
                f"Not valid JSON: {error}", component=self.name, location=f"file {self.config['path']}"
            ) from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise EngineError(
                "Expected a JSON array of objects.",
                component=self.name,
                location=f"file {self.config['path']}",
            )
        yield self._frame_from_records(records), len(raw)

    def _frame_from_records(self, records):
        try:
            return pl.from_dicts(records, infer_schema_length=None) if records else pl.DataFrame()
        except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
            raise EngineError(
                f"The records do not form a table: {error}",
                component=self.name,
                location=f"file {self.config['path']}",
            ) from None

    def _ndjson(self, path):
        schema = None
        line_number = 0
        with open(path, "rb") as handle:
            while True:
                lines = []
                line_bytes = 0
                first_line = line_number + 1
                for raw in handle:
                    line_number += 1
                    line_bytes += len(raw)
                    if raw.strip():
                        lines.append(raw)
                    if len(lines) >= self.ctx.batch_size:
                        break
                if not lines:
                    break
                frame = self._parse_lines(lines, first_line, schema)
                schema = schema or frame.schema
                yield frame, line_bytes

    def _parse_lines(self, lines, first_line, schema):
        try:
            return pl.read_ndjson(io.BytesIO(b"".join(lines)), schema=schema, infer_schema_length=None)
        except pl.exceptions.PolarsError as error:
            bad = _first_bad_json_line(lines, first_line)
            where = f"file {self.config['path']}" + (f", line {bad[0]}" if bad else "")
            detail = bad[1] if bad else str(error).splitlines()[0]
            raise EngineError(detail, component=self.name, location=where) from None


def _first_character(path) -> str:
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(4096), b""):
            stripped = chunk.lstrip()
            if stripped:
                return chr(stripped[0])
    return ""


def _first_bad_json_line(lines, first_line):
    """Parse lines one by one to say which one is wrong (only on the error path)."""
    number = first_line
    for raw in lines:
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return number, f"Not valid JSON: {error}"
        if not isinstance(value, dict):
            return number, "Expected a JSON object on each line."
        number += 1
    return None


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
