"""The three contracts every component type implements, and helpers for their
config schemas.

A run pushes Polars batches through the graph:

- a `Source` yields batches (at least one, possibly empty, so downstream
  components always learn the columns);
- a `Transform` receives batches from its inputs and emits `(port, batch)`
  pairs; a blocking one keeps what it needs and emits in `finish`;
- a `Sink` writes batches inside something it can undo, and only makes them
  visible in `commit` (after every source is exhausted and nothing failed).
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import polars as pl

from execution.engine import expressions
from execution.engine.errors import EngineError
from execution.engine.provenance import with_text_reasons
from execution.engine.registry import MAIN_PORT
from execution.engine.temporaries import SPILL_DIRECTORY, Temporary, Tracker, spill_directory

if TYPE_CHECKING:
    from execution.engine.runner import RunContext

Emitted = list[tuple[str, pl.DataFrame]]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

PLACEHOLDER = {
    "type": "string",
    "pattern": r"^\$\{[^}]+\}$",
    "description": "A ${parameter} or ${env.NAME} placeholder, resolved when the job runs.",
}


def config_schema(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    """A closed object schema (unknown fields are errors) for a component config."""
    schema = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": list(required),
    }
    schema.update(extra)
    return schema


def with_placeholder(schema: dict) -> dict:
    """Let a non-string field also hold a `${param}` placeholder."""
    description = schema.pop("description", None)
    wrapped = {"anyOf": [schema, PLACEHOLDER]}
    if description:
        wrapped["description"] = description
    return wrapped


def string(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def integer(description: str, minimum: int | None = None) -> dict:
    schema = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    return with_placeholder(schema)


def boolean(description: str) -> dict:
    return with_placeholder({"type": "boolean", "description": description})


def choice(description: str, options: list[str]) -> dict:
    return with_placeholder({"enum": options, "description": description})


def names(description: str, min_items: int = 0) -> dict:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": min_items,
        "description": description,
    }


def main(batch: pl.DataFrame) -> Emitted:
    return [(MAIN_PORT, batch)]


def check_columns(names: Iterable[str], available: Iterable[str], *, component: str, field: str) -> None:
    """Raise an EngineError naming the first of `names` that is not one of
    `available`, with the closest one as a suggestion."""
    available = list(available)
    for name in names:
        if name not in available:
            close = difflib.get_close_matches(name, available, n=1)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            raise EngineError(
                f"Unknown column {name!r}.{suggestion} The input has: {', '.join(available) or 'no columns'}.",
                component=component,
                field=field,
            )


class Component:
    """Common state: the component's name, its resolved config and the run's context."""

    def __init__(self, name: str, config: dict, ctx: RunContext):
        self.name = name
        self.config = config
        self.ctx = ctx

    @classmethod
    def check_config(cls, config: dict) -> list[tuple[str, str]]:
        """Semantic checks beyond the JSON Schema: `(field, message)` pairs."""
        return []

    @classmethod
    def check_inputs(cls, config: dict, inputs: list[str]) -> list[tuple[str, str]]:
        """Checks that need both the config and the input list."""
        return []

    def log(self, level: str, message: str) -> None:
        if self.ctx.log:
            self.ctx.log(level, self.name, message)

    def close(self) -> None:
        """Release files and connections; called once, success or not."""

    def input_columns(self, wanted: frozenset[str] | None, input_name: str) -> frozenset[str] | None:
        """The columns this component reads from input `input_name` when
        `wanted` are the columns read from its output (None: all of them).
        The run reads only those from file sources (projection pushdown,
        planning.py); None, the safe default, reads every column."""
        return None

    @contextmanager
    def evaluating(self, field: str, columns: Iterable[str], schema):
        """Errors of working on this data (`field` of the config, reading
        `columns` of an input with `schema`) in a user's words, with why a
        text column is text when its source noted it."""
        try:
            yield
        except pl.exceptions.PolarsError as error:
            problem = expressions.evaluation_error(error, component=self.name, field=field)
            raise with_text_reasons(problem, columns, schema, self.ctx.text_fallbacks) from None
        except EngineError as error:
            raise with_text_reasons(error, columns, schema, self.ctx.text_fallbacks) from None


class Source(Component):
    # Progress: `progress_done` of `progress_total` units (bytes for files,
    # rows for tables); total is None when unknown.
    progress_total: int | None = None
    progress_done: int = 0
    bytes_read: int = 0
    # Set by the run before `batches`: the columns read downstream (None: all;
    # planning.py). A source may read only these; reading more is never wrong.
    used_columns: frozenset[str] | None = None
    # Rows read from the source so far when a filter runs inside it (a
    # pushed-down predicate, see planning.py): more than the rows it yields.
    rows_scanned: int | None = None

    def batches(self) -> Iterator[pl.DataFrame]:
        raise NotImplementedError

    def new_state(self) -> dict | None:
        """An incremental source's state after this run (`watermark`, `files`),
        saved only once the sinks committed; None for a source that keeps none."""
        return None


# A blocking operator holds at most this much of its input in memory; past it
# the held batches go to a Parquet file, which Polars' streaming engine reads
# back when the input ends. In the benchmark's transform job (an aggregate
# over 1M and 5M rows), 16 MiB here and 10,000-row groups kept the peak
# flat (~265 MiB engine alone at both sizes; 64 MiB and whole-file row groups: 350 MiB at 5M). So an aggregate over more
# rows than fit in memory finishes, and peak memory stays flat in the input size.
SPILL_BYTES = 16 << 20
SPILL_ROW_GROUP = 10_000
# The column kept for the row count when an operator reads no column (`count(*)`).
ROW_MARKER = "_etl_row"


def only_columns(batch: pl.DataFrame, columns) -> pl.DataFrame:
    """`batch` with only `columns`, keeping its height when there are none."""
    if columns:
        return batch.select(list(columns))
    return pl.DataFrame({ROW_MARKER: pl.repeat(True, batch.height, eager=True)})


class Accumulator:
    """The batches a blocking operator (aggregate, sort, metric) holds until its
    input ends, spilled to disk past `spill_bytes` (see SPILL_BYTES), into a
    folder of `spill_root` (the system's temporary folder when None) that is
    reported to `temporaries` before it exists and once it is gone, so that a
    killed run's spill is removed like a sink's temporary file."""

    def __init__(
        self,
        spill_bytes: int = SPILL_BYTES,
        *,
        spill_root: str | None = None,
        temporaries: Tracker | None = None,
    ):
        self.spill_bytes = spill_bytes
        self.spill_root = spill_root or tempfile.gettempdir()
        self.temporaries = temporaries or Tracker()
        self.parts: list[pl.DataFrame] = []
        self.held_bytes = 0
        self.spilled: list[tuple[str, pl.Schema]] = []
        self.directory: Temporary | None = None

    @classmethod
    def for_run(cls, ctx: RunContext) -> Accumulator:
        return cls(ctx.spill_bytes or SPILL_BYTES, spill_root=ctx.spill_root, temporaries=ctx.temporaries)

    def add(self, batch: pl.DataFrame) -> None:
        self.parts.append(batch)
        self.held_bytes += batch.estimated_size()
        if self.held_bytes > self.spill_bytes:
            self._spill()

    def _spill(self) -> None:
        if self.directory is None:
            folder = spill_directory(self.spill_root)
            self.directory = Temporary(SPILL_DIRECTORY, str(folder))
            self.temporaries.making(self.directory)
            folder.mkdir(parents=True)
        path = f"{self.directory.name}/{len(self.spilled)}.parquet"
        data = pl.concat(self.parts, how="vertical_relaxed")
        # Parquet, not Arrow IPC: Polars memory-maps IPC files, and the mapped
        # pages it reads would count in the process's memory. Uncompressed:
        # a third faster to write than lz4; the files are temporary.
        # Small row groups: the streaming engine decodes a few row groups at a
        # time per thread, so their size sets the memory of reading back
        # (10,000 rows: about half of what 350,000-row groups took).
        data.write_parquet(path, compression="uncompressed", statistics=False, row_group_size=SPILL_ROW_GROUP)
        self.spilled.append((path, data.schema))
        self.parts = []
        self.held_bytes = 0

    def lazy(self) -> pl.LazyFrame:
        """Everything added so far, as a plan over the spilled files and the held batches."""
        # One scan per run of files with the same schema (usually all of them):
        # a scan of many files reads a few at a time, many scans all at once.
        frames = []
        for index, (path, schema) in enumerate(self.spilled):
            if index and schema == self.spilled[index - 1][1]:
                frames[-1][1].append(path)
            else:
                frames.append((schema, [path]))
        frames = [pl.scan_parquet(paths) for _schema, paths in frames]
        if self.parts:
            frames.append(pl.concat(self.parts, how="vertical_relaxed").lazy())
        return pl.concat(frames, how="vertical_relaxed") if frames else pl.LazyFrame()

    def take(self) -> pl.DataFrame:
        """Everything added so far as one frame, and forget it."""
        data = self.lazy().collect(engine="streaming") if self.spilled else self._held()
        self.parts = []
        self.spilled = []
        return data

    def _held(self) -> pl.DataFrame:
        return pl.concat(self.parts, how="vertical_relaxed") if self.parts else pl.DataFrame()

    def close(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory.name, ignore_errors=True)
            self.temporaries.gone(self.directory)
            self.directory = None


class Transform(Component):
    def process(self, batch: pl.DataFrame, input_name: str) -> Emitted:
        raise NotImplementedError

    def input_finished(self, input_name: str) -> Emitted:
        """One input has no more batches (a join releases its buffered left side here)."""
        return []

    def finish(self) -> Emitted:
        """Every input has finished: blocking transforms emit their result here."""
        return []


class BlockingTransform(Transform):
    """Holds every batch until its input ends; `finish` works on `self.buffer.take()`."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.buffer = Accumulator.for_run(ctx)

    def process(self, batch, input_name):
        self.buffer.add(batch)
        return []

    def close(self):
        self.buffer.close()


class Sink(Component):
    def write(self, batch: pl.DataFrame) -> None:
        raise NotImplementedError

    def making(self, temporary: Temporary) -> None:
        """Call before making a temporary object (see temporaries.py)."""
        self.ctx.temporaries.making(temporary)

    def gone(self, temporary: Temporary) -> None:
        """Call once a temporary object was swapped in or removed."""
        self.ctx.temporaries.gone(temporary)

    def prepare(self) -> None:
        """Do all the work that can still fail (merges, flushes) before any commit."""

    def commit(self) -> None:
        raise NotImplementedError

    def commit_evidence(self) -> dict | None:
        """What tells, after a killed run, whether this sink's commit happened
        (execution/engine/load_markers.py); None when nothing can."""
        return None

    def rollback(self) -> None:
        raise NotImplementedError


class MetricRecorder(Component):
    """Consumes batches and produces custom metrics: `{name, value, labels}` dicts."""

    def process(self, batch: pl.DataFrame, input_name: str) -> Emitted:
        raise NotImplementedError

    def input_finished(self, input_name: str) -> Emitted:
        return []

    def finish(self) -> Emitted:
        return []

    def metrics(self) -> list[dict]:
        raise NotImplementedError
