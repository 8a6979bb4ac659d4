"""What can be known at save time about the columns each component emits.

Sources that declare column types (`csv_source.columns`, `inline_source`
with its literal rows) start a hint: column -> Polars type, None where the
type is not known yet. Row-wise transforms carry it along (derive adds its
columns, select picks, renames and casts); anything else ends it. The graph
check compiles expressions against these hints, so `carrier > 3` on a column
declared text, or `day >= '2021-13-01'` on a date column, is a 400 at save
instead of a failed run. `complete` says the hint lists every column (so an
unknown column is an error too).
"""

from dataclasses import dataclass

import polars as pl

from execution.engine.expressions import SCALAR, Expression, ExpressionError
from execution.engine.expressions.typed import BOOLEAN, DATE, DATETIME, INTEGER, NUMBER, STRING, TIME
from execution.engine.placeholders import has_placeholder
from execution.engine.types import UnknownTypeName, polars_type

# Transforms whose output has their input's columns unchanged.
_PASS_THROUGH = ("filter", "limit", "sort", "dedupe")
_DTYPES = {
    BOOLEAN: pl.Boolean,
    INTEGER: pl.Int64,
    NUMBER: pl.Float64,
    STRING: pl.String,
    DATE: pl.Date,
    DATETIME: pl.Datetime("us"),
    TIME: pl.Time,
}


@dataclass(frozen=True)
class Hint:
    columns: dict  # column -> Polars type, or None when only the name is known
    complete: bool


def input_names(component: dict) -> list[str]:
    return list(component.get("inputs") or [])


def output_hints(components: list[dict], order: list[str]) -> dict[str, Hint]:
    """Component name -> the hint for what it emits on its main port (missing: nothing known)."""
    definitions = {c["name"]: c for c in components}
    hints: dict[str, Hint] = {}
    for name in order:
        component = definitions[name]
        upstream = [hints.get(reference.partition(".")[0]) for reference in input_names(component)]
        hint = _emitted(component, upstream)
        if hint is not None:
            hints[name] = hint
    return hints


def input_hint(component: dict, hints: dict[str, Hint]) -> Hint | None:
    """The hint for a single-input component's input (validate's rejects port included)."""
    inputs = input_names(component)
    if len(inputs) != 1:
        return None
    upstream, _, port = inputs[0].partition(".")
    hint = hints.get(upstream)
    if hint is None or not port:
        return hint
    return Hint({**hint.columns, "_reject_reason": pl.String}, hint.complete)


def field_hints(component: dict, hints: dict[str, Hint]) -> dict[str, Hint]:
    """Config field path -> the hint its expression sees: the input's, and for
    `derive` also the columns derived before it (later ones may use them)."""
    hint = input_hint(component, hints)
    if hint is None:
        return {}
    if component.get("type") != "derive":
        return {"*": hint}
    seen, per_field = hint, {}
    for column, text in ((component.get("config") or {}).get("columns") or {}).items():
        per_field[f"config.columns.{column}"] = seen
        seen = _derived(seen, {column: text})
    return per_field


def _emitted(component: dict, upstream: list[Hint | None]) -> Hint | None:
    kind, config = component.get("type"), component.get("config") or {}
    if kind == "inline_source":
        return _inline_rows(config)
    if kind == "csv_source":
        declared = _declared_types(config.get("columns"))
        return Hint(declared, complete=False) if declared else None
    if len(upstream) != 1 or upstream[0] is None:
        return None
    hint = upstream[0]
    if kind in _PASS_THROUGH or kind == "validate":
        return hint
    if kind == "derive":
        return _derived(hint, config.get("columns") or {})
    if kind == "select":
        return _selected(hint, config)
    return None


def _declared_types(columns) -> dict:
    declared = {}
    for column, type_name in (columns or {}).items():
        try:
            declared[column] = None if has_placeholder(type_name) else polars_type(type_name)
        except (UnknownTypeName, AttributeError):
            declared[column] = None
    return declared


def _inline_rows(config: dict) -> Hint | None:
    rows = config.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        return None
    try:
        frame = pl.from_dicts(rows, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return None
    columns = dict(frame.schema)
    for row in rows:
        for column, value in row.items():
            if has_placeholder(value) or isinstance(value, dict | list):
                columns[column] = None
    columns.update(_declared_types(config.get("columns")))
    return Hint(columns, complete=True)


def _derived(hint: Hint, columns: dict) -> Hint:
    out = dict(hint.columns)
    for column, text in columns.items():
        try:
            result = Expression(text, SCALAR, hints=out, complete_hints=hint.complete).result.type
        except (ExpressionError, TypeError):
            result = None
        out[column] = _DTYPES.get(result)
    return Hint(out, hint.complete)


def _selected(hint: Hint, config: dict) -> Hint | None:
    picked = config.get("columns")
    if picked and not isinstance(picked, list):
        return None
    out = {column: hint.columns.get(column) for column in picked} if picked else dict(hint.columns)
    for old, new in (config.get("rename") or {}).items():
        if old in out:
            out[new] = out.pop(old)
    out.update(_declared_types(config.get("cast")))
    return Hint(out, hint.complete or bool(picked))
