"""Schema validation: the one implementation, shared by the API and the engine.

A schema is a plain dict (Django-free on purpose):

    {"name": "flights",
     "fields": [{"name": "carrier", "type": "string", "required": True, "nullable": False,
                 "constraints": {"pattern": "^[A-Z0-9]{2}$"}}],
     "rules": [{"name": "times", "expression": "arr_time IS NULL OR dep_time IS NOT NULL",
                "message": "arrival without departure", "severity": "error"}]}

`compile_schema` checks the definition once (bad regex, unparsable rule,
minimum > maximum, enum values of the wrong type all raise SchemaDefinitionError
naming the field or rule) and returns a CompiledSchema whose checks are
vectorized Polars expressions: no Python runs per row, so a million rows take
well under a second.

Column values may arrive typed (Parquet, a database, JSON records) or as text
(CSV): text is parsed to the field's type, and a value that does not parse is a
`type` error. `required` means the column (or a record's key) must be present;
`nullable` whether a present value may be null. Rules are SQL boolean
expressions (the engine's expression compiler, execution/engine/expressions/)
evaluated on the typed values; a rule that evaluates to NULL passes, as in a
SQL CHECK constraint.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import polars as pl

from execution.engine import expressions
from execution.engine.schema_values import RECORD_DTYPES, TYPED_DTYPES, json_value, python_value, typed_value

FIELD_TYPES = ("string", "integer", "number", "decimal", "boolean", "date", "datetime", "time")
CONSTRAINTS = ("minimum", "maximum", "min_length", "max_length", "pattern", "enum", "format", "unique")
SEVERITIES = ("error", "warning")

# Anchored and deliberately plain: these decide "looks like an e-mail address"
# the same way in the API, the engine and the exports.
FORMAT_PATTERNS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$",
    "uuid": r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$",
}

_NUMERIC_TYPES = ("integer", "number", "decimal")
_ORDERED_TYPES = _NUMERIC_TYPES + ("date", "datetime", "time")
_REJECT_REASON = "_reject_reason"


class SchemaDefinitionError(ValueError):
    """The schema itself is wrong; `field` / `rule` say where."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        self.message = message
        self.field = field
        self.rule = rule
        where = f"field '{field}'" if field else f"rule '{rule}'" if rule else ""
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool
    nullable: bool
    constraints: dict  # values already converted to the field's Python type


@dataclass(frozen=True)
class RuleSpec:
    name: str
    expression: pl.Expr
    message: str
    severity: str


@dataclass(frozen=True)
class _Check:
    """One vectorized test: `violated` is True on rows that break it."""

    field: str | None
    rule: str
    message: str
    severity: str
    violated: pl.Expr
    show_value: bool = True


# --- compiling a schema --------------------------------------------------------


