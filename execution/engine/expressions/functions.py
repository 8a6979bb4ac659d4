"""The functions an expression may call: the whole list (docs/engine.md
prints it). Each entry builds Polars from already-checked arguments; a
function that is not here cannot be called, whatever sqlglot knows of it."""

import polars as pl
from sqlglot import exp

from execution.engine.expressions.typed import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    NUMBER,
    NUMERIC,
    STRING,
    TEMPORAL,
    TIME,
    Typed,
)

_DATE_OR_TIMESTAMP = (DATE, DATETIME)
_HAS_CLOCK = (DATETIME, TIME)

# name shown to users -> (signature, what it does); the order is the docs' order.
SCALAR_FUNCTIONS = {
    "lower": ("lower(text)", "text in lower case"),
    "upper": ("upper(text)", "text in upper case"),
    "length": ("length(text)", "number of characters (also char_length)"),
    "trim": ("trim(text), ltrim(text), rtrim(text)", "without surrounding spaces (or the given characters)"),
    "substr": ("substr(text, start[, length])", "part of the text; start counts from 1 (also substring)"),
    "replace": ("replace(text, from, to)", "every `from` replaced by `to` (plain text, not a pattern)"),
    "concat": ("concat(a, b, ...)", "the values as text joined; NULLs are skipped (`||` gives NULL)"),
    "left": ("left(text, n)", "the first n characters"),
    "right": ("right(text, n)", "the last n characters"),
    "starts_with": ("starts_with(text, prefix)", "true if the text starts with prefix"),
    "ends_with": ("ends_with(text, suffix)", "true if the text ends with suffix"),
    "strpos": (
        "strpos(text, part)",
        "position of part in text from 1, 0 if absent (also position(part IN text))",
    ),
    "reverse": ("reverse(text)", "the characters in reverse order"),
    "regexp_like": ("regexp_like(text, pattern)", "true if the regular expression matches (Rust syntax)"),
    "coalesce": ("coalesce(a, b, ...)", "the first value that is not NULL"),
    "nullif": ("nullif(a, b)", "NULL if a = b, else a"),
    "greatest": ("greatest(a, b, ...)", "the largest value, NULLs ignored"),
    "least": ("least(a, b, ...)", "the smallest value, NULLs ignored"),
    "abs": ("abs(x)", "absolute value"),
    "round": ("round(x[, digits])", "rounded to digits decimals (default 0)"),
    "floor": ("floor(x)", "largest whole number not above x"),
    "ceil": ("ceil(x)", "smallest whole number not below x (also ceiling)"),
    "sqrt": ("sqrt(x)", "square root"),
    "ln": ("ln(x)", "natural logarithm"),
    "log10": ("log10(x), log(x), log(base, x)", "logarithm (log(x) is base 10, as in PostgreSQL)"),
    "exp": ("exp(x)", "e to the power x"),
    "power": ("power(x, y)", "x to the power y (also pow, x ^ y)"),
    "sign": ("sign(x)", "-1, 0 or 1"),
    "year": ("year(t), month(t), day(t)", "parts of a date or timestamp"),
    "hour": ("hour(t), minute(t), second(t)", "parts of a timestamp or time"),
    "extract": (
        "extract(part FROM t), date_part('part', t)",
        "part: year, quarter, month, week, day, dow (0 = Sunday), isodow, doy, hour, minute, second",
    ),
    "date_trunc": (
        "date_trunc('part', t)",
        "t cut down to year, quarter, month, week, day, hour, minute or second",
    ),
    "date": ("date(t)", "the date of a timestamp, or text parsed as YYYY-MM-DD"),
}
AGGREGATE_FUNCTIONS = {
    "count": ("count(*), count(x), count(DISTINCT x)", "rows, values that are not NULL, distinct values"),
    "sum": ("sum(x)", "total; NULL when there is no value"),
    "avg": ("avg(x)", "mean"),
    "min": ("min(x)", "smallest value"),
    "max": ("max(x)", "largest value"),
    "median": ("median(x)", "middle value"),
    "stddev": ("stddev(x), stddev_samp(x), stddev_pop(x)", "standard deviation (sample unless _pop)"),
    "variance": ("variance(x), var_samp(x), var_pop(x)", "variance (sample unless _pop)"),
}
# Other spellings users type, for the "did you mean" of an unknown function.
ALIASES = [
    "char_length",
    "ltrim",
    "rtrim",
    "substring",
    "position",
    "ceiling",
    "log",
    "pow",
    "month",
    "day",
    "minute",
    "second",
    "date_part",
    "stddev_samp",
    "stddev_pop",
    "var_samp",
    "var_pop",
]
FUNCTION_NAMES = sorted({*SCALAR_FUNCTIONS, *AGGREGATE_FUNCTIONS, *ALIASES})
# Names from other SQL dialects and from Polars, and what to write here instead.
SPELLED_ELSEWHERE = {
    "mean": "avg",
    "len": "length",
    "ifnull": "coalesce",
    "nvl": "coalesce",
    "isnull": "coalesce",
}

