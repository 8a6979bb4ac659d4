"""Transforms: row-wise ones stream batch by batch; sort, aggregate and the
build (right) side of a join accumulate their input first."""

import polars as pl

from execution.engine import expressions
from execution.engine.components import partial_aggregates
from execution.engine.components.base import (
    Accumulator,
    BlockingTransform,
    Transform,
    boolean,
    check_columns,
    choice,
    config_schema,
    integer,
    main,
    names,
    only_columns,
    string,
)
from execution.engine.errors import EngineError
from execution.engine.graph import split_input
from execution.engine.placeholders import has_placeholder
from execution.engine.registry import TRANSFORM, register
from execution.engine.types import TYPE_NAME_SCHEMA, UnknownTypeName, cast_expression, polars_type

POLARS_ERRORS = (pl.exceptions.PolarsError,)


@register(
    "filter",
    kind=TRANSFORM,
    summary="Keep the rows where a SQL condition is true.",
    config_schema=config_schema(
        {"where": string("SQL condition, e.g. `dep_time IS NOT NULL AND carrier = 'AA'`.", minLength=1)},
        required=("where",),
    ),
    example={"where": "dep_delay > 0"},
    expression_fields={"where": expressions.CONDITION},
)
class Filter(Transform):
    """Rows where the condition is false or NULL are dropped."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.condition = expressions.compile_field(
            config["where"], expressions.CONDITION, component=name, field="config.where", values=ctx.values
        )

    def process(self, batch, input_name):
        with self.evaluating("config.where", self.condition.columns, batch.schema):
            condition = expressions.build_for(
                self.condition, batch.schema, component=self.name, field="config.where"
            )
            return main(batch.filter(condition))

    def lazy(self, frame: pl.LazyFrame, schema: pl.Schema) -> tuple[pl.LazyFrame, pl.Schema]:
        """This filter as a step of a fused plan (fusion.py)."""
        with self.evaluating("config.where", self.condition.columns, schema):
            condition = expressions.build_for(
                self.condition, schema, component=self.name, field="config.where"
            )
        return frame.filter(condition), schema

    def input_columns(self, wanted, input_name):
        return None if wanted is None else wanted | self.condition.columns


@register(
    "derive",
    kind=TRANSFORM,
    summary="Add or replace columns computed by SQL expressions.",
    config_schema=config_schema(
        {
            "columns": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string", "minLength": 1},
                "description": "New column name -> SQL expression; later ones may use earlier ones.",
            }
        },
        required=("columns",),
    ),
    example={"columns": {"delay_hours": "dep_delay / 60.0", "carrier_lower": "lower(carrier)"}},
    expression_fields={"columns.*": expressions.SCALAR},
)
class Derive(Transform):
    """Each expression is evaluated in order, so a column may use one derived before it."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.columns = [
            (
                column,
                f"config.columns.{column}",
                expressions.compile_field(
                    text,
                    expressions.SCALAR,
                    component=name,
                    field=f"config.columns.{column}",
                    values=ctx.values,
                ),
            )
            for column, text in config["columns"].items()
        ]

    def process(self, batch, input_name):
        for column, field, expression in self.columns:
            with self.evaluating(field, expression.columns, batch.schema):
                built = expressions.build_for(expression, batch.schema, component=self.name, field=field)
                batch = batch.with_columns(built.alias(column))
        return main(batch)

    def lazy(self, frame: pl.LazyFrame, schema: pl.Schema) -> tuple[pl.LazyFrame, pl.Schema]:
        """This derive as steps of a fused plan: the schema after each column
        types the next expression, as in `process`."""
        for column, field, expression in self.columns:
            with self.evaluating(field, expression.columns, schema):
                built = expressions.build_for(expression, schema, component=self.name, field=field)
                frame = frame.with_columns(built.alias(column))
                schema = frame.collect_schema()
        return frame, schema

    def input_columns(self, wanted, input_name):
        if wanted is None:
            return None
        needed = set(wanted)
        # Backwards: a column derived here is not read from the input (unless
        # an expression reads it), an expression's columns are.
        for column, _field, expression in reversed(self.columns):
            needed.discard(column)
            needed |= expression.columns
        return frozenset(needed)


