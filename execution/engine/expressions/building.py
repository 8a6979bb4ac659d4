"""From a checked syntax tree to a Polars expression.

The allowlist and the builder are one table: every node type that may appear
has a handler here or in functions.py, and a node without one is refused. So
nothing the builder does not know (a subquery, a table function such as
`read_csv('/etc/passwd')`, a window, an unknown function) can reach Polars.
"""

import difflib
import re

import polars as pl
from sqlglot import exp

from execution.engine.expressions import forms, functions
from execution.engine.expressions.parsing import DIALECT, MARKER, ExpressionError, Parsed
from execution.engine.expressions.typed import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    NULL,
    NUMBER,
    NUMERIC,
    STRING,
    TEMPORAL,
    TIME,
    UNKNOWN,
    Typed,
    constant,
    describe,
    describe_value,
    parse_temporal,
    type_of_dtype,
)

CONDITION, SCALAR, AGGREGATE = "condition", "scalar", "aggregate"

# Functions that read files, tables or URLs (read_csv, read_parquet, scan_ndjson, ...).
_TABLE_FUNCTION = re.compile(r"^(read|scan)_|^(glob|file|url)$")
_TABLE_LIKE = (exp.Query, exp.Subquery, exp.Table, exp.From, exp.Join, exp.Exists, exp.UDTF)
_COMPARISONS = {
    exp.EQ: ("=", lambda a, b: a == b),
    exp.NEQ: ("<>", lambda a, b: a != b),
    exp.GT: (">", lambda a, b: a > b),
    exp.GTE: (">=", lambda a, b: a >= b),
    exp.LT: ("<", lambda a, b: a < b),
    exp.LTE: ("<=", lambda a, b: a <= b),
    exp.NullSafeEQ: ("IS NOT DISTINCT FROM", lambda a, b: a.eq_missing(b)),
    exp.NullSafeNEQ: ("IS DISTINCT FROM", lambda a, b: a.ne_missing(b)),
}
_ARITHMETIC = {
    exp.Add: ("+", lambda a, b: a + b),
    exp.Sub: ("-", lambda a, b: a - b),
    exp.Mul: ("*", lambda a, b: a * b),
    exp.Div: ("/", lambda a, b: a.truediv(b)),
    exp.Mod: ("%", lambda a, b: a % b),
}
_COMPARABLE = [set(NUMERIC), {STRING}, {BOOLEAN}, {DATE, DATETIME}, {TIME}]


