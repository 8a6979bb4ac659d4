"""Preview: what one component of a graph gives for the first rows of each source.

Only the component and what feeds it are built; nothing downstream is (no
sink is opened, no metric recorded). Each source stops after `limit` rows, and
a sink or metric named as the target shows the rows that would reach it. So a
preview writes nothing and reads at most `limit` rows per source.

It shares the components' contract with the runner (`Source.batches`,
`Transform.process` / `input_finished` / `finish`) but not the runner's
bookkeeping: no counters, progress, commit protocol or temporaries, since
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
from collections import defaultdict
from dataclasses import dataclass

import polars as pl

from execution.engine.components.base import MetricRecorder, Sink, Source
from execution.engine.errors import EngineError, GraphError, as_component
from execution.engine.graph import split_input, topological_order, validate_components
from execution.engine.registry import MAIN_PORT, get_spec
from execution.engine.runner import RunContext

DEFAULT_LIMIT = 100
DEFAULT_SECONDS = 10.0


class PreviewTimeout(EngineError):
    """The preview ran past its time limit."""


@dataclass
class Preview:
    component: str
    frame: pl.DataFrame

    def columns(self) -> list[dict]:
        return [{"name": name, "type": type_name(dtype)} for name, dtype in self.frame.schema.items()]

    def rows(self) -> list[dict]:
        """The rows as JSON-ready dicts: dates and times in ISO 8601, decimals as text."""
        return [
            {key: _jsonable(value) for key, value in row.items()} for row in self.frame.iter_rows(named=True)
        ]


def preview(
    components: list[dict],
    target: str,
    ctx: RunContext,
    limit: int = DEFAULT_LIMIT,
    seconds: float = DEFAULT_SECONDS,
) -> Preview:
    """Run resolved `components` up to `target` (`name`, or `name.rejects` for a
    validate component's rejected rows) on the first `limit` rows of each
    source, within `seconds`. Raises GraphError for a bad target or an invalid
    part of the graph it needs, EngineError if a component fails, and
    PreviewTimeout past the time limit."""
    if limit < 1:
        raise GraphError("Give a limit of at least 1 row.", field="limit")
    name, port = split_input(target)
    part = needed_components(components, target)
    definitions = {c["name"]: c for c in part}
    errors = validate_components(part, ctx.values)
    if errors:
        raise errors[0]
    spec = get_spec(definitions[name]["type"])
    consumer = issubclass(spec.implementation, Sink | MetricRecorder)
    if consumer and port != MAIN_PORT or not consumer and port not in spec.outputs:
        ports = ", ".join(spec.outputs) if not consumer else MAIN_PORT
        raise GraphError(
            f"Component {name!r} has no output {port!r} to preview (it has: {ports}).",
            component=name,
            field="component",
        )
    ctx.deadline = time.time() + seconds
    ctx.batch_size = min(ctx.batch_size, limit)
    frame = _PreviewRun(part, name, port, consumer, ctx, limit).run()
    return Preview(component=target, frame=frame.head(limit))


def needed_components(components: list[dict], target: str) -> list[dict]:
    """The components a preview of `target` builds: it and everything feeding it,
    in their saved order. Raises GraphError when the job has no such component."""
    name = split_input(target)[0]
    definitions = {c.get("name"): c for c in components}
    if name not in definitions:
        known = ", ".join(str(n) for n in definitions) or "none"
        raise GraphError(f"The job has no component {name!r}; its components: {known}.", field="component")
    needed = _upstream(definitions, name) | {name}
    return [c for c in components if c.get("name") in needed]


def _upstream(definitions: dict[str, dict], name: str) -> set[str]:
    found: set[str] = set()
    pending = [name]
    while pending:
        for reference in definitions[pending.pop()].get("inputs") or []:
            upstream = split_input(reference)[0]
            # A missing input is left for validate_components to name.
            if upstream not in found and upstream in definitions:
                found.add(upstream)
                pending.append(upstream)
    return found


class _PreviewRun:
    """Pushes each source's first rows depth-first through the part of the graph
    that feeds the target, keeping what the target emits on `port` (for a sink
    or metric target, what reaches it; it is never built)."""

    def __init__(self, part: list[dict], target: str, port: str, consumer: bool, ctx: RunContext, limit: int):
        self.ctx, self.limit = ctx, limit
        self.target, self.port, self.consumer = target, port, consumer
        self.definitions = {c["name"]: c for c in part}
        self.order = [n for n in topological_order(part) if not (consumer and n == target)]
        self.consumers: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.open_inputs: dict[str, list[str]] = {}
        for name in self.order:
            self.open_inputs[name] = list(self.definitions[name].get("inputs") or [])
            for reference in self.open_inputs[name]:
                self.consumers[split_input(reference)[0]].append((name, reference))
        if consumer:
            for reference in self.definitions[target].get("inputs") or []:
                self.consumers[split_input(reference)[0]].append((target, reference))
        self.instances: dict[str, object] = {}
        self.kept: list[pl.DataFrame] = []
        self.readers: list = []

    def run(self) -> pl.DataFrame:
        try:
            for name in self.order:
                definition = self.definitions[name]
                implementation = get_spec(definition["type"]).implementation
                self.instances[name] = self._call(
                    name, lambda i=implementation, d=definition: i(d["name"], d.get("config") or {}, self.ctx)
                )
            for name in self.order:
                if isinstance(self.instances[name], Source):
                    self._drain(name)
        finally:
            self._close()
        return pl.concat(self.kept, how="diagonal_relaxed") if self.kept else pl.DataFrame()

    def _drain(self, name: str):
        batches = self._call(name, self.instances[name].batches)
        self.readers.append(batches)
        read = 0
        while read < self.limit:
            self._check_time()
            try:
                batch = self._call(name, next, batches)
            except StopIteration:
                break
            batch = batch.head(self.limit - read)
            read += batch.height
            self._deliver(name, MAIN_PORT, batch)
        self._output_finished(name)

    def _deliver(self, name: str, port: str, batch: pl.DataFrame):
        if name == self.target and port == self.port and not self.consumer:
            self.kept.append(batch)
        for consumer, reference in self.consumers.get(name, ()):
            if split_input(reference)[1] != port:
                continue
            if consumer == self.target and self.consumer:
                self.kept.append(batch)
            else:
                instance = self.instances[consumer]
                self._emit(consumer, self._call(consumer, instance.process, batch, reference))

    def _emit(self, name: str, emitted):
        for port, batch in emitted:
            self._deliver(name, port, batch)

    def _output_finished(self, name: str):
        for consumer, reference in self.consumers.get(name, ()):
            if consumer == self.target and self.consumer:
                continue
            instance = self.instances[consumer]
            self.open_inputs[consumer].remove(reference)
            emitted = self._call(consumer, instance.input_finished, reference)
            if not self.open_inputs[consumer]:
                emitted = emitted + self._call(consumer, instance.finish)
            self._emit(consumer, emitted)
            if not self.open_inputs[consumer]:
                self._output_finished(consumer)

    def _check_time(self):
        if time.time() > self.ctx.deadline:
            raise PreviewTimeout(
                "The preview took longer than its time limit; preview fewer rows or a component nearer the sources."
            )

    def _call(self, name: str, action, *args):
        """Run one component's code; a failure becomes an EngineError naming it (as in a run)."""
        return as_component(name, action, *args)

    def _close(self):
        for reader in self.readers:
            reader.close()
        for instance in self.instances.values():
            try:
                instance.close()
            except Exception as error:  # noqa: BLE001 - keep closing the others
                instance.log("warning", f"Close failed: {error}")


# The names users write for casts (`select.cast`), for the types a preview shows.
_TYPE_NAMES = {
    pl.String: "string",
    pl.Int16: "smallint",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Time: "time",
    pl.Null: "null",
}


def type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if dtype.is_integer() and dtype != pl.Int16:
        return "integer"
    if dtype.is_float():
        return "double"
    return _TYPE_NAMES.get(dtype, str(dtype).lower())


def _jsonable(value):
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value