def compile_schema(schema: dict) -> "CompiledSchema":
    if not isinstance(schema, dict):
        raise SchemaDefinitionError("A schema must be an object with 'fields' (and optional 'rules').")
    raw_fields = schema.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise SchemaDefinitionError("A schema needs a non-empty 'fields' list.")
    fields = []
    for position, raw in enumerate(raw_fields, start=1):
        fields.append(_compile_field(raw, position))
    names = [f.name for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaDefinitionError("Field names must be unique.", field=duplicates[0])

    raw_rules = schema.get("rules") or []
    if not isinstance(raw_rules, list):
        raise SchemaDefinitionError("'rules' must be a list.")
    rules = [_compile_rule(raw, position, fields) for position, raw in enumerate(raw_rules, start=1)]
    rule_names = [r.name for r in rules]
    duplicates = sorted({n for n in rule_names if rule_names.count(n) > 1})
    if duplicates:
        raise SchemaDefinitionError("Rule names must be unique.", rule=duplicates[0])
    return CompiledSchema(name=str(schema.get("name") or ""), fields=tuple(fields), rules=tuple(rules))


def _compile_field(raw, position: int) -> FieldSpec:
    if not isinstance(raw, dict):
        raise SchemaDefinitionError(f"Field #{position} must be an object.")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemaDefinitionError(f"Field #{position} needs a non-empty 'name'.")
    type_ = raw.get("type", "string")
    if type_ not in FIELD_TYPES:
        raise SchemaDefinitionError(
            f"Unknown type {type_!r}; use one of: {', '.join(FIELD_TYPES)}.", field=name
        )
    for flag in ("required", "nullable"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise SchemaDefinitionError(f"'{flag}' must be true or false.", field=name)
    constraints = raw.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise SchemaDefinitionError("'constraints' must be an object.", field=name)
    return FieldSpec(
        name=name,
        type=type_,
        required=raw.get("required", False),
        nullable=raw.get("nullable", True),
        constraints=_compile_constraints(name, type_, constraints),
    )


def _compile_constraints(name: str, type_: str, raw: dict) -> dict:
    unknown = sorted(set(raw) - set(CONSTRAINTS))
    if unknown:
        raise SchemaDefinitionError(
            f"Unknown constraint {unknown[0]!r}; use: {', '.join(CONSTRAINTS)}.", field=name
        )
    out = {}
    for bound in ("minimum", "maximum"):
        if raw.get(bound) is not None:
            if type_ not in _ORDERED_TYPES:
                raise SchemaDefinitionError(
                    f"'{bound}' applies to {', '.join(_ORDERED_TYPES)} fields.", field=name
                )
            out[bound] = _constraint_value(name, type_, raw[bound], bound)
    if "minimum" in out and "maximum" in out and out["minimum"] > out["maximum"]:
        raise SchemaDefinitionError(
            f"minimum {raw['minimum']!r} is greater than maximum {raw['maximum']!r}.", field=name
        )
    for length in ("min_length", "max_length"):
        if raw.get(length) is not None:
            if type_ != "string":
                raise SchemaDefinitionError(f"'{length}' applies to string fields.", field=name)
            value = raw[length]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SchemaDefinitionError(f"'{length}' must be a whole number >= 0.", field=name)
            out[length] = value
    if "min_length" in out and "max_length" in out and out["min_length"] > out["max_length"]:
        raise SchemaDefinitionError(
            f"min_length {out['min_length']} is greater than max_length {out['max_length']}.", field=name
        )
    if raw.get("pattern") is not None:
        if type_ != "string":
            raise SchemaDefinitionError("'pattern' applies to string fields.", field=name)
        out["pattern"] = _checked_pattern(name, raw["pattern"])
    if raw.get("format") is not None:
        if type_ != "string":
            raise SchemaDefinitionError("'format' applies to string fields.", field=name)
        if raw["format"] not in FORMAT_PATTERNS:
            raise SchemaDefinitionError(
                f"Unknown format {raw['format']!r}; use one of: {', '.join(FORMAT_PATTERNS)}.", field=name
            )
        out["format"] = raw["format"]
    if raw.get("enum") is not None:
        values = raw["enum"]
        if not isinstance(values, list) or not values:
            raise SchemaDefinitionError("'enum' must be a non-empty list of allowed values.", field=name)
        out["enum"] = [_constraint_value(name, type_, value, "enum") for value in values]
    if raw.get("unique") is not None:
        if not isinstance(raw["unique"], bool):
            raise SchemaDefinitionError("'unique' must be true or false.", field=name)
        if raw["unique"]:
            out["unique"] = True
    return out


def _constraint_value(name: str, type_: str, value, constraint: str):
    """A constraint value converted to the field's Python type, or a clear error."""
    try:
        return python_value(type_, value)
    except (TypeError, ValueError):
        raise SchemaDefinitionError(
            f"'{constraint}' value {value!r} is not a valid {type_}.", field=name
        ) from None


def _checked_pattern(name: str, pattern) -> str:
    """The pattern must compile for Polars (which validates) and for Python's
    `re` (JSON Schema clients use an ECMA-like dialect: no Rust-only syntax)."""
    if not isinstance(pattern, str) or not pattern:
        raise SchemaDefinitionError("'pattern' must be a non-empty regular expression.", field=name)
    try:
        re.compile(pattern)
        pl.select(pl.lit("").str.contains(pattern).alias("probe"))
    except (re.error, pl.exceptions.PolarsError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise SchemaDefinitionError(
            f"'pattern' is not a valid regular expression: {first_line}", field=name
        ) from None
    return pattern


def _compile_rule(raw, position: int, fields: list[FieldSpec]) -> RuleSpec:
    if not isinstance(raw, dict):
        raise SchemaDefinitionError(f"Rule #{position} must be an object.")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemaDefinitionError(f"Rule #{position} needs a non-empty 'name'.")
    text = raw.get("expression")
    if not isinstance(text, str) or not text.strip():
        raise SchemaDefinitionError("'expression' must be a SQL boolean expression.", rule=name)
    severity = raw.get("severity", "error")
    if severity not in SEVERITIES:
        raise SchemaDefinitionError(f"'severity' must be one of: {', '.join(SEVERITIES)}.", rule=name)
    message = raw.get("message") or f"rule {name} failed"
    if not isinstance(message, str):
        raise SchemaDefinitionError("'message' must be text.", rule=name)
    try:
        checked = expressions.Expression(text, expressions.SCALAR)
    except expressions.ExpressionError as error:
        raise SchemaDefinitionError(str(error), rule=name) from None
    if checked.parsed.placeholders:
        raise SchemaDefinitionError("Schema rules take no ${parameters}; write the values.", rule=name)
    known = {f.name for f in fields}
    unknown = sorted(checked.columns - known)
    if unknown:
        raise SchemaDefinitionError(
            f"Unknown column {unknown[0]!r}; rules may use the schema's fields: {', '.join(sorted(known))}.",
            rule=name,
        )
    # Rules see typed values: type clashes (`carrier > 3`) and non-boolean
    # results are found here, and once more on an empty frame, before any data.
    typed_schema = {f.name: TYPED_DTYPES[f.type] for f in fields}
    try:
        expression = checked.polars(typed_schema)
        result = pl.DataFrame(schema=typed_schema).select(expression.alias("rule")).schema["rule"]
    except expressions.ExpressionError as error:
        raise SchemaDefinitionError(f"Cannot evaluate: {error}", rule=name) from None
    except pl.exceptions.PolarsError as error:
        problem = expressions.evaluation_error(error, component=None, field=None)
        raise SchemaDefinitionError(f"Cannot evaluate: {problem.message}", rule=name) from None
    if result != pl.Boolean:
        raise SchemaDefinitionError(f"Must be a boolean (true/false) expression, not {result}.", rule=name)
    return RuleSpec(name=name, expression=expression, message=message, severity=severity)


# --- validating data -----------------------------------------------------------


@dataclass(frozen=True)
class CompiledSchema:
    name: str
    fields: tuple[FieldSpec, ...]
    rules: tuple[RuleSpec, ...] = field(default=())

    def split(self, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(valid rows, rejected rows with a `_reject_reason` column), in input
        order and with the input's columns unchanged. Warnings keep the row."""
        checks, flags = self._flag(df)
        errors = [(_flag_name(i), check) for i, check in enumerate(checks) if check.severity == "error"]
        if not errors:
            return df, df.clear().with_columns(pl.lit("", pl.String).alias(_REJECT_REASON))
        invalid = flags.select(pl.any_horizontal(name for name, _ in errors)).to_series()
        # Reasons are built for the rejected rows only: usually few, and text is costly.
        reasons = pl.concat_str(
            [pl.when(pl.col(name)).then(pl.lit(_describe(check))) for name, check in errors],
            separator="; ",
            ignore_nulls=True,
        )
        reason = flags.filter(invalid).select(reasons.alias(_REJECT_REASON))
        return df.filter(~invalid), df.filter(invalid).hstack(reason)

    def errors(self, df: pl.DataFrame, limit: int = 1000, row_offset: int = 0) -> tuple[list[dict], int]:
        """Up to `limit` problems `{row, field, rule, message, severity}` in row
        order (rows count from 1 + row_offset), and the total number found."""
        report = self.report(df, limit=limit, row_offset=row_offset)
        return report["errors"], report["errors_total"] + report["warnings_total"]

    def report(self, df: pl.DataFrame, limit: int = 1000, row_offset: int = 0) -> dict:
        """Counts and capped problems: `{valid, invalid, errors_total, warnings_total, errors}`."""
        checks, flags = self._flag(df)
        return self._report(df, checks, flags, limit, row_offset)

    def report_records(self, records: list[dict], limit: int = 1000) -> dict:
        """Like `report` for JSON records, with JSON's own types: `"5"` is not an
        integer, a missing key breaks `required`, an explicit null `nullable`."""
        frame, masks = self._frame_from_records(records)
        checks, flags = self._flag(frame, masks)
        return self._report(frame, checks, flags, limit, 0, records=records)

    # -- internals --

    def _flag(self, df: pl.DataFrame, masks: dict | None = None) -> tuple[list["_Check"], pl.DataFrame]:
        """The checks for this frame's columns and a frame of one boolean column
        per check (True where the row breaks it), computed in one lazy query."""
        masks = masks or {}
        lf = df.lazy()
        if masks:
            lf = lf.with_columns(pl.lit(series).alias(name) for name, series in masks.items())
        typed, field_checks = [], []
        for spec in self.fields:
            if spec.name in df.columns:
                value = typed_value(pl.col(spec.name), df.schema[spec.name], spec.type)
                field_checks.extend(_field_checks(spec, masks))
            else:
                value = pl.lit(None, TYPED_DTYPES[spec.type])
                if spec.required:
                    field_checks.append(
                        _Check(spec.name, "required", "column is missing", "error", pl.lit(True), False)
                    )
            typed.append(value.alias(_typed_name(spec.name)))
        # Rules see the typed values under the field names.
        rule_checks = [
            _Check(None, r.name, r.message, r.severity, (~r.expression).fill_null(False), False)
            for r in self.rules
        ]
        checks = field_checks + rule_checks
        names = [_flag_name(i) for i in range(len(checks))]
        lf = (
            lf.with_columns(typed)
            .with_columns(c.violated.alias(n) for c, n in zip(field_checks, names, strict=False))
            .with_columns(pl.col(_typed_name(spec.name)).alias(spec.name) for spec in self.fields)
            .with_columns(
                c.violated.alias(n) for c, n in zip(rule_checks, names[len(field_checks) :], strict=True)
            )
            .select(names)
        )
        return checks, lf.collect()

    def _report(self, df, checks, flags, limit: int, row_offset: int, records=None) -> dict:
        total_rows = df.height
        names = flags.columns
        error_names = [n for n, c in zip(names, checks, strict=True) if c.severity == "error"]
        if not names or total_rows == 0:
            return {"valid": total_rows, "invalid": 0, "errors_total": 0, "warnings_total": 0, "errors": []}
        sums = flags.select(pl.col(names).sum()).row(0)
        invalid = flags.select(pl.any_horizontal(error_names).sum()).item() if error_names else 0
        errors_total = sum(s for s, c in zip(sums, checks, strict=True) if c.severity == "error")
        return {
            "valid": total_rows - invalid,
            "invalid": invalid,
            "errors_total": errors_total,
            "warnings_total": sum(sums) - errors_total,
            "errors": self._first_problems(df, checks, flags, limit, row_offset, records),
        }

    def _first_problems(self, df, checks, flags, limit: int, row_offset: int, records) -> list[dict]:
        if limit <= 0:
            return []
        names = flags.columns
        # Each flagged row has at least one problem, so `limit` rows are enough.
        flagged = flags.with_row_index("_row").filter(pl.any_horizontal(names)).head(limit)
        # Messages quote the value as the user sent it (a record's own JSON value).
        if records is not None:
            values = [records[index] for index in flagged["_row"]]
        else:
            shown = [f.name for f in self.fields if f.name in df.columns]
            values = df[flagged["_row"]].select(shown).to_dicts() if shown else [{}] * flagged.height
        problems = []
        for row_flags, row_values in zip(flagged.iter_rows(), values, strict=True):
            row_number = row_flags[0] + 1 + row_offset
            for check, hit in zip(checks, row_flags[1:], strict=True):
                if not hit:
                    continue
                message = check.message
                if check.show_value:
                    message = f"{row_values.get(check.field)!r} {message}"
                problems.append(
                    {
                        "row": row_number,
                        "field": check.field,
                        "rule": check.rule,
                        "message": message,
                        "severity": check.severity,
                    }
                )
                if len(problems) == limit:
                    return problems
        return problems

    def _frame_from_records(self, records: list[dict]) -> tuple[pl.DataFrame, dict]:
        """Columns of the declared fields, with JSON types enforced in Python
        (API payloads are small; the engine passes typed frames instead).
        Masks mark keys that were absent and values of the wrong JSON type."""
        columns, masks = {}, {}
        for spec in self.fields:
            values, absent, wrong = [], [], []
            for record in records:
                present = spec.name in record
                converted, ok = json_value(spec.type, record[spec.name]) if present else (None, True)
                values.append(converted)
                absent.append(not present)
                wrong.append(not ok)
            columns[spec.name] = pl.Series(spec.name, values, dtype=RECORD_DTYPES[spec.type])
            if any(absent):
                masks[_missing_name(spec.name)] = pl.Series(absent, dtype=pl.Boolean)
            if any(wrong):
                masks[_wrong_type_name(spec.name)] = pl.Series(wrong, dtype=pl.Boolean)
        return pl.DataFrame(columns, height=len(records)), masks


# Internal column names, prefixed so they cannot clash with a user's field.
def _typed_name(name: str) -> str:
    return f"__etl_typed__{name}"


def _missing_name(name: str) -> str:
    return f"__etl_missing__{name}"


def _wrong_type_name(name: str) -> str:
    return f"__etl_wrong_type__{name}"


def _flag_name(index: int) -> str:
    return f"__etl_check_{index}"


def _describe(check: _Check) -> str:
    return f"{check.field}: {check.message}" if check.field else f"{check.rule}: {check.message}"


def _field_checks(spec: FieldSpec, masks: dict) -> list[_Check]:
    name, c = spec.name, spec.constraints
    raw, value = pl.col(name), pl.col(_typed_name(name))
    wrong_type = raw.is_not_null() & value.is_null()
    is_null = raw.is_null()
    if _wrong_type_name(name) in masks:
        wrong_type = wrong_type | pl.col(_wrong_type_name(name))
        is_null = is_null & ~pl.col(_wrong_type_name(name))
    checks = [_Check(name, "type", f"is not a valid {spec.type}", "error", wrong_type)]
    if _missing_name(name) in masks:
        absent = pl.col(_missing_name(name))
        if spec.required:
            checks.append(
                _Check(name, "required", "is missing (the field is required)", "error", absent, False)
            )
        is_null = is_null & ~absent
    if not spec.nullable:
        checks.append(_Check(name, "nullable", "must not be null", "error", is_null, False))

    def add(rule, message, violated):
        checks.append(_Check(name, rule, message, "error", violated.fill_null(False)))

    if "minimum" in c:
        add("minimum", f"is less than the minimum {_show(c['minimum'])}", value < pl.lit(c["minimum"]))
    if "maximum" in c:
        add("maximum", f"is greater than the maximum {_show(c['maximum'])}", value > pl.lit(c["maximum"]))
    if "min_length" in c:
        add(
            "min_length",
            f"is shorter than {c['min_length']} characters",
            value.str.len_chars() < c["min_length"],
        )
    if "max_length" in c:
        add(
            "max_length",
            f"is longer than {c['max_length']} characters",
            value.str.len_chars() > c["max_length"],
        )
    if "pattern" in c:
        add("pattern", f"does not match {c['pattern']}", ~value.str.contains(c["pattern"]))
    if "format" in c:
        add("format", f"is not a valid {c['format']}", ~value.str.contains(FORMAT_PATTERNS[c["format"]]))
    if "enum" in c:
        allowed = pl.Series(c["enum"], dtype=TYPED_DTYPES[spec.type])
        shown = ", ".join(_show(v) for v in c["enum"])
        add("enum", f"is not one of: {shown}", ~value.is_in(allowed.implode()))
    if c.get("unique"):
        add(
            "unique", "is a duplicate (the field is unique)", value.is_not_null() & ~value.is_first_distinct()
        )
    return checks


def _show(value) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.time)) else repr(value)