class Builder:
    """Builds one expression. `schema` (column -> Polars type) is the input's
    when known: then unknown columns, type clashes and text compared with a
    date are found here; without it only the structure is checked."""

    def __init__(
        self,
        parsed: Parsed,
        kind: str,
        schema=None,
        values: dict | None = None,
        hints=None,
        complete_hints=False,
    ):
        self.parsed = parsed
        self.kind = kind
        self.schema = dict(schema) if schema is not None else None
        self.values = values
        # At save time: column -> type (None: name only) of what is known of the
        # input, all of its columns when `complete_hints` (schema_hints.py).
        self.hints = hints
        self.complete_hints = complete_hints
        self.columns: set[str] = set()

    def build(self) -> Typed:
        result = self.node(self.parsed.tree, False)
        if self.kind == CONDITION:
            if result.type not in (None, BOOLEAN, NULL):
                hint = ""
                if isinstance(self.parsed.tree, exp.Column) and MARKER.fullmatch(self.parsed.tree.name):
                    hint = (
                        " A ${parameter} is a value, never SQL text: write the condition itself and "
                        "use parameters for the values in it."
                    )
                self.refuse(
                    f"This must be a condition (true or false), but it gives {describe(result.type)}.{hint}"
                )
        elif self.kind == AGGREGATE:
            if result.bare:
                self.refuse(
                    "Every column must be inside an aggregate function (count, sum, avg, min, max, ...); "
                    "to keep a column per group, add it to group_by."
                )
            if not result.aggregated:
                self.refuse("Use an aggregate function, e.g. count(*) or sum(amount).")
        return result

    # -- the walk ----------------------------------------------------------------------------
    def node(self, node: exp.Expression, in_aggregate: bool) -> Typed:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            self.refuse(self._not_allowed(node))
        return handler(self, node, in_aggregate)

    def _not_allowed(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Func) and _TABLE_FUNCTION.match(_function_name(node)):
            return (
                f"{_function_name(node)}() is a table function: expressions cannot read files, "
                "tables or URLs, only the component's input columns."
            )
        if isinstance(node, _TABLE_LIKE) or node.find(*_TABLE_LIKE) is not None:
            return (
                "Subqueries, SELECT, FROM, JOIN and UNION are not allowed: an expression works on "
                "the component's input columns only."
            )
        if isinstance(node, exp.Window):
            return "Window functions (OVER ...) are not allowed."
        if isinstance(node, exp.Alias):
            return "Aliases (AS) are not allowed: the config key names the result."
        if isinstance(node, exp.Star):
            return "* is only allowed in count(*)."
        if isinstance(node, exp.Placeholder | exp.Parameter):
            return "Write parameters as ${name}."
        if isinstance(node, exp.Func):
            name = _function_name(node)
            close = functions.SPELLED_ELSEWHERE.get(name) or next(
                iter(difflib.get_close_matches(name, functions.FUNCTION_NAMES, n=1)), None
            )
            suggestion = f" Did you mean {close}()?" if close else ""
            return f"Unknown function {name}().{suggestion} The functions are listed in docs/engine.md."
        snippet = node.sql(dialect=DIALECT)
        snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
        return f"`{snippet}` is not allowed in an expression (see docs/engine.md for what is)."

    # -- helpers for the handlers ----------------------------------------------------------------
    def refuse(self, message: str):
        raise ExpressionError(message)

    def only(self, node: exp.Expression, *allowed: str) -> None:
        """Refuse parts of a node the handler does not build (sqlglot knows many)."""
        for key, value in node.args.items():
            if key in allowed or value is None or value is False or value == []:
                continue
            if isinstance(value, exp.Expression | list):
                self.refuse(self._not_allowed(node))

    def derived(self, expr: pl.Expr, type_name: str | None, *parts: Typed) -> Typed:
        return Typed(
            expr,
            type_name,
            aggregated=any(part.aggregated for part in parts),
            bare=any(part.bare for part in parts),
        )

    def aggregated(self, expr: pl.Expr, type_name: str | None) -> Typed:
        return Typed(expr, type_name, aggregated=True)

    def enter_aggregate(self, node, in_aggregate: bool, name: str) -> None:
        if self.kind != AGGREGATE:
            self.refuse(f"{name}() is an aggregate function: use it in an aggregate or metric component.")
        if in_aggregate:
            self.refuse(f"{name}() cannot be used inside another aggregate function.")

    def expect(self, value: Typed, types, what: str) -> Typed:
        if value.type is not None and value.type != NULL and value.type not in types:
            wanted = " or ".join(dict.fromkeys(describe(t) for t in types))
            self.refuse(f"{what} needs {wanted}, not {describe_value(value)}.")
        return value

    def operand(self, node, in_aggregate: bool, types, what: str) -> Typed:
        return self.expect(self.node(node, in_aggregate), types, what)

    def condition(self, node, in_aggregate: bool, what: str) -> Typed:
        return self.operand(node, in_aggregate, (BOOLEAN,), what)

    def constant_text(self, node, what: str) -> str:
        value = self.node(node, False) if node is not None else None
        if value is None or not value.is_constant:
            self.refuse(f"{what} must be a text literal ('...').")
        if value.constant is UNKNOWN:
            return ""
        if not isinstance(value.constant, str):
            self.refuse(f"{what} must be text, not {describe(value.type)}.")
        return value.constant

    def constant_integer(self, node, what: str) -> int:
        value = self.node(node, False)
        if not value.is_constant:
            self.refuse(f"{what} must be a whole number.")
        if value.constant is UNKNOWN:
            return 0
        if not isinstance(value.constant, int) or isinstance(value.constant, bool):
            self.refuse(f"{what} must be a whole number.")
        return value.constant

    def common_type(self, parts, what: str) -> str | None:
        known = [part.type for part in parts if part.type not in (None, NULL)]
        if not known:
            return None
        if all(t in NUMERIC for t in known):
            return INTEGER if all(t == INTEGER for t in known) else NUMBER
        if not _comparable(known[0], *known[1:]):
            self.refuse(f"{what} mixes {' and '.join(dict.fromkeys(describe(t) for t in known))}.")
        return known[0]

    def coerced(self, value: Typed, other: Typed) -> Typed:
        """Text compared with a date (timestamp, time) becomes one: `day >= '2021-01-01'`."""
        if other.type in TEMPORAL and value.type == STRING and value.is_constant:
            if value.constant is UNKNOWN:
                return Typed(pl.lit(None), other.type, constant=UNKNOWN)
            parsed = constant(parse_temporal(value.constant, other.type))
            if other.dtype is not None and other.dtype != parsed_dtype(parsed):
                return Typed(parsed.expr.cast(other.dtype), other.type, constant=parsed.constant)
            return parsed
        return value

    def compare(self, left: Typed, right: Typed, operator: str) -> pl.Expr:
        left, right = self.coerced(left, right), self.coerced(right, left)
        if not _comparable(left.type, right.type):
            self.refuse(
                f"{describe_value(left)} and {describe_value(right)} cannot be compared ({operator})."
            )
        return _COMPARISONS_BY_SYMBOL[operator](left.expr, right.expr)


