"""`csv_source`: a CSV file streamed by Arrow's reader, and its errors told by
file, line and column."""

import codecs
import csv
import re

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from execution.engine.components.base import boolean, choice, config_schema, string
from execution.engine.components.file_sources import (
    COLUMN_TYPES,
    PATH,
    FileSource,
    check_column_types,
    normalize_datetimes,
)
from execution.engine.errors import EngineError
from execution.engine.provenance import TextFallback, text_numbers
from execution.engine.registry import SOURCE, register
from execution.engine.types import polars_type

# Arrow reads ahead several blocks per thread: 1 MiB blocks kept the benchmark at ~310 MiB peak (4 MiB: ~410).
_CSV_BLOCK_BYTES = 1 << 20
DEFAULT_NULL_VALUES = [""]
NULL_VALUES = {
    "type": "array",
    "items": {"type": "string"},
    "description": 'Unquoted values read as NULL (default [""]: the empty field). Files written by R '
    'or pandas mark missing values NA: use ["", "NA"]. A quoted value is never NULL.',
}
# Arrow's type names in its conversion errors, in a user's words.
_ARROW_TYPE_WORDS = (
    ("int", "a whole number"),
    ("uint", "a whole number"),
    ("double", "a number"),
    ("float", "a number"),
    ("decimal", "a decimal number"),
    ("bool", "true or false"),
    ("date", "a date"),
    ("timestamp", "a timestamp"),
    ("time", "a time"),
    ("null", "empty"),
)
_CONVERSION = re.compile(
    r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to ([^:]+): invalid value '(.*)'"
)


