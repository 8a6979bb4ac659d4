"""What a run decides from the graph before it reads a row.

Projection pushdown: walking from the sinks back to the sources, each
component says which input columns it reads for the output columns its
consumers read (`Component.input_columns`); a file source then reads only
those (`Source.used_columns`). A component that passes every column on to
what reads all of them (a sink, `validate`, `union`) needs all (None).

Predicate pushdown: a `filter` that is the only consumer of a `parquet_source`
is evaluated inside the source's Parquet scan (`ParquetSource.pushed_filter`),
which skips row groups by their statistics and reads the other columns only
for matching rows.
"""

from __future__ import annotations

from execution.engine.components.file_sources import ParquetSource
from execution.engine.components.transforms import Filter


def used_columns(order: list[str], instances: dict, consumers: dict) -> dict[str, frozenset[str] | None]:
    """Component name -> the columns of its output read downstream (None: all)."""
    wanted: dict[str, frozenset[str] | None] = {}
    for name in reversed(order):
        needed: frozenset[str] | None = frozenset()
        for consumer, reference in consumers.get(name, ()):
            reads = instances[consumer].input_columns(wanted[consumer], reference)
            needed = None if needed is None or reads is None else needed | reads
        wanted[name] = needed
    return wanted


def pushable_filters(instances: dict, consumers: dict, inputs: dict) -> dict[str, str]:
    """Parquet source name -> the filter evaluated inside its scan."""
    pushed = {}
    for name, instance in instances.items():
        following = consumers.get(name, [])
        if not isinstance(instance, ParquetSource) or len(following) != 1:
            continue
        consumer, _reference = following[0]
        if isinstance(instances[consumer], Filter) and len(inputs[consumer]) == 1:
            pushed[name] = consumer
    return pushed
