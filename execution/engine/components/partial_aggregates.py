"""Grouping an `aggregate`'s input batch by batch, for aggregates that combine.

count(*), count(x), sum(x), min(x), max(x) and avg(x) (as a sum and a count)
of one batch's groups combine into those of the whole input: counts and sums
add up, minima and maxima are taken again. So when every aggregate of the
component is one of these, each batch is grouped as it arrives into a few
rows per group (its partial result), and the partial results are grouped
again when the input ends. Memory holds the partial results, not the input,
and nothing is spilled to disk. Anything else (count(DISTINCT x), median,
stddev, an expression around an aggregate such as `sum(a) / count(*)`) needs
every row at once: the component holds its input as before (base.Accumulator).

Each part is built by the expression builder from the field's own syntax
tree (an avg's sum and count from its argument), so NULLs, types and errors
are those of the aggregate written; the combined columns are cast to the
types the aggregate gives on the whole input. Sums of floats are added in
another order than one pass over every row would (as Polars' streaming
engine, which groups in parallel parts, already does): equal up to rounding.
"""

from dataclasses import dataclass

import polars as pl
from sqlglot import exp

from execution.engine.expressions import AGGREGATE, Expression
from execution.engine.expressions.building import Builder

# How each aggregate's partial results combine.
_COMBINED = {exp.Count: "sum", exp.Sum: "sum", exp.Min: "min", exp.Max: "max", exp.Avg: "avg"}
# Partial-result column names: never among a user's aggregate names (`_etl_` is reserved).
_PART = "_etl_part{index}_{role}"


@dataclass(frozen=True)
class Parts:
    """Per batch: `partial` (grouped by the same keys); at the end: `combined`
    over the partial results, one expression per aggregate, in config order."""

    partial: list[pl.Expr]
    combined: list[pl.Expr]


def combinable(aggregates: dict[str, Expression]) -> bool:
    """Whether every aggregate combines from partial results (the module's list)."""
    for expression in aggregates.values():
        tree = expression.parsed.tree
        if type(tree) not in _COMBINED:
            return False
        if isinstance(tree, exp.Count) and isinstance(tree.this, exp.Distinct):
            return False
    return True


def parts_for(aggregates: dict[str, Expression], schema: pl.Schema) -> Parts:
    """The partial and combining expressions for an input of `schema`; raises
    the builder's ExpressionError as building the aggregates would."""
    partial, combined = [], []
    for index, (alias, expression) in enumerate(aggregates.items()):
        tree = expression.parsed.tree
        how = _COMBINED[type(tree)]
        if how == "avg":
            builder = Builder(expression.parsed, AGGREGATE, schema, expression.values)
            total = builder.node(exp.Sum(this=tree.this.copy()), False).expr
            count = builder.node(exp.Count(this=tree.this.copy()), False).expr
            total_name = _PART.format(index=index, role="sum")
            count_name = _PART.format(index=index, role="count")
            partial += [total.alias(total_name), count.alias(count_name)]
            values = pl.col(count_name).sum()
            mean = pl.col(total_name).sum().cast(pl.Float64) / values
            combined.append(pl.when(values > 0).then(mean).alias(alias))
            continue
        name = _PART.format(index=index, role=how)
        partial.append(expression.polars(schema).alias(name))
        column = pl.col(name)
        if how == "sum":
            # A sum over no values is NULL (SQL), and so is a group whose every part is.
            combined.append(pl.when(column.count() > 0).then(column.sum()).alias(alias))
        else:
            combined.append(getattr(column, how)().alias(alias))
    return Parts(partial, combined)


def grouped(frame: pl.LazyFrame, group_by: list[str], expressions: list[pl.Expr]) -> pl.LazyFrame:
    """`expressions` per group of `group_by` (one row over everything without keys)."""
    return frame.group_by(group_by).agg(expressions) if group_by else frame.select(expressions)
