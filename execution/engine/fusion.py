"""Fused transforms: consecutive `filter`, `derive` and `select` components
run as one Polars lazy plan per batch.

A plan is optimised as a whole (expressions of several derives evaluated in
one pass, a select's dropped columns never computed, a filter applied before
the derive after it) and collected on every core. The runner still counts
rows per component exactly, because a segment holds at most one `filter`:
`derive` and `select` keep every row, so each member before the filter passes
on as many rows as the segment received and each member from the filter on
as many as the plan returned. Two filters in a row are two segments.

An error while collecting a plan is found again by running the batch through
the members one by one as unfused components, so the error names the
component (and field) it always did; nothing about the data changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from execution.engine.components.transforms import Derive, Filter, Select

FUSABLE = (Filter, Derive, Select)


@dataclass
class Segment:
    """Consecutive fusable components, `members[0]` receiving from upstream."""

    names: list[str]
    members: list

    @property
    def last(self) -> str:
        return self.names[-1]

    def run(self, batch: pl.DataFrame, call) -> tuple[pl.DataFrame, list[int]]:
        """The segment's output and each member's rows out. `call(name,
        action)` runs one member's code, turning a failure into that
        member's error (the runner's `_call`)."""
        frame, schema = batch.lazy(), batch.schema
        for name, member in zip(self.names, self.members, strict=True):
            frame, schema = call(name, lambda m=member, f=frame, s=schema: m.lazy(f, s))
        try:
            result = frame.collect()
        except pl.exceptions.PolarsError:
            result = self._unfused(batch, call)
        rows_out = []
        rows = batch.height
        for member in self.members:
            if isinstance(member, Filter):
                rows = result.height
            rows_out.append(rows)
        return result, rows_out

    def _unfused(self, batch: pl.DataFrame, call) -> pl.DataFrame:
        """The members one by one (raising the error the failing one raises)."""
        for name, member in zip(self.names, self.members, strict=True):
            ((_port, batch),) = call(name, lambda m=member, b=batch: m.process(b, ""))
        return batch


def segments(order: list[str], instances: dict, consumers: dict, inputs: dict) -> list[Segment]:
    """Maximal chains of fusable components with at most one filter each, in
    which every member but the last feeds only the next one and every member
    but the first is fed only by the one before."""
    found = []
    taken: set[str] = set()
    for name in order:
        if name in taken or not isinstance(instances.get(name), FUSABLE):
            continue
        chain = [name]
        filters = isinstance(instances[name], Filter)
        while True:
            following = consumers.get(chain[-1], [])
            if len(following) != 1:
                break
            successor, _reference = following[0]
            candidate = instances.get(successor)
            if not isinstance(candidate, FUSABLE) or len(inputs[successor]) != 1:
                break
            if isinstance(candidate, Filter):
                if filters:
                    break
                filters = True
            chain.append(successor)
        taken.update(chain)
        # A chain of one is still a plan: a derive's columns are evaluated together.
        found.append(Segment(chain, [instances[n] for n in chain]))
    return found
