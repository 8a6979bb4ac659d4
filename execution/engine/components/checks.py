"""`validate` (rows against a schema, rejects on a second port) and `metric`
(a custom metric per run)."""

from execution.engine import expressions
from execution.engine.components.base import (
    Accumulator,
    MetricRecorder,
    Transform,
    check_columns,
    choice,
    config_schema,
    integer,
    only_columns,
    string,
)
from execution.engine.errors import EngineError
from execution.engine.registry import MAIN_PORT, METRIC, TRANSFORM, register
from execution.engine.validation import SchemaDefinitionError, compile_schema

REJECTS_PORT = "rejects"
REASON_COLUMN = "_reject_reason"
# Added only to name the failing record; the schema's checks ignore unknown columns.
_ROW_INDEX = "_etl_record_index"


@register(
    "validate",
    kind=TRANSFORM,
    summary="Check rows against a schema; invalid rows go to `<name>.rejects` or fail the run.",
    config_schema=config_schema(
        {
            "schema": string("Name of the schema (see /api/v1/schemas/) the rows must satisfy.", minLength=1),
            "version": integer(
                "Pin a saved version of the schema (default: its current version).", minimum=1
            ),
            "on_invalid": choice(
                "`reject` (default): invalid rows go to the rejects port; `fail`: the run fails.",
                ["reject", "fail"],
            ),
        },
        required=("schema",),
    ),
    example={"schema": "flights", "on_invalid": "reject"},
    outputs=(MAIN_PORT, REJECTS_PORT),
)
class Validate(Transform):
    """Rejected rows keep their columns and gain `_reject_reason`. Use
    `"<name>.rejects"` as another component's input to keep them."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        schema_name = config["schema"]
        if schema_name not in ctx.schemas:
            raise EngineError(
                f"Unknown schema {schema_name!r}; define it under /api/v1/schemas/ first.",
                component=name,
                field="config.schema",
            )
        try:
            self.compiled = compile_schema(ctx.schemas[schema_name])
        except SchemaDefinitionError as error:
            raise EngineError(
                f"Schema {schema_name!r} is not usable: {error}", component=name, field="config.schema"
            ) from None

    rows_seen = 0

    def process(self, batch, input_name):
        valid, rejected = self.compiled.split(batch)
        if rejected.height and self.config.get("on_invalid", "reject") == "fail":
            raise self._invalid_record(batch, rejected.height)
        self.rows_seen += batch.height
        return [(MAIN_PORT, valid), (REJECTS_PORT, rejected)]

    def _invalid_record(self, batch, invalid_rows) -> EngineError:
        """Name the first invalid record (counting from 1 over this component's input) and why."""
        _, rejected = self.compiled.split(batch.with_row_index(_ROW_INDEX))
        index = rejected[_ROW_INDEX][0]
        record = self.rows_seen + index + 1
        # The detailed report of that one row quotes the offending values.
        problems, _ = self.compiled.errors(batch.slice(index, 1))
        reason = "; ".join(
            f"{p['field']}: {p['message']}" if p["field"] else p["message"]
            for p in problems
            if p["severity"] == "error"
        )
        others = f" ({invalid_rows - 1} more invalid in the same batch)" if invalid_rows > 1 else ""
        return EngineError(
            f"Breaks schema {self.config['schema']!r}: {reason}{others}. "
            "Set `on_invalid: reject` to send invalid rows to the rejects port instead.",
            component=self.name,
            location=f"input record {record}",
        )


@register(
    "metric",
    kind=METRIC,
    summary="Record a custom metric for the run: a SQL aggregate over the input, with labels.",
    config_schema=config_schema(
        {
            "name": string("Metric name (letters, digits, _).", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
            "value": string("SQL aggregate over the input, e.g. `sum(amount)` or `count(*)`.", minLength=1),
            "labels": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Fixed labels attached to the value.",
            },
        },
        required=("name", "value"),
    ),
    example={"name": "late_flights", "value": "count(*)", "labels": {"airport": "JFK"}},
    outputs=(),
    expression_fields={"value": expressions.AGGREGATE},
)
class Metric(MetricRecorder):
    """Keeps only the columns the expression uses, and evaluates it once the
    input is exhausted. A NULL result (e.g. sum of nothing) is recorded as null."""

    def __init__(self, name, config, ctx):
        super().__init__(name, config, ctx)
        self.expression = expressions.compile_field(
            config["value"], expressions.AGGREGATE, component=name, field="config.value", values=ctx.values
        )
        self.columns = sorted(self.expression.columns)
        self.buffer = Accumulator.for_run(ctx)
        self.value = None

    def process(self, batch, input_name):
        check_columns(self.columns, batch.columns, component=self.name, field="config.value")
        self.buffer.add(only_columns(batch, self.columns))
        return []

    def input_columns(self, wanted, input_name):
        return frozenset(self.columns)

    def close(self):
        self.buffer.close()

    def finish(self):
        data = self.buffer.take()
        with self.evaluating("config.value", self.columns, data.schema):
            value = expressions.build_for(
                self.expression, data.schema, component=self.name, field="config.value"
            )
            result = data.select(value.alias("value"))
        value = result.item(0, 0)
        self.value = float(value) if value is not None and not isinstance(value, bool) else value
        return []

    def metrics(self):
        return [
            {
                "name": self.config["name"],
                "value": self.value,
                "labels": dict(self.config.get("labels") or {}),
            }
        ]
