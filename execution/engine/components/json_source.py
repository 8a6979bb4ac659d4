"""`json_source`: a JSON array of objects, or NDJSON streamed in batches, whose
columns come from every record (or, in `strict` mode, from the first batch,
refusing any other key)."""

import io
import json

import polars as pl

from execution.engine.components.base import choice, config_schema
from execution.engine.components.file_sources import PATH, FileSource
from execution.engine.errors import EngineError
from execution.engine.registry import SOURCE, register

INFER_ALL, STRICT = "infer_all", "strict"


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
            "schema_mode": choice(
                "How NDJSON columns are found. `infer_all` (default): every key of every line, with "
                "types that fit all their values; costs a first read of the whole file before streaming "
                "it. `strict`: the keys of the first batch; a later line with another key fails the run, "
                "naming the line and the key (one read).",
                [INFER_ALL, STRICT],
            ),
        },
        required=("path",),
    ),
    example={"path": "flights.ndjson", "format": "ndjson", "schema_mode": "infer_all"},
)
class JsonSource(FileSource):
    """Reads JSON records; no key is ever dropped.

    NDJSON is streamed `batch_size` lines at a time. Its columns are every key
    found in the file (`schema_mode: infer_all`, read once before streaming),
    or the first batch's keys with any other key failing the run
    (`schema_mode: strict`). A JSON array is parsed whole (it cannot be
    streamed), so its columns always come from every record; prefer NDJSON
    for large files.
    """

    def batches(self):
        path = self.resolved_path()
        file_format = self.config.get("format", "auto")
        first = _first_character(path)
        if file_format == "auto":
            file_format = "array" if first == "[" else "ndjson"
        if file_format == "array":
            frames = self._array(path)
        else:
            strict = self.config.get("schema_mode", INFER_ALL) == STRICT
            schema = None if strict or not first else self._whole_file_schema(path)
            frames = self._ndjson(path, schema, strict)
        yield from self.rebatch(self.keep_used(frames))

    def _where(self, line: int | None = None) -> str:
        return f"file {self.config['path']}" + (f", line {line}" if line else "")

    def _array(self, path):
        raw = path.read_bytes()
        try:
            records = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EngineError(
                f"Not valid JSON: {error}", component=self.name, location=self._where()
            ) from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise EngineError(
                "Expected a JSON array of objects.", component=self.name, location=self._where()
            )
        yield self._frame_from_records(records), len(raw)

    def _frame_from_records(self, records):
        try:
            return pl.from_dicts(records, infer_schema_length=None) if records else pl.DataFrame()
        except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
            raise EngineError(
                f"The records do not form a table: {_first_line(error)}",
                component=self.name,
                location=self._where(),
            ) from None

    def _whole_file_schema(self, path) -> pl.Schema:
        """Every key of the file with a type that fits all its values: Polars'
        scanner reads the whole file once for it."""
        try:
            return pl.scan_ndjson(path, infer_schema_length=None).collect_schema()
        except pl.exceptions.PolarsError as error:
            with open(path, "rb") as handle:
                bad = _first_bad_json_line(handle, 1)
            if bad:
                raise EngineError(bad[1], component=self.name, location=self._where(bad[0])) from None
            raise EngineError(
                "The lines disagree on what a key holds (an object in one line, a list or a value in "
                f"another): {_first_line(error)}",
                component=self.name,
                location=self._where(),
            ) from None

    def _ndjson(self, path, schema, strict):
        line_number = 0
        with open(path, "rb") as handle:
            while True:
                # Blank lines stay in the batch (the parser skips them) so that
                # an error can count lines from the batch's first one.
                lines = []
                records = 0
                line_bytes = 0
                first_line = line_number + 1
                for raw in handle:
                    line_number += 1
                    line_bytes += len(raw)
                    lines.append(raw)
                    if raw.strip():
                        records += 1
                    if records >= self.ctx.batch_size:
                        break
                if not records:
                    break
                if strict and schema is not None:
                    frame = self._conform(
                        self._parse_lines(lines, first_line, None), lines, first_line, schema
                    )
                else:
                    frame = self._parse_lines(lines, first_line, schema)
                schema = schema or frame.schema
                yield frame, line_bytes

    def _conform(self, frame, lines, first_line, schema) -> pl.DataFrame:
        """A later batch in strict mode: refuse a key the first batch did not
        have; read again with the first batch's types if its own differ."""
        unseen = [column for column in frame.columns if column not in schema]
        if unseen:
            line, key = _first_line_with_key(lines, first_line, set(schema), unseen[0])
            raise EngineError(
                f"Key {key!r} is not among the first batch's keys ({', '.join(schema) or 'none'}), and "
                "schema_mode is strict. Use schema_mode infer_all (the default) to read every key.",
                component=self.name,
                field="config.schema_mode",
                location=self._where(line),
            )
        if all(frame.schema[c] in (schema[c], pl.Null) for c in frame.columns):
            return frame.select(
                pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                for c, t in schema.items()
            )
        return self._parse_lines(lines, first_line, schema)

    def _parse_lines(self, lines, first_line, schema):
        try:
            return pl.read_ndjson(io.BytesIO(b"".join(lines)), schema=schema, infer_schema_length=None)
        except pl.exceptions.PolarsError as error:
            bad = _first_bad_json_line(lines, first_line)
            if bad:
                raise EngineError(bad[1], component=self.name, location=self._where(bad[0])) from None
            raise EngineError(
                f"A value does not fit its key's type from the first batch: {_first_line(error)}. "
                "Use schema_mode infer_all (the default) for types that fit every line.",
                component=self.name,
                field="config.schema_mode",
                location=self._where(),
            ) from None


def _first_line(error) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "no details"


def _first_character(path) -> str:
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(4096), b""):
            stripped = chunk.lstrip()
            if stripped:
                return chr(stripped[0])
    return ""


def _first_bad_json_line(lines, first_line):
    """Parse lines one by one to say which one is wrong (only on the error path)."""
    for number, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return number, f"Not valid JSON: {error}"
        if not isinstance(value, dict):
            return number, "Expected a JSON object on each line."
    return None


def _first_line_with_key(lines, first_line, known: set, key: str) -> tuple[int | None, str]:
    """The first line with a key outside `known`, and that key (error path only);
    `key` with no line if the parser's column came from no key it could find."""
    for number, raw in enumerate(lines, start=first_line):
        if raw.strip():
            unseen = next((k for k in json.loads(raw) if k not in known), None)
            if unseen is not None:
                return number, unseen
    return None, key
