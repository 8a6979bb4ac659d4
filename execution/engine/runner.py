"""Run a job's component graph.

Sources are read one after another, batch by batch; each batch is pushed
depth-first through the graph (transforms emit, sinks write) before the next
is read, so streaming paths hold about one batch per component. Blocking
transforms (sort, aggregate, the right side of a join) keep their input and
emit when all their inputs have finished. Sources feeding the right side of a
join are read first, so the left side can stream. Before any row moves, the
run plans (planning.py, fusion.py): sources read only the columns the graph
uses, a filter right after a Parquet source runs inside its scan, and runs
of filter/derive/select become one Polars lazy plan per batch, with each
member's counters kept exact.

Commit protocol: when every source is exhausted and nothing failed, every
sink `prepare`s (the work that can still fail), then every sink commits. On
any error or StopRequested, every sink rolls back.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from execution.engine import file_sets, fusion, placeholders, planning
from execution.engine.components.base import MetricRecorder, Sink, Source, main
from execution.engine.components.checks import REJECTS_PORT
from execution.engine.errors import GraphError, as_component
from execution.engine.graph import split_input, topological_order, validate_components
from execution.engine.registry import MAIN_PORT, UnknownComponentType, get_spec
from execution.engine.temporaries import Tracker

# Rejected rows kept in RunResult per validate component (the counters stay exact).
MAX_KEPT_REJECTS = 10_000


@dataclass
class RunContext:
    data_roots: list[str]
    # name -> {"kind": "postgres"|"mysql"|"sqlite", "host", "port", "database", "user",
    #          "password", "options": {}}  or  {"kind": ..., "url": ...}
    connections: dict[str, dict]
    # Rows per batch: the job's config (its default is the run-time setting default_batch_size).
    batch_size: int
    schemas: dict[str, dict] = field(default_factory=dict)
    # Called between batches; may raise StopRequested, or block to pause.
    control: Callable[[Progress], None] | None = None
    # (level, component or None, message)
    log: Callable[[str, str | None, str], None] | None = None
    # A time.time() by which the run must be over: database statements and lock
    # waits are cut off there (a blocked load cannot outlive the job's timeout).
    deadline: float | None = None
    # Placeholder name -> value for expression fields (`min_delay`, `env.X`),
    # see placeholders.values_for_expressions; compiled into typed literals.
    values: dict = field(default_factory=dict)
    # Told about every temporary object a sink makes, before it exists and once
    # it is gone, so a killed run's leftovers can be removed (temporaries.py).
    temporaries: Tracker = field(default_factory=Tracker)
    # Where blocking transforms spill what they hold past `spill_bytes` (None:
    # the system's temporary folder, and components/base.SPILL_BYTES); each
    # spill folder is reported to `temporaries` too.
    spill_root: str | None = None
    spill_bytes: int | None = None
    # Column name -> provenance.TextFallback: why a source's column is text,
    # quoted by type errors further down (filled by the run).
    text_fallbacks: dict = field(default_factory=dict)
    # Incremental runs (incremental.py, load_markers.py): each source's saved
    # state (`watermark`, `files`), the run's load id written by database
    # sinks with their data, and a hook told the sources' new states and each
    # sink's commit evidence after the last batch, before any sink commits.
    incremental_state: dict[str, dict] = field(default_factory=dict)
    load_id: str | None = None
    before_commit: Callable[[dict[str, dict], list[dict]], None] | None = None


@dataclass
class Counters:
    # The component's type, so monitoring can total per type even after the job is edited.
    type: str
    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    bytes_read: int = 0
    # The first and last moment it worked, in seconds since the run started
    # (the execution page's component timeline).
    busy_from: float | None = None
    busy_until: float | None = None

    def worked(self, since: float, run_started: float, share: float = 1.0) -> None:
        """Count a stretch of work that began at monotonic time `since` (`share`
        of it: the members of a fused segment split its time)."""
        now = time.monotonic()
        self.seconds += (now - since) * share
        if self.busy_from is None:
            self.busy_from = round(since - run_started, 3)
        self.busy_until = round(now - run_started, 3)

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_rejected": self.rows_rejected,
            "batches": self.batches,
            "seconds": round(self.seconds, 6),
            "bytes_read": self.bytes_read,
            "busy_from": self.busy_from,
            "busy_until": self.busy_until,
        }


@dataclass
class Progress:
    percent: float | None
    rows_read: int
    components: dict[str, dict]


@dataclass
class RunResult:
    components: dict[str, dict]
    rejects: dict[str, pl.DataFrame]
    metrics: list[dict]
    progress: Progress
    seconds: float
    # Incremental sources' new states (saved by the caller, see RunContext.before_commit).
    states: dict[str, dict] = field(default_factory=dict)
    # File sources reading a file set: component -> [{"path", "size", "mtime"}] read.
    files: dict[str, list[dict]] = field(default_factory=dict)


# --- placeholders -------------------------------------------------------------------


def placeholder_errors(components: list[dict], parameters: dict, environment: dict) -> list[GraphError]:
    """Every `${...}` in the components' configs that has no value."""
    return [
        GraphError(message, component=component.get("name"), field=path)
        for component in components
        for path, message in placeholders.missing(component.get("config") or {}, parameters, environment)
    ]


