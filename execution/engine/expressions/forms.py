"""The SQL forms with a syntax of their own: LIKE/ILIKE (with ESCAPE), CASE and
CAST. Handlers like those in building.py: (builder, node, in_aggregate) -> Typed."""

import re

import polars as pl
from sqlglot import exp

from execution.engine.expressions.parsing import DIALECT
from execution.engine.expressions.typed import BOOLEAN, STRING, Typed, constant, type_of_dtype
from execution.engine.types import UnknownTypeName, polars_type

# sqlglot type -> the engine's type name (execution/engine/types.py).
_CAST_TYPES = {
    "TEXT": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "NVARCHAR": "string",
    "NCHAR": "string",
    "INT": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "DOUBLE": "float",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "DATETIME": "timestamp",
    "TIMESTAMPTZ": "timestamptz",
}


def _like(b, node, agg, escape: str | None = None):
    b.only(node, "this", "expression")
    text = b.operand(node.this, agg, (STRING,), "LIKE")
    pattern = b.constant_text(node.expression, "The LIKE pattern")
    regex = like_to_regex(pattern, escape, case_insensitive=isinstance(node, exp.ILike))
    matched = text.expr.str.contains(regex)
    return b.derived(~matched if node.args.get("negate") else matched, BOOLEAN, text)


def _escape(b, node: exp.Escape, agg):
    if not isinstance(node.this, exp.Like | exp.ILike):
        b.refuse(b._not_allowed(node))
    escape = b.constant_text(node.expression, "ESCAPE")
    if len(escape) != 1:
        b.refuse("ESCAPE takes one character.")
    return _like(b, node.this, agg, escape)


def like_to_regex(pattern: str, escape: str | None, case_insensitive: bool) -> str:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif escape is not None and char == escape:
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = "(?s" + ("i" if case_insensitive else "") + ")"
    return f"{flags}^{''.join(parts)}$"


def _case(b, node: exp.Case, agg):
    b.only(node, "this", "ifs", "default")
    operand = b.node(node.this, agg) if node.args.get("this") is not None else None
    branches, parts = [], []
    for branch in node.args.get("ifs") or []:
        if not isinstance(branch, exp.If) or branch.args.get("false") is not None:
            b.refuse(b._not_allowed(branch))
        if operand is not None:
            candidate = b.node(branch.this, agg)
            test = Typed(b.compare(operand, candidate, "="), BOOLEAN)
            parts.append(candidate)
        else:
            test = b.condition(branch.this, agg, "WHEN")
            parts.append(test)
        value = b.node(branch.args["true"], agg)
        branches.append((test.expr, value))
    default = b.node(node.args["default"], agg) if node.args.get("default") is not None else constant(None)
    values = [value for _, value in branches] + [default]
    result_type = b.common_type(values, "CASE")
    chained = pl.when(branches[0][0]).then(branches[0][1].expr)
    for test, value in branches[1:]:
        chained = chained.when(test).then(value.expr)
    combined = chained.otherwise(default.expr)
    return b.derived(combined, result_type, *([operand] if operand else []), *parts, *values)


def _cast(b, node: exp.Cast, agg):
    b.only(node, "this", "to")
    value = b.node(node.this, agg)
    target = node.args["to"]
    type_name = _CAST_TYPES.get(target.this.name)
    if target.this.name == "DECIMAL":
        params = target.expressions
        if len(params) != 2:
            b.refuse("CAST to decimal needs a precision and scale, e.g. decimal(12,2).")
        type_name = f"decimal({params[0].this.this},{params[1].this.this})"
    elif target.expressions:
        type_name = None
    try:
        dtype = polars_type(type_name or "")
    except UnknownTypeName:
        b.refuse(f"Cannot CAST to {target.sql(dialect=DIALECT)}; use one of the types in docs/engine.md.")
    strict = not isinstance(node, exp.TryCast)
    result_type = type_of_dtype(dtype)
    return b.derived(_convert(value, dtype, strict), result_type, value)


def _convert(value: Typed, dtype: pl.DataType, strict: bool) -> pl.Expr:
    """A cast; text is parsed into dates, times, timestamps and booleans (Polars
    no longer casts text to those directly)."""
    expr = value.expr
    if value.type != STRING:
        return expr.cast(dtype, strict=strict)
    if dtype == pl.Date:
        return expr.str.strip_chars().str.to_date(strict=strict)
    if dtype == pl.Time:
        return expr.str.strip_chars().str.to_time(strict=strict)
    if isinstance(dtype, pl.Datetime):
        return expr.str.strip_chars().str.to_datetime(
            time_unit=dtype.time_unit, time_zone=dtype.time_zone, strict=strict
        )
    if dtype == pl.Boolean:
        words = {**dict.fromkeys(("true", "t", "yes", "y", "1"), True)}
        words.update(dict.fromkeys(("false", "f", "no", "n", "0"), False))
        cleaned = expr.str.strip_chars().str.to_lowercase()
        if strict:
            return cleaned.replace_strict(words, return_dtype=pl.Boolean)
        return cleaned.replace_strict(words, default=None, return_dtype=pl.Boolean)
    return expr.str.strip_chars().cast(dtype, strict=strict)


HANDLERS = {
    exp.Like: _like,
    exp.ILike: _like,
    exp.Escape: _escape,
    exp.Case: _case,
    exp.Cast: _cast,
    exp.TryCast: _cast,
}