@register(
    "select",
    kind=TRANSFORM,
    summary="Pick, rename and cast columns.",
    config_schema=config_schema(
        {
            "columns": names("Columns to keep, in this order (default: all)."),
            "rename": {
                "type": "object",
                "additionalProperties": {"type": "string", "minLength": 1},
                "description": "Old name -> new name, applied after picking.",
            },
            "cast": {
                "type": "object",
                "additionalProperties": TYPE_NAME_SCHEMA,
                "description": "Column (new name) -> type; a value that does not convert fails the run.",
            },
        }
    ),
    example={
        "columns": ["carrier", "dep_delay"],
        "rename": {"dep_delay": "delay"},
        "cast": {"delay": "float"},
    },
)
class Select(Transform):
    """Picks `columns`, then renames, then casts (strictly: a value that does not convert is an error)."""

    @classmethod
    def check_config(cls, config):
        problems = []
        for column, type_name in (config.get("cast") or {}).items():
            try:
                polars_type(type_name)
            except UnknownTypeName as error:
                problems.append((f"cast.{column}", str(error)))
        return problems

    def process(self, batch, input_name):
        frame, _schema = self.lazy(batch.lazy(), batch.schema)
        with self.evaluating("config.cast", self.config.get("cast") or {}, batch.schema):
            return main(frame.collect())

    def lazy(self, frame: pl.LazyFrame, schema: pl.Schema) -> tuple[pl.LazyFrame, pl.Schema]:
        """Pick, rename, cast: on its own (`process`) or as steps of a fused plan."""
        columns = self.config.get("columns")
        rename = self.config.get("rename") or {}
        cast = {
            column: polars_type(type_name) for column, type_name in (self.config.get("cast") or {}).items()
        }
        names = list(schema.names())
        if columns:
            check_columns(columns, names, component=self.name, field="config.columns")
            frame = frame.select(columns)
            names = list(columns)
        check_columns(rename, names, component=self.name, field="config.rename")
        if rename:
            frame = frame.rename(rename)
        schema = frame.collect_schema()
        check_columns(cast, schema.names(), component=self.name, field="config.cast")
        with self.evaluating("config.cast", cast, schema):
            conversions = [cast_expression(column, schema[column], dtype) for column, dtype in cast.items()]
            if conversions:
                frame = frame.with_columns(conversions)
                schema = frame.collect_schema()
        return frame, schema

    def input_columns(self, wanted, input_name):
        if self.config.get("columns"):
            return frozenset(self.config["columns"])
        if wanted is None:
            return None
        rename = self.config.get("rename") or {}
        old_name = {new: old for old, new in rename.items()}
        cast = self.config.get("cast") or {}
        return frozenset({old_name.get(c, c) for c in [*wanted, *cast]} | set(rename))


