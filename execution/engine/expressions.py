"""User expressions: SQL evaluated by Polars, never Python.

`pl.sql_expr` parses one SQL expression into a Polars expression; whole
statements (aggregate, metric) go through `pl.SQLContext` over an in-memory
frame. Neither can reach the database or the interpreter.
"""

import polars as pl

from execution.engine.errors import EngineError


def parse_problem(text: str) -> str | None:
    """The parser's message if `text` is not a valid SQL expression, else None."""
    try:
        pl.sql_expr(text)
    except Exception as error:  # noqa: BLE001 - Polars raises several kinds for bad SQL
        return f"Not a valid SQL expression: {first_line(error)}"
    return None


def parse(text: str, *, component: str, field: str) -> pl.Expr:
    try:
        return pl.sql_expr(text)
    except Exception as error:  # noqa: BLE001
        raise EngineError(
            f"Not a valid SQL expression: {first_line(error)}", component=component, field=field
        ) from None


def first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def evaluation_error(error: Exception, *, component: str, field: str) -> EngineError:
    """Explain a failure while evaluating an expression on real data (Polars
    names the unknown column and lists the valid ones)."""
    return EngineError(first_line(error), component=component, field=field)


def quote_identifier(name: str) -> str:
    """Quote a column name for Polars SQL."""
    return '"' + name.replace('"', '""') + '"'