def resolve_placeholders(components: list[dict], parameters: dict, environment: dict) -> list[dict]:
    """A copy of the components with `${name}` (a parameter) and `${env.NAME}`
    (an environment value) substituted in their configs, except in expression
    fields: there the compiler turns them into typed literals, from the values
    the run passes as `RunContext.values` (placeholders.values_for_expressions).
    Raises GraphError naming the component and field of the first missing one."""
    errors = placeholder_errors(components, parameters, environment)
    if errors:
        raise errors[0]
    resolved = copy.deepcopy(components)
    for component in resolved:
        keep = _expression_fields(component)
        component["config"] = placeholders.substitute(
            component.get("config") or {}, parameters, environment, keep
        )
    return resolved


def _expression_fields(component: dict) -> tuple[str, ...]:
    try:
        return tuple(get_spec(component.get("type", "")).expression_fields)
    except UnknownComponentType:
        return ()


def _unresolved(components: list[dict], values: dict) -> list[GraphError]:
    """Placeholders a run cannot fill: outside expression fields (not
    substituted) or inside them without a value."""
    errors = []
    for component in components:
        keep = _expression_fields(component)
        for path, text in placeholders.config_strings(component.get("config") or {}):
            for name in placeholders.references(text):
                if not placeholders.path_matches(path, keep) or name not in values:
                    message = placeholders.missing_message(name)
                    errors.append(GraphError(message, component=component.get("name"), field=path))
    return errors


# --- running --------------------------------------------------------------------------


def run_job(components: list[dict], ctx: RunContext) -> RunResult:
    """Run resolved components (see resolve_placeholders); raises GraphError
    before any data moves if the graph is invalid, EngineError if the run
    fails, StopRequested if the control hook stopped it. Targets are only
    changed when it returns."""
    errors = validate_components(components, ctx.values) or _unresolved(components, ctx.values)
    if errors:
        raise errors[0]
    return _Run(components, ctx).run()