_EXTRACT_PARTS = {
    "YEAR": (_DATE_OR_TIMESTAMP, lambda x: x.dt.year()),
    "QUARTER": (_DATE_OR_TIMESTAMP, lambda x: x.dt.quarter()),
    "MONTH": (_DATE_OR_TIMESTAMP, lambda x: x.dt.month()),
    "WEEK": (_DATE_OR_TIMESTAMP, lambda x: x.dt.week()),
    "DAY": (_DATE_OR_TIMESTAMP, lambda x: x.dt.day()),
    "DOW": (_DATE_OR_TIMESTAMP, lambda x: x.dt.weekday() % 7),
    "ISODOW": (_DATE_OR_TIMESTAMP, lambda x: x.dt.weekday()),
    "DOY": (_DATE_OR_TIMESTAMP, lambda x: x.dt.ordinal_day()),
    "HOUR": (_HAS_CLOCK, lambda x: x.dt.hour()),
    "MINUTE": (_HAS_CLOCK, lambda x: x.dt.minute()),
    "SECOND": (_HAS_CLOCK, lambda x: x.dt.second()),
}
_TRUNCATE_UNITS = {
    "YEAR": "1y",
    "QUARTER": "1q",
    "MONTH": "1mo",
    "WEEK": "1w",
    "DAY": "1d",
    "HOUR": "1h",
    "MINUTE": "1m",
    "SECOND": "1s",
}


def _unary(method, operand_types, result_type, name):
    def handle(b, node, agg):
        b.only(node, "this")
        x = b.operand(node.this, agg, operand_types, name)
        return b.derived(method(x.expr), result_type or x.type, x)

    return handle


def _trim(b, node, agg):
    b.only(node, "this", "expression", "position")
    text = b.operand(node.this, agg, (STRING,), "trim")
    chars = None
    if node.args.get("expression") is not None:
        chars = b.constant_text(node.expression, "trim's characters")
    position = str(node.args.get("position") or "BOTH").upper()
    method = {"LEADING": "strip_chars_start", "TRAILING": "strip_chars_end"}.get(position, "strip_chars")
    return b.derived(getattr(text.expr.str, method)(chars), STRING, text)


def _substring(b, node, agg):
    b.only(node, "this", "start", "length")
    text = b.operand(node.this, agg, (STRING,), "substr")
    start = (
        b.operand(node.args["start"], agg, (INTEGER,), "substr's start") if node.args.get("start") else None
    )
    length = (
        b.operand(node.args["length"], agg, (INTEGER,), "substr's length")
        if node.args.get("length")
        else None
    )
    offset = (start.expr - 1).clip(lower_bound=0) if start else 0
    sliced = text.expr.str.slice(offset, length.expr if length else None)
    return b.derived(sliced, STRING, text, *(part for part in (start, length) if part))


