"""Partial aggregation: an `aggregate` over a long input groups each stretch
of it as it comes and combines the partial results at the end, so it holds
one row per group per stretch instead of every input row.

Only aggregates whose result is exactly a combination of partial results are
split: `count(*)`, `count(x)`, `sum(x)`, `min(x)`, `max(x)` (the partial
results' sum, sum, min, max) and `avg(x)` of numbers (the sum of partial sums
over the sum of partial counts). Any other aggregate (`count(DISTINCT x)`, an
expression around aggregates, a FILTER) makes the component hold its input
as before (spilled to disk past base.SPILL_BYTES). Partial results are typed
like the plain result; a float sum or mean may differ from the one-pass
result in its last bits (additions in another order), as it does between
Polars runs on several threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlglot import exp

from execution.engine import expressions
from execution.engine.expressions.parsing import DIALECT

_COMBINE = {
    exp.Count: lambda column: column.sum(),
    exp.Sum: lambda column: pl.when(column.is_not_null().any()).then(column.sum()),
    exp.Min: lambda column: column.min(),
    exp.Max: lambda column: column.max(),
}


@dataclass
class PartialPlan:
    """What each stretch is grouped into (`partial`), and how the partial
    rows become the result (`combine`), for `group_by` keys."""

    group_by: list[str]
    partial: list[pl.Expr]
    combine: list[pl.Expr]

    def reduce(self, data: pl.DataFrame) -> pl.DataFrame:
        if not self.group_by:
            return data.select(self.partial)
        return data.group_by(self.group_by).agg(self.partial)

    def result(self, partials: pl.LazyFrame) -> pl.LazyFrame:
        if not self.group_by:
            return partials.select(self.combine)
        return partials.group_by(self.group_by).agg(self.combine)


def plan(
    aggregates: dict, group_by: list[str], schema: pl.Schema, *, component: str, values
) -> PartialPlan | None:
    """The partial plan of `aggregates` (alias -> Expression) over an input
    with `schema`, or None when one of them cannot be split."""
    partial, combine = [], []
    for alias, expression in aggregates.items():
        tree = expression.parsed.tree
        if expression.parsed.placeholders:
            return None
        field = f"config.aggregates.{alias}"
        full = expressions.build_for(expression, schema, component=component, field=field)
        dtype = pl.LazyFrame(schema=schema).select(full.alias(alias)).collect_schema()[alias]
        if type(tree) in _COMBINE and not isinstance(tree.this, exp.Distinct):
            name = f"_etl_partial_{alias}"
            partial.append(full.alias(name))
            combine.append(_COMBINE[type(tree)](pl.col(name)).cast(dtype).alias(alias))
        elif isinstance(tree, exp.Avg) and dtype.is_float():
            inner = tree.this.sql(dialect=DIALECT)
            total, count = f"_etl_sum_{alias}", f"_etl_count_{alias}"
            for text, name in ((f"sum({inner})", total), (f"count({inner})", count)):
                compiled = expressions.compile_field(
                    text, expressions.AGGREGATE, component=component, field=field, values=values
                )
                built = expressions.build_for(compiled, schema, component=component, field=field)
                partial.append(built.alias(name))
            counted = pl.col(count).sum()
            mean = pl.when(counted > 0).then(pl.col(total).sum().cast(pl.Float64) / counted)
            combine.append(mean.cast(dtype).alias(alias))
        else:
            return None
    return PartialPlan(group_by, partial, combine)
