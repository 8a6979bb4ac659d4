"""From a user's text to a syntax tree: size limits first, then sqlglot.

The limits run before any parser sees the text, so a huge or deeply nested
expression costs a scan, not a crash (a 100 kB `id = 1 OR id = 2 OR ...`
once segfaulted a web worker inside Polars' own SQL parser). Placeholders
become marker names before parsing and typed literals when the tree is built.
"""

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from execution.engine.placeholders import PLACEHOLDER

MAX_LENGTH = 10_000  # characters of the expression as written
MAX_NESTING = 32  # levels of parentheses
MAX_TOKENS = 5_000  # words, numbers, strings and operators
MAX_DEPTH = 64  # levels of the syntax tree (a chain of AND or OR counts as one)

DIALECT = "postgres"
# `${name}` is replaced by one of these before parsing; the user may not write them.
MARKER_PREFIX = "__etl_param_"
MARKER = re.compile(rf"{MARKER_PREFIX}(\d+)__")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ExpressionError(ValueError):
    """The expression is refused; the message says why and what to write instead."""


@dataclass(frozen=True)
class Parsed:
    tree: exp.Expression
    # Marker index -> the placeholder name it stands for (`min_delay`, `env.X`).
    placeholders: tuple[str, ...]


def parse(text: str) -> Parsed:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("The expression is empty.")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"The expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}. "
            "For long lists of values use IN (...) or a join with a lookup source."
        )
    if MARKER_PREFIX in text:
        raise ExpressionError(f"Names starting with {MARKER_PREFIX!r} are reserved.")
    names: list[str] = []

    def to_marker(match) -> str:
        names.append(match[1])
        return f"{MARKER_PREFIX}{len(names) - 1}__"

    marked = PLACEHOLDER.sub(to_marker, text)
    _check_nesting(marked)
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(marked)
    except TokenError as error:
        raise ExpressionError(f"Not a valid SQL expression: {_clean(error)}") from None
    if len(tokens) > MAX_TOKENS:
        raise ExpressionError(
            f"The expression has {len(tokens):,} tokens; the limit is {MAX_TOKENS:,}. "
            "For long lists of values use IN (...) or a join with a lookup source."
        )
    try:
        statements = sqlglot.parse(marked, read=DIALECT)
    except (ParseError, TokenError) as error:
        raise ExpressionError(f"Not a valid SQL expression: {_parse_problem(error)}") from None
    except RecursionError:
        raise ExpressionError(f"The expression is nested too deeply (limit {MAX_DEPTH} levels).") from None
    statements = [statement for statement in statements if statement is not None]
    if len(statements) != 1:
        raise ExpressionError("Write one expression (no `;`).")
    tree = statements[0]
    _check_depth(tree)
    return Parsed(tree=tree, placeholders=tuple(names))


def _check_nesting(text: str) -> None:
    """Deepest parenthesis nesting outside quotes, without a parser."""
    depth = deepest = 0
    quote = None
    for char in text:
        if quote:
            if char == quote:
                quote = None  # a doubled quote closes and reopens: same count
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    if deepest > MAX_NESTING:
        raise ExpressionError(f"The expression nests parentheses {deepest} deep; the limit is {MAX_NESTING}.")


def _check_depth(tree: exp.Expression) -> None:
    """Tree depth, counted without recursion; a chain of the same AND/OR is one level."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"The expression is nested too deeply (limit {MAX_DEPTH} levels).")
        for child in node.iter_expressions():
            same_chain = isinstance(node, exp.And | exp.Or) and type(child) is type(node)
            stack.append((child, depth if same_chain else depth + 1))


def _parse_problem(error: ParseError | TokenError) -> str:
    details = getattr(error, "errors", None)
    if details:
        first = details[0]
        where = f" (at character {first['col']})" if first.get("col") else ""
        return f"{_describe_parser_message(first.get('description') or '')}{where}"
    return _clean(error)


def _describe_parser_message(description: str) -> str:
    # sqlglot words a dangling operator as "Required keyword: 'expression' missing for <class ...GT>".
    missing = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*\.(\w+)'>", description)
    if missing:
        return f"the {missing[1].upper()} operator is missing an operand"
    return _clean(description)


def _clean(error) -> str:
    text = _ANSI.sub("", str(error)).strip()
    return text.splitlines()[0] if text else "cannot be read"
