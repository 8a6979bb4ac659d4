"""The Django-free validator (execution/engine/validation.py) on tiny literal tables."""

import polars as pl
import pytest

from execution.engine.validation import SchemaDefinitionError, compile_schema


def schema(*fields, rules=()):
    return {"name": "t", "fields": list(fields), "rules": list(rules)}


def problems(compiled, df):
    errors, _ = compiled.errors(df)
    return [(e["row"], e["field"], e["rule"]) for e in errors]


def test_it_splits_valid_and_rejected_rows_keeping_the_input_columns():
    compiled = compile_schema(schema({"name": "n", "type": "integer", "constraints": {"minimum": 0}}))
    valid, rejected = compiled.split(pl.DataFrame({"n": [1, -1, 2], "other": ["a", "b", "c"]}))
    assert valid.to_dict(as_series=False) == {"n": [1, 2], "other": ["a", "c"]}
    assert rejected["n"].to_list() == [-1]
    assert rejected["_reject_reason"].to_list() == ["n: is less than the minimum 0"]


def test_it_parses_text_columns_and_reports_values_that_do_not_fit_the_type():
    compiled = compile_schema(
        schema(
            {"name": "i", "type": "integer"},
            {"name": "x", "type": "number"},
            {"name": "b", "type": "boolean"},
            {"name": "d", "type": "date"},
            {"name": "ts", "type": "datetime"},
            {"name": "t", "type": "time"},
        )
    )
    df = pl.DataFrame(
        {
            "i": ["12", "1.5"],
            "x": ["1e3", "abc"],
            "b": ["yes", "maybe"],
            "d": ["2024-02-29", "2023-02-29"],
            "ts": ["2024-01-02T03:04:05Z", "2024-01-02"],
            "t": ["23:59:59", "24:00"],
        }
    )
    assert problems(compiled, df) == [(2, name, "type") for name in ("i", "x", "b", "d", "ts", "t")]


def test_it_checks_every_constraint():
    compiled = compile_schema(
        schema(
            {"name": "code", "type": "string", "constraints": {"pattern": "^[A-Z]{2}$", "max_length": 2}},
            {"name": "size", "type": "string", "constraints": {"enum": ["S", "M"], "min_length": 1}},
            {"name": "mail", "type": "string", "constraints": {"format": "email"}},
            {"name": "id", "type": "string", "constraints": {"format": "uuid"}},
            {"name": "web", "type": "string", "constraints": {"format": "uri"}},
            {"name": "n", "type": "decimal", "constraints": {"minimum": 0.5, "maximum": 2}},
            {"name": "k", "type": "integer", "constraints": {"unique": True}},
        )
    )
    df = pl.DataFrame(
        {
            "code": ["AB", "abc"],
            "size": ["S", "XL"],
            "mail": ["a@b.co", "not-mail"],
            "id": ["123e4567-e89b-12d3-a456-426614174000", "123"],
            "web": ["https://x.org/a", "no scheme"],
            "n": [1.0, 2.5],
            "k": [7, 7],
        }
    )
    assert problems(compiled, df) == [
        (2, "code", "max_length"),
        (2, "code", "pattern"),
        (2, "size", "enum"),
        (2, "mail", "format"),
        (2, "id", "format"),
        (2, "web", "format"),
        (2, "n", "maximum"),
        (2, "k", "unique"),
    ]


def test_it_treats_a_missing_required_column_as_an_error_on_every_row():
    compiled = compile_schema(schema({"name": "a", "required": True}, {"name": "b"}))
    assert problems(compiled, pl.DataFrame({"b": ["x", "y"]})) == [(1, "a", "required"), (2, "a", "required")]
    assert problems(compile_schema(schema({"name": "a"})), pl.DataFrame({"b": ["x"]})) == []


def test_it_refuses_nulls_only_in_non_nullable_fields():
    compiled = compile_schema(schema({"name": "a", "nullable": False}, {"name": "b"}))
    assert problems(compiled, pl.DataFrame({"a": [None, "x"], "b": [None, None]})) == [(1, "a", "nullable")]


