"""Reading the data a client sends: JSON records in the body, or a file upload.

    {"records": [{...}, ...]}                  application/json
    file=@flights.csv | .ndjson/.jsonl | .json  multipart/form-data

Every size check happens before the body is read, so a 50 MB upload costs the
server nothing but the 413; the number of columns is checked before the data
is parsed (schemas/limits.py).
"""

import csv
import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl
from django.conf import settings
from rest_framework import exceptions, serializers, status

from etlsite.parsers import refuse_deep_nesting
from schemas.limits import refuse_too_many_columns

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
JSON_SUFFIXES = {".json"}
SUPPORTED = "a CSV (.csv/.tsv), NDJSON (.ndjson/.jsonl) or JSON array (.json) file"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class UnsupportedFile(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_file"


@dataclass
class Payload:
    """Either `records` (JSON values, JSON types kept) or `frame` (CSV text columns)."""

    records: list | None = None
    frame: pl.DataFrame | None = None
    filename: str = ""

    @property
    def rows(self) -> int:
        return self.frame.height if self.frame is not None else len(self.records)

    @cached_property
    def columns(self) -> int:
        """The frame's columns, or the distinct keys of the records."""
        if self.frame is not None:
            return self.frame.width
        return len({key for record in self.records for key in record})


def upload_limit() -> int:
    return settings.ETL_UPLOAD_MAX_BYTES


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def refuse_oversized(request) -> None:
    """413 from the Content-Length header, before anything reads the body."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = upload_limit()
    if length > limit:
        raise PayloadTooLarge(
            f"The request is {human_size(length)}; the upload limit is {human_size(limit)} "
            f"({limit:,} bytes, setting ETL_UPLOAD_MAX_BYTES). Send a smaller sample.",
        )


def read_payload(request, *, records_key: str = "records") -> Payload:
    """The records or the uploaded file of a validate/infer request."""
    refuse_oversized(request)
    upload = request.FILES.get("file") if hasattr(request, "FILES") else None
    if upload is not None:
        return read_upload(upload)
    if len(request.FILES) > 0:
        raise serializers.ValidationError(
            {"file": [f"Send the data as the form field 'file' ({SUPPORTED})."]}
        )
    records = request.data.get(records_key) if isinstance(request.data, dict) else None
    if not isinstance(records, list):
        raise serializers.ValidationError(
            {
                records_key: [
                    f"Send a JSON array of records as '{records_key}', or upload {SUPPORTED} as 'file'."
                ]
            }
        )
    return Payload(records=_objects(records, records_key))


def read_upload(upload) -> Payload:
    if upload.size > upload_limit():
        raise PayloadTooLarge(
            f"The file is {human_size(upload.size)}; the upload limit is {human_size(upload_limit())}."
        )
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in CSV_SUFFIXES | NDJSON_SUFFIXES | JSON_SUFFIXES:
        raise UnsupportedFile(f"{upload.name!r} is not {SUPPORTED}.")
    raw = upload.read()
    if b"\x00" in raw[:8192]:
        raise UnsupportedFile(f"{upload.name!r} looks binary; upload {SUPPORTED}.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise serializers.ValidationError(
            {"file": [f"{upload.name!r} is not UTF-8 text (byte {error.start}); re-save it as UTF-8."]}
        ) from None
    if suffix in CSV_SUFFIXES:
        separator = "\t" if suffix == ".tsv" else ","
        refuse_too_many_columns(_header_columns(text, separator), repr(upload.name))
        return Payload(frame=_read_csv(text, upload.name, separator), filename=upload.name)
    refuse_deep_nesting(raw, repr(upload.name))
    if suffix in NDJSON_SUFFIXES:
        return Payload(records=_read_ndjson(text, upload.name), filename=upload.name)
    return Payload(records=_read_json(text, upload.name), filename=upload.name)


def _header_columns(text: str, separator: str) -> int:
    """The columns of a CSV's header row. Without quotes in the first line,
    counting separators is enough: no parsing, whatever the header's size."""
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    if '"' not in first_line:
        return first_line.count(separator) + 1
    return len(next(csv.reader(io.StringIO(text), delimiter=separator), []))


def _read_csv(text: str, name: str, separator: str) -> pl.DataFrame:
    if not text.strip():
        raise serializers.ValidationError({"file": [f"{name!r} is empty; it needs a header row."]})
    try:
        # All columns as text: the validator parses each value to its field's type.
        return pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        first_line = str(error).strip().splitlines()[0]
        raise serializers.ValidationError({"file": [f"{name!r} is not valid CSV: {first_line}"]}) from None


def _read_ndjson(text: str, name: str) -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise serializers.ValidationError(
                {"file": [f"{name!r} line {number} is not JSON: {error.msg} (column {error.colno})."]}
            ) from None
    return _objects(records, "file", name)


def _read_json(text: str, name: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise serializers.ValidationError(
            {"file": [f"{name!r} is not JSON: {error.msg} (line {error.lineno}, column {error.colno})."]}
        ) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise serializers.ValidationError({"file": [f"{name!r} must hold a JSON array of records."]})
    return _objects(data, "file", name)


def _objects(records: list, key: str, name: str = "") -> list[dict]:
    keys = set()
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            where = f"{name!r} record {index}" if name else f"record {index}"
            raise serializers.ValidationError({key: [f"{where} is not a JSON object."]})
        keys.update(record)
    refuse_too_many_columns(len(keys), repr(name) if name else "the records (their distinct keys)")
    return records