def parsed_dtype(value: Typed):
    return {DATE: pl.Date, TIME: pl.Time, DATETIME: pl.Datetime("us")}.get(value.type)


def _comparable(*types) -> bool:
    known = {t for t in types if t not in (None, NULL)}
    return len(known) <= 1 or any(known <= group for group in _COMPARABLE)


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


# --- handlers of the core grammar ---------------------------------------------------------


def _paren(b: Builder, node, agg):
    return b.node(node.this, agg)


def _column(b: Builder, node: exp.Column, agg):
    if any(node.args.get(part) for part in ("table", "db", "catalog")):
        b.refuse(
            f"{node.sql(dialect=DIALECT)!r}: qualified names are not allowed; "
            'quote a column whose name has a dot: "a.b".'
        )
    identifier = node.this
    if not isinstance(identifier, exp.Identifier):
        b.refuse(b._not_allowed(node))
    name = identifier.this
    marker = MARKER.fullmatch(name)
    if marker and not identifier.quoted:
        return _placeholder_value(b, int(marker[1]))
    if MARKER.search(name):
        b.refuse("A ${parameter} is a value: it cannot be (part of) a column name.")
    known, complete = (b.schema, True) if b.schema is not None else (b.hints, b.complete_hints)
    if complete and name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        b.refuse(f"Unknown column {name!r}.{suggestion} The input has: {', '.join(known) or 'no columns'}.")
    dtype = known.get(name) if known is not None else None
    b.columns.add(name)
    return Typed(pl.col(name), type_of_dtype(dtype), bare=not agg, dtype=dtype, column=name)


def _placeholder_value(b: Builder, index: int) -> Typed:
    name = b.parsed.placeholders[index]
    if b.values is None:
        return constant(UNKNOWN)
    if name not in b.values:
        b.refuse(f"No value for ${{{name}}}.")
    return constant(b.values[name])


def _literal(b: Builder, node: exp.Literal, agg):
    text = node.this
    if node.is_string:
        if MARKER.search(text):
            if b.values is None:
                return Typed(pl.lit(""), STRING, constant=UNKNOWN)
            text = MARKER.sub(lambda m: _as_text(b, int(m[1])), text)
        return constant(text)
    if re.fullmatch(r"\d+", text):
        return constant(int(text))
    try:
        return constant(float(text))
    except ValueError:
        b.refuse(f"{text!r} is not a number.")


def _as_text(b: Builder, index: int) -> str:
    value = _placeholder_value(b, index).constant
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _boolean(b, node: exp.Boolean, agg):
    return constant(bool(node.this))


def _null(b, node, agg):
    return constant(None)


def _neg(b: Builder, node, agg):
    value = b.operand(node.this, agg, NUMERIC, "-")
    if value.is_constant and isinstance(value.constant, int | float):
        return constant(-value.constant)
    return b.derived(-value.expr, value.type, value)


def _not(b: Builder, node, agg):
    value = b.condition(node.this, agg, "NOT")
    return b.derived(~value.expr, BOOLEAN, value)


def _logical(b: Builder, node, agg):
    """A chain of AND (or OR) as a balanced tree, so a long chain stays shallow."""
    chain_type, operands, pending = type(node), [], [node]
    while pending:
        item = pending.pop()
        if type(item) is chain_type:
            pending.extend([item.expression, item.this])
        else:
            operands.append(b.condition(item, agg, "AND" if chain_type is exp.And else "OR"))
    combine = (lambda x, y: x & y) if chain_type is exp.And else (lambda x, y: x | y)
    exprs = [operand.expr for operand in operands]
    while len(exprs) > 1:
        paired = [combine(exprs[i], exprs[i + 1]) for i in range(0, len(exprs) - 1, 2)]
        exprs = paired + ([exprs[-1]] if len(exprs) % 2 else [])
    return b.derived(exprs[0], BOOLEAN, *operands)