@register(
    "csv_source",
    kind=SOURCE,
    summary="Read a CSV file (streamed), with delimiter, header, quote, encoding, NULL markers and column types.",
    config_schema=config_schema(
        {
            "path": PATH,
            "delimiter": string("Field separator, one character.", minLength=1, maxLength=1, default=","),
            "header": boolean("The first line holds column names (default true)."),
            "quote": string("Quote character, one character.", minLength=1, maxLength=1, default='"'),
            "encoding": choice("File encoding (default utf8).", ["utf8", "latin-1"]),
            "null_values": NULL_VALUES,
            "columns": COLUMN_TYPES,
        },
        required=("path",),
    ),
    example={
        "path": "flights.csv",
        "delimiter": ",",
        "header": True,
        "null_values": ["", "NA"],
        "columns": {"carrier": "string"},
    },
)
class CsvSource(FileSource):
    """Streams a CSV file in batches.

    An unquoted field listed in `null_values` (default: only the empty field)
    is NULL; a quoted one ("", "NA") is text. Column types are inferred from
    the first block of the file unless given in `columns`; a column of numbers
    that holds one other value (`NA`, `-`) becomes text, and the source logs
    a warning naming the value and its line. Without a header, columns are
    named f0, f1, ...
    """

    @classmethod
    def check_config(cls, config):
        return check_column_types(config)

    def batches(self):
        path = self.resolved_path()
        column_types = self._arrow_column_types()
        names = self._header_names(path)
        # In a one-column file an empty line is a NULL value, not a blank line to skip.
        self.single_column = len(names) == 1
        self.included = self._projected(names)
        if self.included:
            # Arrow would not see the repeated name among the columns it keeps.
            self._refuse_repeated_names(names)
        with pa.OSFile(str(path)) as stream:
            try:
                reader = pa_csv.open_csv(
                    stream,
                    read_options=self._read_options(use_threads=True),
                    parse_options=self._parse_options(),
                    convert_options=self._convert_options(column_types, self.included),
                )
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                raise self._explain(error, path, column_types) from None
            self._refuse_repeated_names(reader.schema.names)
            binary = [
                f.name
                for f in reader.schema
                if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
            ]
            if binary:
                raise self._not_utf8()
            yield from self.rebatch(self._frames(reader, path, column_types))

    def _projected(self, names: list[str]) -> list[str]:
        """The columns to convert, in file order: those used downstream
        (projection pushdown, planning.py), or [] for all. Arrow still splits
        every field, but converts and keeps only these. A used name that is
        not in the header reads everything, so the error that follows lists
        every column as before."""
        used = self.used_columns
        if used is None or not used <= set(names) or len(used) == len(set(names)):
            return []
        # Reading no column would lose the row count: keep the first.
        return [n for n in names if n in used] or names[:1]

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

    def _convert_options(self, column_types, include_columns=()):
        return pa_csv.ConvertOptions(
            column_types=column_types,
            include_columns=list(include_columns),
            null_values=list(self.config.get("null_values", DEFAULT_NULL_VALUES)),
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
            frame = normalize_datetimes(pl.from_arrow(batch))
            if not emitted:
                self._note_text_fallbacks(frame, path)
            emitted = True
            yield frame, block
        if not emitted:
            yield normalize_datetimes(pl.from_arrow(reader.schema.empty_table())), unread

    def _note_text_fallbacks(self, first_block: pl.DataFrame, path) -> None:
        """Types are inferred from the first block, so the value that made a
        column of numbers text is in it."""
        header_records = 1 if self.config.get("header", True) else 0
        declared = self.config.get("columns") or {}
        for column, row in text_numbers(first_block, skip=declared).items():
            fallback = TextFallback(
                column=column,
                value=first_block[column][row],
                component=self.name,
                file=self.config["path"],
                line=self._line_of_record(path, row + 1 + header_records),
            )
            self.ctx.text_fallbacks.setdefault(column, fallback)
            self.log("warning", fallback.describe())

    def _refuse_repeated_names(self, names: list[str]) -> None:
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if name in seen:
                raise EngineError(
                    f"The header names column {name!r} twice (columns {seen[name]} and {position}); "
                    "column names must be unique. Rename one in the file, or set `header: false` and "
                    "name the columns (f0, f1, ...) with a select.",
                    component=self.name,
                    location=f"file {self.config['path']}, line 1",
                )
            seen[name] = position

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
            record = self._failing_record(path, column_types)
            return EngineError(
                text.replace("CSV parse error: ", ""),
                component=self.name,
                location=self._where(path, location, record),
            )
        conversion = _CONVERSION.search(text)
        if conversion:
            return self._conversion_error(conversion, path, column_types, location)
        return EngineError(text, component=self.name, location=location)

    def _conversion_error(self, conversion, path, column_types, location) -> EngineError:
        names = self._header_names(path)
        index = int(conversion[1])
        name = names[index] if index < len(names) else f"#{index}"
        value = conversion[4]
        record = int(conversion[2]) if conversion[2] else self._failing_record(path, column_types)
        declared = (self.config.get("columns") or {}).get(name)
        wanted = _in_words(conversion[3])
        if declared:
            message = (
                f"Column {name!r}: {value!r} is not {wanted}, the type given in `columns` ({declared}). "
                f"If {value!r} marks a missing value, add it to `null_values`."
            )
        else:
            message = (
                f"Column {name!r}: {value!r} is not {wanted}; that type was inferred from the start of the "
                f"file. If {value!r} marks a missing value, add it to `null_values`; otherwise set "
                f'`columns: {{{name!r}: "string"}}` (or the right type) to read it.'
            )
        return EngineError(
            message, component=self.name, field="config.columns", location=self._where(path, location, record)
        )

    def _where(self, path, location: str, record: int | None) -> str:
        if record is None:
            return location
        line = self._line_of_record(path, record)
        return f"{location}, line {line}" if line else f"{location}, record {record} (counting the header)"

    def _header_names(self, path) -> list[str]:
        with self._text(path) as handle:
            first = next(self._csv_reader(handle), [])
        return first if self.config.get("header", True) else [f"f{i}" for i in range(len(first))]

    def _text(self, path):
        encoding = "latin-1" if self.config.get("encoding") == "latin-1" else "utf-8"
        return open(path, encoding=encoding, errors="replace", newline="")  # noqa: SIM115 - returned to a with

    def _csv_reader(self, handle):
        return csv.reader(
            handle, delimiter=self.config.get("delimiter", ","), quotechar=self.config.get("quote", '"')
        )

    def _line_of_record(self, path, record: int) -> int | None:
        """The line where record `record` (counting the header, as Arrow does)
        starts; records and lines differ by quoted newlines and blank lines.
        Only on a warning or error path: it walks the records up to that one."""
        seen = 0
        last_line = 0
        try:
            with self._text(path) as handle:
                reader = self._csv_reader(handle)
                for row in reader:
                    first_line, last_line = last_line + 1, reader.line_num
                    if not row and not self.single_column:
                        continue
                    seen += 1
                    if seen == record:
                        return first_line
        except csv.Error:
            return None
        return None

    def _failing_record(self, path, column_types) -> int | None:
        """Rescan single-threaded: only then does Arrow know the record number
        of a ragged row or a value that does not convert."""
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
                    convert_options=self._convert_options(column_types, self.included),
                )
                for _ in reader:
                    pass
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                conversion = _CONVERSION.search(str(error))
                if not found and conversion and conversion[2]:
                    return int(conversion[2])
        return found[0] if found else None


def _in_words(arrow_type: str) -> str:
    return next((words for prefix, words in _ARROW_TYPE_WORDS if arrow_type.startswith(prefix)), arrow_type)


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