@register(
    "dedupe",
    kind=TRANSFORM,
    summary="Drop repeated rows (by key columns), keeping the first seen.",
    config_schema=config_schema({"keys": names("Columns that identify a row (default: all columns).")}),
    example={"keys": ["flight_id"]},
)
class Dedupe(Transform):
    """Streams: remembers the keys seen so far (memory grows with distinct keys,
    not with rows) and passes on each key's first row in input order."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.seen: pl.DataFrame | None = None

    def input_columns(self, wanted, input_name):
        keys = self.config.get("keys")
        return None if wanted is None or not keys else wanted | set(keys)

    def process(self, batch, input_name):
        keys = self.config.get("keys") or batch.columns
        check_columns(keys, batch.columns, component=self.name, field="config.keys")
        with self.evaluating("config.keys", keys, batch.schema):
            fresh = batch.unique(subset=keys, keep="first", maintain_order=True)
            if self.seen is not None:
                fresh = fresh.join(self.seen, on=keys, how="anti", nulls_equal=True, maintain_order="left")
        new_keys = fresh.select(keys)
        self.seen = new_keys if self.seen is None else pl.concat([self.seen, new_keys])
        return main(fresh)


@register(
    "aggregate",
    kind=TRANSFORM,
    summary="Group rows and compute SQL aggregates (count, count distinct, sum, avg, min, max, ...).",
    config_schema=config_schema(
        {
            "group_by": names("Grouping columns (empty: one row for the whole input)."),
            "aggregates": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string", "minLength": 1},
                "description": "Output column -> SQL aggregate, e.g. `count(*)`, `avg(arr_delay)`.",
            },
        },
        required=("aggregates",),
    ),
    example={"group_by": ["carrier"], "aggregates": {"n": "count(*)", "avg_delay": "avg(arr_delay)"}},
    blocking=True,
    expression_fields={"aggregates.*": expressions.AGGREGATE},
)
class Aggregate(BlockingTransform):
    """Blocking: collects its input, then groups it; groups come out sorted
    by the grouping columns (NULLs last). When every aggregate combines from
    partial results (count, sum, min, max, avg: partial_aggregates.py), each
    batch is grouped as it arrives and only its groups are held."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.group_by = config.get("group_by") or []
        self.aggregates = {
            alias: expressions.compile_field(
                text,
                expressions.AGGREGATE,
                component=name,
                field=f"config.aggregates.{alias}",
                values=ctx.values,
            )
            for alias, text in config["aggregates"].items()
        }
        # Batches grouped as they arrive, while this stays true; the partial
        # results are held in `partials`, batches held whole in `buffer`.
        self.batchwise = partial_aggregates.combinable(self.aggregates)
        self.partials = Accumulator.for_run(ctx)
        self.partial_schema: pl.Schema | None = None

    def input_columns(self, wanted, input_name):
        return frozenset(self.group_by).union(*(e.columns for e in self.aggregates.values()))

    def process(self, batch, input_name):
        # Only the columns the aggregates read are held (and spilled past
        # SPILL_BYTES); a batch missing one is held whole, so that the error
        # at the end lists the input's real columns as it always did.
        read = self.input_columns(None, input_name)
        if not read <= set(batch.columns):
            self.buffer.add(batch)
            return []
        held = only_columns(batch, read)
        if self.batchwise and self.partial_schema in (None, held.schema):
            partial = self._partial(held)
            if partial is not None:
                self.partials.add(partial)
                self.partial_schema = held.schema
                # Keys nearly unique within a batch: grouping each saves next to
                # nothing, so the rest of the input is held as it comes.
                if self.group_by and held.height >= 1000 and partial.height * 2 > held.height:
                    self.batchwise = False
                return []
        # From the first batch that is not grouped on arrival (another
        # schema, an error to report at the end), the rest is held whole.
        self.batchwise = False
        self.buffer.add(held)
        return []

    def _partial(self, held: pl.DataFrame) -> pl.DataFrame | None:
        """The batch's groups, or None when building or evaluating the parts
        fails: the batch is then held whole and the error is reported at
        the end, as for any aggregate."""
        try:
            parts = partial_aggregates.parts_for(self.aggregates, held.schema)
            return partial_aggregates.grouped(held.lazy(), self.group_by, parts.partial).collect()
        except (expressions.ExpressionError, *POLARS_ERRORS):
            return None

    def finish(self):
        if self.partial_schema is None:
            return self._finish_whole(self.buffer.lazy())
        frames, schema = [self.partials.lazy()], self.partial_schema
        if self.buffer.parts or self.buffer.spilled:
            # Batches held whole after grouping stopped: checked as any input
            # (their errors), then grouped like the others.
            whole = self.buffer.lazy()
            whole_schema = whole.collect_schema()
            self._built(whole_schema)
            parts = partial_aggregates.parts_for(self.aggregates, whole_schema)
            frames.append(partial_aggregates.grouped(whole, self.group_by, parts.partial))
            schema = pl.concat(
                [pl.DataFrame(schema=schema), pl.DataFrame(schema=whole_schema)], how="vertical_relaxed"
            ).schema
        # The types the aggregates give on the whole input.
        types = partial_aggregates.grouped(
            pl.LazyFrame(schema=schema), self.group_by, self._built(schema)
        ).collect_schema()
        combined = [
            expression.cast(types[alias])
            for alias, expression in zip(
                self.aggregates, partial_aggregates.parts_for(self.aggregates, schema).combined, strict=True
            )
        ]
        read = {column for expression in self.aggregates.values() for column in expression.columns}
        with self.evaluating("config.aggregates", read, schema):
            plan = partial_aggregates.grouped(
                pl.concat(frames, how="vertical_relaxed"), self.group_by, combined
            )
            if self.group_by:
                plan = plan.sort(self.group_by, nulls_last=True, maintain_order=True)
            return main(plan.collect(engine="streaming"))

    def _built(self, schema: pl.Schema) -> list[pl.Expr]:
        """The aggregates for an input of `schema`; a missing group column or
        an expression that does not fit the input is an error naming its field."""
        check_columns(self.group_by, schema.names(), component=self.name, field="config.group_by")
        results = []
        for alias, expression in self.aggregates.items():
            with self.evaluating(f"config.aggregates.{alias}", expression.columns, schema):
                built = expressions.build_for(
                    expression, schema, component=self.name, field=f"config.aggregates.{alias}"
                )
            results.append(built.alias(alias))
        return results

    def _finish_whole(self, data: pl.LazyFrame):
        schema = data.collect_schema()
        results = self._built(schema)
        read = {column for expression in self.aggregates.values() for column in expression.columns}
        with self.evaluating("config.aggregates", read, schema):
            # Polars' streaming engine: the held (or spilled) input is read in
            # morsels and grouped on every core, not concatenated first.
            if not self.group_by:
                return main(data.select(results).collect(engine="streaming"))
            grouped = data.group_by(self.group_by).agg(results)
            plan = grouped.sort(self.group_by, nulls_last=True, maintain_order=True)
            return main(plan.collect(engine="streaming"))

    def close(self):
        super().close()
        self.partials.close()