def _arithmetic(b: Builder, node, agg):
    b.only(node, "this", "expression")
    symbol, apply = _ARITHMETIC[type(node)]
    left = b.operand(node.this, agg, NUMERIC, symbol)
    right = b.operand(node.expression, agg, NUMERIC, symbol)
    if isinstance(node, exp.Div):
        result_type = NUMBER
    else:
        result_type = INTEGER if left.type == right.type == INTEGER else b.common_type([left, right], symbol)
    return b.derived(apply(left.expr, right.expr), result_type, left, right)


def _text_concat(b: Builder, node, agg):
    b.only(node, "this", "expression")
    left, right = b.node(node.this, agg), b.node(node.expression, agg)
    joined = pl.concat_str([left.expr.cast(pl.String), right.expr.cast(pl.String)])
    return b.derived(joined, STRING, left, right)


def _comparison(b: Builder, node, agg):
    b.only(node, "this", "expression")
    symbol, _ = _COMPARISONS[type(node)]
    left, right = b.node(node.this, agg), b.node(node.expression, agg)
    return b.derived(b.compare(left, right, symbol), BOOLEAN, left, right)


def _is(b: Builder, node, agg):
    b.only(node, "this", "expression")
    value = b.node(node.this, agg)
    target = node.expression
    if isinstance(target, exp.Null):
        result = value.expr.is_null()
    elif isinstance(target, exp.Boolean):
        b.expect(value, (BOOLEAN,), "IS TRUE / IS FALSE")
        result = (value.expr if target.this else ~value.expr).fill_null(False)
    else:
        b.refuse("IS takes NULL, TRUE or FALSE; compare values with = or IS DISTINCT FROM.")
    return b.derived(~result if node.args.get("negate") else result, BOOLEAN, value)


def _in(b: Builder, node: exp.In, agg):
    if node.args.get("query") is not None or node.args.get("unnest") is not None:
        b.refuse(b._not_allowed(node.args.get("query") or node.args.get("unnest")))
    b.only(node, "this", "expressions")
    value = b.node(node.this, agg)
    items = [b.coerced(b.node(item, agg), value) for item in node.expressions]
    if any(not item.is_constant for item in items):
        b.refuse("IN takes a list of values, e.g. carrier IN ('AA', 'UA').")
    known = [item.constant for item in items if item.constant is not UNKNOWN]
    listed = [v for v in known if v is not None]
    for item in items:
        if not _comparable(value.type, item.type):
            b.refuse(f"{describe_value(value)} and {describe(item.type)} cannot be compared (IN).")
    b.common_type(items, "The IN list")
    if b.values is None and len(known) < len(items):
        return b.derived(value.expr.is_null(), BOOLEAN, value)  # structure check only
    series = pl.Series(listed, dtype=value.dtype) if value.dtype is not None else pl.Series(listed)
    return b.derived(value.expr.is_in(series.implode()), BOOLEAN, value)


def _between(b: Builder, node, agg):
    b.only(node, "this", "low", "high")
    value = b.node(node.this, agg)
    low, high = (
        b.coerced(b.node(node.args["low"], agg), value),
        b.coerced(b.node(node.args["high"], agg), value),
    )
    for bound in (low, high):
        if not _comparable(value.type, bound.type):
            b.refuse(f"{describe_value(value)} and {describe_value(bound)} cannot be compared (BETWEEN).")
    return b.derived(value.expr.is_between(low.expr, high.expr, closed="both"), BOOLEAN, value, low, high)


_COMPARISONS_BY_SYMBOL = {symbol: apply for symbol, apply in _COMPARISONS.values()}

_HANDLERS = {
    exp.Paren: _paren,
    exp.Column: _column,
    exp.Literal: _literal,
    exp.Boolean: _boolean,
    exp.Null: _null,
    exp.Neg: _neg,
    exp.Not: _not,
    exp.And: _logical,
    exp.Or: _logical,
    exp.DPipe: _text_concat,
    exp.Is: _is,
    exp.In: _in,
    exp.Between: _between,
    **dict.fromkeys(_ARITHMETIC, _arithmetic),
    **dict.fromkeys(_COMPARISONS, _comparison),
    **forms.HANDLERS,
    **functions.HANDLERS,
}