class _Run:
    def __init__(self, components: list[dict], ctx: RunContext):
        self.ctx = ctx
        self.definitions = {c["name"]: c for c in components}
        self.order = topological_order(components)
        self.counters = {name: Counters(type=self.definitions[name]["type"]) for name in self.order}
        self.instances: dict[str, object] = {}
        # upstream name -> [(consumer name, input reference)]
        self.consumers: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.open_inputs: dict[str, list[str]] = {}
        for name in self.order:
            inputs = list(self.definitions[name].get("inputs") or [])
            self.open_inputs[name] = inputs
            for reference in inputs:
                self.consumers[split_input(reference)[0]].append((name, reference))
        self.rejects: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self.kept_rejects: dict[str, int] = defaultdict(int)
        self.exhausted: set[str] = set()
        self.readers: list = []
        self.started = time.monotonic()
        self.states: dict[str, dict] = {}
        # Set by _plan once the components are built.
        self.segments: dict[str, fusion.Segment] = {}
        self.pushed: dict[str, str] = {}

    def run(self) -> RunResult:
        try:
            self._build()
            self._plan()
            self._heartbeat()
            for name in self._source_order():
                self._drain(name)
            self._heartbeat()
            sinks = [i for i in self.instances.values() if isinstance(i, Sink)]
            # Preparing and committing are the sinks' work too (a swap, a COMMIT).
            for sink in sinks:
                started = time.monotonic()
                self._call(sink.name, sink.prepare)
                self.counters[sink.name].worked(started, self.started)
            self.states = self._new_states()
            if self.states and self.ctx.before_commit:
                self.ctx.before_commit(self.states, [s.commit_evidence() for s in sinks])
            for sink in sinks:
                started = time.monotonic()
                self._call(sink.name, sink.commit)
                self.counters[sink.name].worked(started, self.started)
        except BaseException:
            self._rollback()
            raise
        finally:
            self._close()
        self._log("info", None, f"Run finished in {time.monotonic() - self.started:.1f}s.")
        return self._result()

    # -- setup ---------------------------------------------------------------------------
    def _build(self):
        for name in self.order:
            definition = self.definitions[name]
            spec = get_spec(definition["type"])
            self.instances[name] = self._call(
                name,
                lambda spec=spec, definition=definition: file_sets.build(
                    spec, definition["name"], definition.get("config") or {}, self.ctx
                ),
            )

    def _new_states(self) -> dict[str, dict]:
        sources = [i for i in self.instances.values() if isinstance(i, Source)]
        return {s.name: state for s in sources if (state := self._call(s.name, s.new_state)) is not None}

    def _plan(self):
        """Projection and predicate pushdown, then fusion (planning.py, fusion.py)."""
        used = planning.used_columns(self.order, self.instances, self.consumers)
        for name, instance in self.instances.items():
            if isinstance(instance, Source):
                instance.used_columns = used[name]
        self.pushed = planning.pushable_filters(self.instances, self.consumers, self.open_inputs)
        for source, condition in self.pushed.items():
            self.instances[source].pushed_filter = self.instances[condition]
        fusable = {n: i for n, i in self.instances.items() if n not in self.pushed.values()}
        for segment in fusion.segments(self.order, fusable, self.consumers, self.open_inputs):
            self.segments[segment.names[0]] = segment

    def _source_order(self) -> list[str]:
        """Sources feeding the right side of a join first, so its left side streams."""
        sources = [name for name in self.order if isinstance(self.instances[name], Source)]
        build_side = set()
        for name in self.order:
            definition = self.definitions[name]
            if definition["type"] == "join":
                build_side |= self._ancestors(split_input(definition["config"]["right"])[0])
        return [s for s in sources if s in build_side] + [s for s in sources if s not in build_side]

    def _ancestors(self, name: str) -> set[str]:
        found = {name}
        for reference in self.definitions[name].get("inputs") or []:
            found |= self._ancestors(split_input(reference)[0])
        return found

    # -- moving batches --------------------------------------------------------------------
    def _drain(self, name: str):
        source = self.instances[name]
        counters = self.counters[name]
        self._log("info", name, "Reading.")
        batches = self._call(name, source.batches)
        self.readers.append(batches)
        while True:
            started = time.monotonic()
            try:
                batch = self._call(name, lambda: next(batches))
            except StopIteration:
                counters.worked(started, self.started)
                break
            counters.worked(started, self.started)
            counters.batches += 1
            counters.bytes_read = source.bytes_read
            if self._filters_inside(name):
                self._deliver_filtered(name, batch)
            else:
                counters.rows_out += batch.height
                self._deliver(name, MAIN_PORT, batch)
            self._heartbeat()
        counters.bytes_read = source.bytes_read
        if self._filters_inside(name):
            self._deliver_filtered(name, None)
        self.exhausted.add(name)
        self._log("info", name, f"Read {counters.rows_out} rows.")
        self._output_finished(name)

    def _deliver(self, name: str, port: str, batch: pl.DataFrame):
        for consumer, reference in self.consumers.get(name, ()):
            if split_input(reference)[1] == port:
                self._push(consumer, reference, batch)

    def _filters_inside(self, name: str) -> bool:
        """The source evaluates its filter in its scan: it drops
        `pushed_filter` when it finds that unsafe, and the filter then runs
        after it as usual."""
        return name in self.pushed and self.instances[name].pushed_filter is not None

    def _deliver_filtered(self, name: str, batch: pl.DataFrame | None):
        """A batch a source yields with its filter evaluated in its scan: the
        source read `rows_scanned` rows so far, the filter kept `batch`."""
        source, condition = self.instances[name], self.pushed[name]
        read = (source.rows_scanned or 0) - self.counters[name].rows_out
        self.counters[name].rows_out += read
        self.counters[condition].rows_in += read
        if batch is not None:
            self.counters[condition].batches += 1
            self._emit(condition, main(batch))

    def _push(self, name: str, reference: str, batch: pl.DataFrame):
        if name in self.segments:
            self._push_fused(name, batch)
            return
        instance = self.instances[name]
        counters = self.counters[name]
        counters.rows_in += batch.height
        counters.batches += 1
        started = time.monotonic()
        if isinstance(instance, Sink):
            self._call(name, lambda: instance.write(batch))
            counters.worked(started, self.started)
            counters.rows_out += batch.height  # rows written (visible once the run commits)
            return
        emitted = self._call(name, lambda: instance.process(batch, reference))
        counters.worked(started, self.started)
        self._emit(name, emitted)

    def _push_fused(self, name: str, batch: pl.DataFrame):
        """A batch through a fused segment: each member's counters as if it
        had run alone (fusion.py says why they are exact)."""
        segment = self.segments[name]
        started = time.monotonic()
        result, rows_out = segment.run(batch, self._call)
        rows_in = batch.height
        for member, rows in zip(segment.names, rows_out, strict=True):
            counters = self.counters[member]
            counters.rows_in += rows_in
            counters.rows_out += rows
            counters.batches += 1
            # One plan's time, shared out evenly: the members ran as one.
            counters.worked(started, self.started, share=1 / len(segment.names))
            rows_in = rows
        self._deliver(segment.last, MAIN_PORT, result)

    def _emit(self, name: str, emitted):
        counters = self.counters[name]
        for port, batch in emitted:
            if port == REJECTS_PORT:
                counters.rows_rejected += batch.height
                self._keep_rejects(name, batch)
            else:
                counters.rows_out += batch.height
            self._deliver(name, port, batch)

    def _keep_rejects(self, name: str, batch: pl.DataFrame):
        room = MAX_KEPT_REJECTS - self.kept_rejects[name]
        if batch.height and room > 0:
            self.rejects[name].append(batch.head(room))
            self.kept_rejects[name] += min(room, batch.height)
        elif not self.rejects[name]:
            self.rejects[name].append(batch.clear())

    def _output_finished(self, name: str):
        """`name` will emit nothing more: tell its consumers, finishing those
        whose inputs are now all done (which may cascade downstream)."""
        for consumer, reference in self.consumers.get(name, ()):
            instance = self.instances[consumer]
            self.open_inputs[consumer].remove(reference)
            if isinstance(instance, Sink):
                continue
            started = time.monotonic()
            emitted = self._call(
                consumer, lambda instance=instance, reference=reference: instance.input_finished(reference)
            )
            if not self.open_inputs[consumer]:
                emitted = emitted + self._call(consumer, instance.finish)
            self.counters[consumer].worked(started, self.started)
            self._emit(consumer, emitted)
            if not self.open_inputs[consumer]:
                self._output_finished(consumer)

    # -- control, errors, teardown ------------------------------------------------------------
    def _call(self, name: str, action):
        """Run one component's code; unexpected exceptions become an EngineError naming it."""
        return as_component(name, action)

    def _heartbeat(self):
        if self.ctx.control:
            self.ctx.control(self._progress())

    def _progress(self) -> Progress:
        fractions = []
        rows_read = 0
        for name, instance in self.instances.items():
            if not isinstance(instance, Source):
                continue
            rows_read += self.counters[name].rows_out
            if name in self.exhausted:
                fractions.append(1.0)
            elif instance.progress_total:
                fractions.append(min(instance.progress_done / instance.progress_total, 0.99))
            else:
                fractions.append(0.0)
        percent = round(100 * sum(fractions) / len(fractions), 1) if fractions else None
        return Progress(percent=percent, rows_read=rows_read, components=self._counters())

    def _counters(self) -> dict[str, dict]:
        return {name: counters.as_dict() for name, counters in self.counters.items()}

    def _rollback(self):
        for instance in self.instances.values():
            if isinstance(instance, Sink):
                try:
                    instance.rollback()
                except Exception as error:  # noqa: BLE001 - keep rolling back the others
                    self._log("error", instance.name, f"Rollback failed: {error}")

    def _close(self):
        # Closing a suspended source generator runs its cleanup (connections, files) now.
        for reader in self.readers:
            reader.close()
        for instance in self.instances.values():
            try:
                instance.close()
            except Exception as error:  # noqa: BLE001 - keep closing the others
                self._log("warning", instance.name, f"Close failed: {error}")

    def _log(self, level, component, message):
        if self.ctx.log:
            self.ctx.log(level, component, message)

    def _result(self) -> RunResult:
        metrics = [
            metric
            for instance in self.instances.values()
            if isinstance(instance, MetricRecorder)
            for metric in instance.metrics()
        ]
        rejects = {
            name: pl.concat(parts, how="vertical_relaxed") for name, parts in self.rejects.items() if parts
        }
        return RunResult(
            components=self._counters(),
            rejects=rejects,
            metrics=metrics,
            progress=self._progress(),
            seconds=round(time.monotonic() - self.started, 6),
            states=self.states,
            files={
                name: instance.files_read
                for name, instance in self.instances.items()
                if isinstance(instance, file_sets.FileSet)
            },
        )