def test_rules_see_typed_values_and_warnings_keep_the_row():
    compiled = compile_schema(
        schema(
            {"name": "dep", "type": "integer"},
            {"name": "arr", "type": "integer"},
            rules=[
                {"name": "order", "expression": "arr > dep", "message": "arrives first", "severity": "error"},
                {"name": "late", "expression": "arr < 2300", "message": "late", "severity": "warning"},
            ],
        )
    )
    df = pl.DataFrame({"dep": ["900", "1000", "100", None], "arr": ["1000", "900", "2350", "5"]})
    valid, rejected = compiled.split(df)
    assert valid["dep"].to_list() == ["900", "100", None]  # NULL result passes, as in SQL CHECK
    assert rejected["_reject_reason"].to_list() == ["order: arrives first"]
    report = compiled.report(df)
    assert (report["valid"], report["invalid"], report["errors_total"], report["warnings_total"]) == (
        3,
        1,
        1,
        1,
    )
    assert [(e["row"], e["rule"], e["severity"]) for e in report["errors"]] == [
        (2, "order", "error"),
        (3, "late", "warning"),
    ]


def test_errors_are_capped_numbered_from_the_offset_and_counted_in_full():
    compiled = compile_schema(schema({"name": "n", "type": "integer", "constraints": {"maximum": 0}}))
    errors, total = compiled.errors(pl.DataFrame({"n": [1] * 50}), limit=3, row_offset=100)
    assert total == 50
    assert [e["row"] for e in errors] == [101, 102, 103]
    assert errors[0]["message"] == "1 is greater than the maximum 0"


def test_records_keep_json_types():
    compiled = compile_schema(
        schema({"name": "n", "type": "integer", "required": True, "nullable": False}, {"name": "s"})
    )
    report = compiled.report_records([{"n": 1, "s": "a"}, {"n": "1"}, {"s": "x"}, {"n": None}, {"n": 2.0}])
    assert [(e["row"], e["field"], e["rule"]) for e in report["errors"]] == [
        (2, "n", "type"),
        (3, "n", "required"),
        (4, "n", "nullable"),
    ]
    assert report["errors"][0]["message"] == "'1' is not a valid integer"
    assert (report["valid"], report["invalid"]) == (2, 3)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            schema({"name": "a", "constraints": {"pattern": "(["}}),
            "field 'a': 'pattern' is not a valid regular",
        ),
        (
            schema({"name": "a", "type": "integer", "constraints": {"minimum": 5, "maximum": 1}}),
            "field 'a': minimum 5 is greater than maximum 1",
        ),
        (
            schema({"name": "a", "type": "integer", "constraints": {"enum": [1, "two"]}}),
            "field 'a': 'enum' value 'two' is not a valid integer",
        ),
        (schema({"name": "a", "type": "money"}), "field 'a': Unknown type 'money'"),
        (schema({"name": "a", "constraints": {"minimum": 1}}), "field 'a': 'minimum' applies to"),
        (schema({"name": "a", "constraints": {"size": 1}}), "field 'a': Unknown constraint 'size'"),
        (schema({"name": "a"}, {"name": "a"}), "field 'a': Field names must be unique"),
        (schema({"name": "a"}, rules=[{"name": "r", "expression": "a >"}]), "rule 'r': Not a valid SQL"),
        (schema({"name": "a"}, rules=[{"name": "r", "expression": "b = 1"}]), "rule 'r': Unknown column 'b'"),
        (schema({"name": "a"}, rules=[{"name": "r", "expression": "a > 1"}]), "rule 'r': Cannot evaluate"),
        (
            schema({"name": "a"}, rules=[{"name": "r", "expression": "upper(a)"}]),
            "rule 'r': Must be a boolean",
        ),
        ({"name": "t", "fields": []}, "A schema needs a non-empty 'fields' list"),
    ],
)
def test_a_bad_schema_is_refused_naming_the_field_or_rule(definition, message):
    with pytest.raises(SchemaDefinitionError) as raised:
        compile_schema(definition)
    assert str(raised.value).startswith(message)