JOIN_KEY = {
    "anyOf": [
        {"type": "string", "minLength": 1, "description": "A column with the same name on both sides."},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["left", "right"],
            "properties": {
                "left": {"type": "string", "minLength": 1},
                "right": {"type": "string", "minLength": 1},
            },
            "description": "A left column matched to a differently named right column.",
        },
    ]
}


@register(
    "join",
    kind=TRANSFORM,
    summary="Join two inputs on key columns (inner, left, anti, semi).",
    config_schema=config_schema(
        {
            "right": string(
                "Name of the input component that is the right-hand side (must be in `inputs`).", minLength=1
            ),
            "on": {
                "type": "array",
                "minItems": 1,
                "items": JOIN_KEY,
                "description": 'Join keys: column names, or {"left": ..., "right": ...} pairs.',
            },
            "how": choice("Join kind (default inner).", ["inner", "left", "anti", "semi"]),
            "suffix": string(
                "Appended to right columns whose name clashes with a left one (default `_right`)."
            ),
        },
        required=("right", "on"),
    ),
    example={"right": "carriers", "on": [{"left": "carrier", "right": "code"}], "how": "left"},
    min_inputs=2,
    max_inputs=2,
    blocking=True,
)
class Join(Transform):
    """The input named by `right` is the build side: it is collected whole. The
    other input streams through, joined batch by batch (left rows that arrive
    before the right side is complete wait for it). NULL keys never match."""

    @classmethod
    def check_inputs(cls, config, inputs):
        right = config.get("right")
        if has_placeholder(right):
            return []
        if right not in inputs:
            return [("right", f"{right!r} must be one of this component's inputs ({', '.join(inputs)}).")]
        if len(inputs) == 2 and inputs[0] == inputs[1]:
            return [
                (
                    "inputs",
                    "The two inputs must differ; to join a component with itself, add a select in between.",
                )
            ]
        return []

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.right_input = config["right"]
        self.left_on = [key if isinstance(key, str) else key["left"] for key in config["on"]]
        self.right_on = [key if isinstance(key, str) else key["right"] for key in config["on"]]
        self.right_parts: list[pl.DataFrame] = []
        self.right: pl.DataFrame | None = None
        self.waiting_left: list[pl.DataFrame] = []

    def input_columns(self, wanted, input_name):
        if wanted is None:
            return None
        if self.config.get("how") in ("semi", "anti"):
            # The output is the left side's columns; the right side gives only keys.
            if input_name == self.right_input:
                return frozenset(self.right_on)
            return wanted | set(self.left_on)
        # `v_right` comes from a right `v` that clashes with a left `v`: both
        # sides read `v` (the left side keeps every name the right side keeps,
        # so the clash, and the suffix, stay). The suffixed name itself is
        # not asked of either side, which would then read every column.
        suffix = self.config.get("suffix", "_right")
        suffixed = {c for c in wanted if c.endswith(suffix)}
        right = (wanted - suffixed) | {c.removesuffix(suffix) for c in suffixed} | set(self.right_on)
        if input_name == self.right_input:
            return frozenset(right)
        return frozenset(right | set(self.left_on))

    def process(self, batch, input_name):
        if input_name == self.right_input:
            self.right_parts.append(batch)
            return []
        if self.right is None:
            self.waiting_left.append(batch)
            return []
        return main(self._join(batch))

    def input_finished(self, input_name):
        if input_name != self.right_input:
            return []
        self.right = (
            pl.concat(self.right_parts, how="vertical_relaxed") if self.right_parts else pl.DataFrame()
        )
        self.right_parts = []
        waiting, self.waiting_left = self.waiting_left, []
        return [out for batch in waiting for out in main(self._join(batch))]

    def _join(self, left: pl.DataFrame) -> pl.DataFrame:
        check_columns(self.left_on, left.columns, component=self.name, field="config.on")
        check_columns(self.right_on, self.right.columns, component=self.name, field="config.on")
        keys = self.left_on + self.right_on
        with self.evaluating("config.on", keys, {**self.right.schema, **left.schema}):
            return left.join(
                self.right,
                left_on=self.left_on,
                right_on=self.right_on,
                how=self.config.get("how", "inner"),
                suffix=self.config.get("suffix", "_right"),
                maintain_order="left",
            )