def _replace(b, node, agg):
    b.only(node, "this", "expression", "replacement")
    text = b.operand(node.this, agg, (STRING,), "replace")
    old = b.constant_text(node.expression, "replace's text to find")
    new = b.constant_text(node.args.get("replacement"), "replace's replacement")
    return b.derived(text.expr.str.replace_all(old, new, literal=True), STRING, text)


def _concat(b, node, agg):
    b.only(node, "expressions")
    parts = [b.node(part, agg) for part in node.expressions]
    joined = pl.concat_str([part.expr.cast(pl.String) for part in parts], ignore_nulls=True)
    return b.derived(joined, STRING, *parts)


def _left_right(method):
    def handle(b, node, agg):
        b.only(node, "this", "expression")
        text = b.operand(node.this, agg, (STRING,), method)
        count = b.operand(node.expression, agg, (INTEGER,), f"{method}'s length")
        taken = text.expr.str.head(count.expr) if method == "left" else text.expr.str.tail(count.expr)
        return b.derived(taken, STRING, text, count)

    return handle


def _affix(method):
    def handle(b, node, agg):
        b.only(node, "this", "expression")
        text = b.operand(node.this, agg, (STRING,), method)
        affix = b.operand(node.expression, agg, (STRING,), method)
        return b.derived(getattr(text.expr.str, method)(affix.expr), BOOLEAN, text, affix)

    return handle


def _strpos(b, node, agg):
    b.only(node, "this", "substr")
    text = b.operand(node.this, agg, (STRING,), "strpos")
    part = b.constant_text(node.args.get("substr"), "strpos's text to find")
    found = text.expr.str.find(part, literal=True)
    position = pl.when(text.expr.is_null()).then(None).otherwise(found.fill_null(-1) + 1)
    return b.derived(position.cast(pl.Int64), INTEGER, text)


def _regexp_like(b, node, agg):
    b.only(node, "this", "expression")
    text = b.operand(node.this, agg, (STRING,), "regexp_like")
    pattern = b.constant_text(node.expression, "regexp_like's pattern")
    return b.derived(text.expr.str.contains(pattern), BOOLEAN, text)


def _coalesce(b, node, agg):
    b.only(node, "this", "expressions")
    parts = [b.node(node.this, agg), *(b.node(part, agg) for part in node.expressions)]
    return b.derived(pl.coalesce([part.expr for part in parts]), b.common_type(parts, "coalesce"), *parts)


def _nullif(b, node, agg):
    b.only(node, "this", "expression")
    value, other = b.node(node.this, agg), b.node(node.expression, agg)
    equal = b.compare(value, other, "=")
    return b.derived(pl.when(equal).then(None).otherwise(value.expr), value.type, value, other)


def _extreme(horizontal, name):
    def handle(b, node, agg):
        b.only(node, "this", "expressions")
        parts = [b.node(node.this, agg), *(b.node(part, agg) for part in node.expressions)]
        return b.derived(horizontal([part.expr for part in parts]), b.common_type(parts, name), *parts)

    return handle


def _if(b, node, agg):
    b.only(node, "this", "true", "false")
    condition = b.condition(node.this, agg, "IF")
    true = b.node(node.args["true"], agg)
    false = b.node(node.args["false"], agg) if node.args.get("false") is not None else None
    chosen = pl.when(condition.expr).then(true.expr)
    chosen = chosen.otherwise(false.expr) if false else chosen.otherwise(None)
    parts = [true, false] if false else [true]
    return b.derived(chosen, b.common_type(parts, "IF"), condition, *parts)


