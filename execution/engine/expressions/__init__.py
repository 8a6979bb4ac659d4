"""User expressions, compiled from a checked syntax tree: the one compiler for
`filter.where`, `derive.columns`, `aggregate.aggregates`, `metric.value` and
schema rules, at save, at start and at run time.

1. `parsing.parse`: size limits (length, parenthesis nesting, tokens, tree
   depth) before and around the parse; sqlglot (PostgreSQL syntax) makes the
   tree; `${name}` placeholders become marker names first.
2. `building.Builder`: walks the tree. Every node type it knows has a handler
   that builds the Polars expression; anything else (subqueries, FROM, table
   functions like `read_csv`, windows, unknown functions) is refused. With the
   input's schema it also checks columns and types, and reads text compared
   with a date as a date.
3. A placeholder becomes a typed literal (number, text, true/false, NULL):
   its value can never change the expression's structure.

No user text ever reaches `pl.sql_expr`, `pl.SQLContext` or any other SQL
engine; the grammar and the function list are in docs/engine.md.
"""

import re

import polars as pl

from execution.engine.errors import EngineError
from execution.engine.expressions.building import AGGREGATE, CONDITION, SCALAR, Builder
from execution.engine.expressions.functions import AGGREGATE_FUNCTIONS, SCALAR_FUNCTIONS
from execution.engine.expressions.parsing import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NESTING,
    MAX_TOKENS,
    ExpressionError,
    parse,
)

__all__ = [
    "AGGREGATE",
    "AGGREGATE_FUNCTIONS",
    "CONDITION",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "MAX_TOKENS",
    "SCALAR",
    "SCALAR_FUNCTIONS",
    "Expression",
    "ExpressionError",
    "build_for",
    "compile_field",
    "evaluation_error",
]


class Expression:
    """A checked expression. `values` are the placeholders' values (None at
    save time, when only the structure can be checked); `polars(schema)`
    builds what runs for an input with that schema (cached per schema)."""

    def __init__(
        self, text: str, kind: str, values: dict | None = None, schema=None, hints=None, complete_hints=False
    ):
        self.text = text
        self.kind = kind
        self.values = values
        self.parsed = parse(text)
        checked = Builder(self.parsed, kind, schema, values, hints, complete_hints)
        self.result = checked.build()
        # The input columns it reads (for projections and error messages).
        self.columns = frozenset(checked.columns)
        self._built = {_schema_key(schema): self.result.expr} if hints is None else {}

    def polars(self, schema=None) -> pl.Expr:
        key = _schema_key(schema)
        if key not in self._built:
            self._built[key] = Builder(self.parsed, self.kind, schema, self.values).build().expr
        return self._built[key]


def _schema_key(schema):
    return None if schema is None else tuple(dict(schema).items())


def compile_field(
    text: str, kind: str, *, component: str, field: str, values=None, schema=None
) -> Expression:
    """An Expression, or an EngineError naming the component and field."""
    try:
        return Expression(text, kind, values, schema)
    except ExpressionError as error:
        raise EngineError(str(error), component=component, field=field) from None


def build_for(expression: Expression, schema, *, component: str, field: str) -> pl.Expr:
    """`expression.polars(schema)`, its problems (unknown column...) named by component and field."""
    try:
        return expression.polars(schema)
    except ExpressionError as error:
        raise EngineError(str(error), component=component, field=field) from None


# Polars' own names for things, which mean nothing to a user.
_POLARS_WORDING = re.compile(r"\b(?:Polars|polars\.exceptions\.)?\w*(?:Error|Exception)\b:?\s*")


def evaluation_error(error: Exception, *, component: str, field: str) -> EngineError:
    """A failure while evaluating on real data, in words a user can act on."""
    lines = str(error).strip().splitlines()
    message = (
        _POLARS_WORDING.sub("", lines[0] if lines else "").strip() or "The expression failed on this data."
    )
    return EngineError(message, component=component, field=field)