@register(
    "sort",
    kind=TRANSFORM,
    summary="Sort all rows by columns.",
    config_schema=config_schema(
        {
            "by": names("Sort columns, most significant first.", min_items=1),
            "descending": {
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "array", "items": {"type": "boolean"}},
                    {"type": "string", "pattern": r"^\$\{[^}]+\}$"},
                ],
                "description": "One flag for all columns, or one per column (default false).",
            },
        },
        required=("by",),
    ),
    example={"by": ["carrier", "dep_time"], "descending": [False, True]},
    blocking=True,
)
class Sort(BlockingTransform):
    """Blocking: collects its input, sorts it (stable; NULLs last), emits it in batches."""

    @classmethod
    def check_config(cls, config):
        descending = config.get("descending")
        if isinstance(descending, list) and len(descending) != len(config["by"]):
            return [("descending", f"Give one flag per column of `by` ({len(config['by'])}).")]
        return []

    def input_columns(self, wanted, input_name):
        return None if wanted is None else wanted | set(self.config["by"])

    def finish(self):
        held = self.buffer.lazy()
        schema = held.collect_schema()
        check_columns(self.config["by"], schema.names(), component=self.name, field="config.by")
        with self.evaluating("config.by", self.config["by"], schema):
            # The sorted rows are emitted from memory; the input before it
            # may have been spilled (base.SPILL_BYTES).
            data = held.sort(
                self.config["by"],
                descending=self.config.get("descending", False),
                nulls_last=True,
                maintain_order=True,
            ).collect(engine="streaming")
        size = self.ctx.batch_size
        if data.height == 0:
            return main(data)
        return [out for offset in range(0, data.height, size) for out in main(data.slice(offset, size))]


@register(
    "limit",
    kind=TRANSFORM,
    summary="Pass on only the first n rows.",
    config_schema=config_schema({"n": integer("How many rows to keep.", minimum=0)}, required=("n",)),
    example={"n": 1000},
)
class Limit(Transform):
    """Streams the first `n` rows in input order and drops the rest."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.remaining = config["n"]

    def input_columns(self, wanted, input_name):
        return wanted

    def process(self, batch, input_name):
        kept = batch.head(self.remaining)
        self.remaining -= kept.height
        return main(kept)


@register(
    "union",
    kind=TRANSFORM,
    summary="Concatenate two or more inputs with the same columns (matched by name).",
    config_schema=config_schema(
        {"distinct": boolean("Drop duplicate rows across all inputs (default false).")},
    ),
    example={},
    min_inputs=2,
    max_inputs=None,
)
class Union(Transform):
    """Streams every input's batches through, columns in the first input's order.
    Inputs must have the same column names; later inputs are cast to the first
    input's column types."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.schema: pl.Schema | None = None
        self.seen: pl.DataFrame | None = None

    def process(self, batch, input_name):
        if self.schema is None:
            self.schema = batch.schema
        elif set(batch.columns) != set(self.schema.names()):
            raise EngineError(
                f"Input {split_input(input_name)[0]!r} has columns {batch.columns}, "
                f"but the first input has {self.schema.names()}; add a select to align them.",
                component=self.name,
                field="inputs",
            )
        else:
            batch = self._conform(batch)
        if self.config.get("distinct"):
            batch = batch.unique(keep="first", maintain_order=True)
            if self.seen is not None:
                batch = batch.join(
                    self.seen, on=batch.columns, how="anti", nulls_equal=True, maintain_order="left"
                )
            self.seen = batch if self.seen is None else pl.concat([self.seen, batch], how="vertical_relaxed")
        return main(batch)

    def _conform(self, batch):
        batch = batch.select(self.schema.names())
        casts = {}
        for column, dtype in self.schema.items():
            if batch.schema[column] != dtype and dtype != pl.Null:
                casts[column] = dtype
        try:
            return batch.cast(casts) if casts else batch
        except POLARS_ERRORS as error:
            problem = expressions.evaluation_error(error, component=self.name, field="inputs")
            raise EngineError(
                f"Cannot combine column types: {problem.message}", component=self.name, field="inputs"
            ) from None