def _round(method):
    def handle(b, node, agg):
        b.only(node, "this", "decimals")
        x = b.operand(node.this, agg, NUMERIC, method)
        if method != "round":
            if node.args.get("decimals") is not None:
                b.refuse(f"{method}() takes one argument.")
            return b.derived(getattr(x.expr, method)(), x.type, x)
        digits = (
            b.constant_integer(node.args.get("decimals"), "round's digits")
            if node.args.get("decimals")
            else 0
        )
        return b.derived(x.expr.round(digits), x.type, x)

    return handle


def _log(b, node, agg):
    b.only(node, "this", "expression")
    if node.args.get("expression") is None:  # log(x): base 10, as in PostgreSQL
        x = b.operand(node.this, agg, NUMERIC, "log")
        return b.derived(x.expr.log(10), NUMBER, x)
    base = b.operand(node.this, agg, NUMERIC, "log's base")
    x = b.operand(node.expression, agg, NUMERIC, "log")
    return b.derived(x.expr.log(base.expr), NUMBER, base, x)


def _power(b, node, agg):
    b.only(node, "this", "expression")
    x = b.operand(node.this, agg, NUMERIC, "power")
    y = b.operand(node.expression, agg, NUMERIC, "power")
    return b.derived(x.expr.cast(pl.Float64).pow(y.expr), NUMBER, x, y)


def _date_part(part: str):
    def handle(b, node, agg):
        b.only(node, "this")
        return _extract_part(b, part, b.node(node.this, agg))

    return handle


def _extract(b, node, agg):
    b.only(node, "this", "expression")
    unit = node.this.name.upper() if isinstance(node.this, exp.Var | exp.Literal) else ""
    return _extract_part(b, unit, b.node(node.expression, agg))


def _extract_part(b, part: str, value: Typed) -> Typed:
    if part not in _EXTRACT_PARTS:
        b.refuse(
            f"Unknown date part {part.lower()!r}; use one of: {', '.join(p.lower() for p in _EXTRACT_PARTS)}."
        )
    types, method = _EXTRACT_PARTS[part]
    b.expect(value, types, f"extract({part.lower()})")
    return b.derived(method(value.expr).cast(pl.Int64), INTEGER, value)


def _date_trunc(b, node, agg):
    b.only(node, "this", "unit")
    unit = node.args.get("unit")
    name = unit.name.upper() if isinstance(unit, exp.Var | exp.Literal) else ""
    if name not in _TRUNCATE_UNITS:
        b.refuse(f"date_trunc needs one of: {', '.join(u.lower() for u in _TRUNCATE_UNITS)}.")
    value = b.operand(node.this, agg, _DATE_OR_TIMESTAMP, "date_trunc")
    return b.derived(value.expr.dt.truncate(_TRUNCATE_UNITS[name]), value.type, value)


def _date(b, node, agg):
    b.only(node, "this")
    value = b.operand(node.this, agg, (STRING, DATE, DATETIME), "date")
    converted = value.expr.str.to_date("%Y-%m-%d") if value.type == STRING else value.expr.cast(pl.Date)
    return b.derived(converted, DATE, value)


# --- aggregates ---------------------------------------------------------------------------


def _count(b, node, agg):
    b.only(node, "this")
    b.enter_aggregate(node, agg, "count")
    argument = node.this
    if isinstance(argument, exp.Star):
        return b.aggregated(pl.len().cast(pl.Int64), INTEGER)
    if isinstance(argument, exp.Distinct):
        if argument.args.get("on") is not None or len(argument.expressions) != 1:
            b.refuse("count(DISTINCT ...) takes one expression.")
        value = b.node(argument.expressions[0], True)
        return b.aggregated(value.expr.drop_nulls().n_unique().cast(pl.Int64), INTEGER)
    value = b.node(argument, True)
    return b.aggregated(value.expr.count().cast(pl.Int64), INTEGER)


def _sum(b, node, agg):
    b.only(node, "this")
    b.enter_aggregate(node, agg, "sum")
    value = b.operand(node.this, True, NUMERIC, "sum")
    # SQL: the sum of no values is NULL, not 0.
    total = pl.when(value.expr.count() > 0).then(value.expr.sum())
    return b.aggregated(total, value.type)


