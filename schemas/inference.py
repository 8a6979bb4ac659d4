"""A draft schema from a sample of data (`POST /schemas/infer`).

Each column gets the narrowest type every one of its values parses as, using
the validator itself, so the draft accepts the sample it came from. Nothing is
saved: the client reviews the draft and POSTs it to /schemas.
"""

import polars as pl

from execution.engine.validation import compile_schema, python_value
from schemas.limits import TimeBudget

# Narrowest first: a column of 0/1 is integer, not boolean.
_TEXT_CANDIDATES = ("integer", "number", "boolean", "date", "datetime", "time")
SAMPLE_ROWS = 10_000
EXAMPLES_PER_FIELD = 3


def infer_from_frame(frame: pl.DataFrame, name: str, budget: TimeBudget) -> dict:
    """From CSV text columns: every column is present, so every field is required."""
    frame = frame.head(SAMPLE_ROWS)
    fields = []
    for column in frame.columns:
        budget.check()
        values = frame[column]
        type_ = _text_type(values)
        fields.append(_field(column, type_, True, values.null_count() > 0, values.drop_nulls().to_list()))
    return _draft(name, fields, frame.height)


def infer_from_records(records: list[dict], name: str, budget: TimeBudget) -> dict:
    """From JSON records: JSON's own types, dates recognised in strings."""
    records = records[:SAMPLE_ROWS]
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    fields = []
    for column in names:
        budget.check()
        present = [record[column] for record in records if column in record]
        values = [value for value in present if value is not None]
        type_ = _json_type(column, values)
        nullable = len(values) < len(records)
        fields.append(_field(column, type_, len(present) == len(records), nullable, values))
    return _draft(name, fields, len(records))


def _draft(name: str, fields: list[dict], rows: int) -> dict:
    return {
        "name": name,
        "description": f"Inferred from {rows:,} sample row(s); review before saving.",
        "fields": fields,
        "rules": [],
    }


def _field(name: str, type_: str, required: bool, nullable: bool, values: list) -> dict:
    examples = []
    for value in values:
        example = _json_example(type_, value)
        if example not in examples:
            examples.append(example)
        if len(examples) == EXAMPLES_PER_FIELD:
            break
    return {
        "name": name,
        "type": type_,
        "required": required,
        "nullable": nullable,
        "description": "",
        "constraints": {},
        "examples": examples,
    }


def _text_type(values: pl.Series) -> str:
    if values.null_count() == values.len():
        return "string"
    frame = values.to_frame()
    for candidate in _TEXT_CANDIDATES:
        compiled = compile_schema({"fields": [{"name": values.name, "type": candidate}]})
        if compiled.report(frame, limit=0)["errors_total"] == 0:
            return candidate
    return "string"


def _json_type(name: str, values: list) -> str:
    if not values:
        return "string"
    if all(isinstance(value, bool) for value in values):
        return "boolean"
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "integer"
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        return "number"
    if all(isinstance(value, str) for value in values):
        return _text_type(pl.Series(name, values, dtype=pl.String))
    return "string"  # mixed or nested values: the draft says string, validation will show them


def _json_example(type_: str, value):
    """A sample value as JSON of the field's type (CSV text "12" -> 12)."""
    if not isinstance(value, str) or type_ in ("string", "date", "datetime", "time"):
        return value
    text = value.strip()
    if type_ == "boolean":
        return text.lower() in ("true", "t", "yes", "y", "1")
    number = float(text)
    return python_value(type_, int(number) if type_ == "integer" else number)