def _statistic(name, method, types, result_type=None):
    def handle(b, node, agg):
        b.only(node, "this")
        b.enter_aggregate(node, agg, name)
        value = b.operand(node.this, True, types, name)
        return b.aggregated(method(value.expr), result_type or value.type)

    return handle


_ORDERED = (*NUMERIC, STRING, *TEMPORAL, BOOLEAN)

HANDLERS = {
    exp.Lower: _unary(lambda x: x.str.to_lowercase(), (STRING,), STRING, "lower"),
    exp.Upper: _unary(lambda x: x.str.to_uppercase(), (STRING,), STRING, "upper"),
    exp.Length: _unary(lambda x: x.str.len_chars().cast(pl.Int64), (STRING,), INTEGER, "length"),
    exp.Reverse: _unary(lambda x: x.str.reverse(), (STRING,), STRING, "reverse"),
    exp.Trim: _trim,
    exp.Substring: _substring,
    exp.Replace: _replace,
    exp.Concat: _concat,
    exp.Left: _left_right("left"),
    exp.Right: _left_right("right"),
    exp.StartsWith: _affix("starts_with"),
    exp.EndsWith: _affix("ends_with"),
    exp.StrPosition: _strpos,
    exp.RegexpLike: _regexp_like,
    exp.Coalesce: _coalesce,
    exp.Nullif: _nullif,
    exp.Greatest: _extreme(pl.max_horizontal, "greatest"),
    exp.Least: _extreme(pl.min_horizontal, "least"),
    exp.If: _if,
    exp.Abs: _unary(lambda x: x.abs(), NUMERIC, None, "abs"),
    exp.Round: _round("round"),
    exp.Floor: _round("floor"),
    exp.Ceil: _round("ceil"),
    exp.Sqrt: _unary(lambda x: x.cast(pl.Float64).sqrt(), NUMERIC, NUMBER, "sqrt"),
    exp.Ln: _unary(lambda x: x.cast(pl.Float64).log(), NUMERIC, NUMBER, "ln"),
    exp.Exp: _unary(lambda x: x.cast(pl.Float64).exp(), NUMERIC, NUMBER, "exp"),
    exp.Sign: _unary(lambda x: x.sign().cast(pl.Int64), NUMERIC, INTEGER, "sign"),
    exp.Log: _log,
    exp.Pow: _power,
    exp.Year: _date_part("YEAR"),
    exp.Month: _date_part("MONTH"),
    exp.Day: _date_part("DAY"),
    exp.Hour: _date_part("HOUR"),
    exp.Minute: _date_part("MINUTE"),
    exp.Second: _date_part("SECOND"),
    exp.Extract: _extract,
    exp.TimestampTrunc: _date_trunc,
    exp.Date: _date,
    exp.Count: _count,
    exp.Sum: _sum,
    exp.Avg: _statistic("avg", lambda x: x.mean(), NUMERIC, NUMBER),
    exp.Min: _statistic("min", lambda x: x.min(), _ORDERED),
    exp.Max: _statistic("max", lambda x: x.max(), _ORDERED),
    exp.Median: _statistic("median", lambda x: x.median(), NUMERIC, NUMBER),
    exp.Stddev: _statistic("stddev", lambda x: x.std(ddof=1), NUMERIC, NUMBER),
    exp.StddevSamp: _statistic("stddev_samp", lambda x: x.std(ddof=1), NUMERIC, NUMBER),
    exp.StddevPop: _statistic("stddev_pop", lambda x: x.std(ddof=0), NUMERIC, NUMBER),
    exp.Variance: _statistic("variance", lambda x: x.var(ddof=1), NUMERIC, NUMBER),
    exp.VariancePop: _statistic("var_pop", lambda x: x.var(ddof=0), NUMERIC, NUMBER),
}
