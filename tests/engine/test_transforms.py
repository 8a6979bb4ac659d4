"""Literal tables in, expected table out, for every transform."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from execution.engine.errors import EngineError
from tests.engine.helpers import inline, run_to_frame

FLIGHTS = [
    {"id": 1, "carrier": "AA", "delay": 10},
    {"id": 2, "carrier": "DL", "delay": None},
    {"id": 3, "carrier": "AA", "delay": -5},
    {"id": 4, "carrier": "UA", "delay": 30},
]


def step(name, type_, config, inputs=("flights",)):
    return {"name": name, "type": type_, "inputs": list(inputs), "config": config}


def test_filter_keeps_rows_where_the_condition_is_true(data_root):
    out = run_to_frame(
        data_root, [inline("flights", FLIGHTS), step("late", "filter", {"where": "delay > 0"})]
    )
    assert out["id"].to_list() == [1, 4]


def test_derive_may_use_a_column_derived_before_it(data_root):
    components = [
        inline("flights", FLIGHTS),
        step(
            "d",
            "derive",
            {"columns": {"hours": "delay / 60.0", "late": "hours > 0.4", "c": "lower(carrier)"}},
        ),
    ]
    out = run_to_frame(data_root, components)
    assert out["late"].to_list() == [False, None, False, True]
    assert out["c"].to_list() == ["aa", "dl", "aa", "ua"]


def test_select_picks_renames_and_casts(data_root):
    config = {"columns": ["carrier", "delay"], "rename": {"delay": "minutes"}, "cast": {"minutes": "float"}}
    out = run_to_frame(data_root, [inline("flights", FLIGHTS), step("s", "select", config)])
    assert out.columns == ["carrier", "minutes"]
    assert out.schema["minutes"] == pl.Float64


def test_dedupe_keeps_the_first_row_per_key_across_batches(data_root):
    components = [inline("flights", FLIGHTS), step("d", "dedupe", {"keys": ["carrier"]})]
    out = run_to_frame(data_root, components, batch_size=1)
    assert out["id"].to_list() == [1, 2, 4]


def test_aggregate_groups_with_sql_aggregates(data_root):
    config = {
        "group_by": ["carrier"],
        "aggregates": {
            "n": "count(*)",
            "total": "sum(delay)",
            "avg": "avg(delay)",
            "ids": "count(distinct id)",
        },
    }
    out = run_to_frame(data_root, [inline("flights", FLIGHTS), step("a", "aggregate", config)], batch_size=2)
    expected = pl.DataFrame(
        {
            "carrier": ["AA", "DL", "UA"],
            "n": [2, 1, 1],
            "total": [5, None, 30],
            "avg": [2.5, None, 30.0],
            "ids": [2, 1, 1],
        }
    )
    assert_frame_equal(out, expected, check_dtypes=False)


@pytest.mark.parametrize(
    ("how", "ids"), [("inner", [1, 3, 2]), ("left", [1, 2, 3, 4]), ("semi", [1, 2, 3]), ("anti", [4])]
)
def test_join_kinds_keep_left_order(data_root, how, ids):
    carriers = inline("carriers", [{"code": "AA", "name": "American"}, {"code": "DL", "name": "Delta"}])
    config = {"right": "carriers", "on": [{"left": "carrier", "right": "code"}], "how": how}
    components = [
        inline("flights", FLIGHTS),
        carriers,
        step("j", "join", config, inputs=("flights", "carriers")),
    ]
    out = run_to_frame(data_root, components, batch_size=2)
    assert sorted(out["id"].to_list()) == sorted(ids)
    if how in ("inner", "left"):
        assert dict(zip(out["id"], out["name"], strict=True))[1] == "American"


def test_join_streams_left_batches_even_when_the_left_source_comes_first(data_root):
    carriers = inline("carriers", [{"carrier": "AA", "name": "American"}])
    components = [
        inline("flights", FLIGHTS),
        carriers,
        step("j", "join", {"right": "carriers", "on": ["carrier"]}, inputs=("flights", "carriers")),
    ]
    out = run_to_frame(data_root, components, batch_size=1)
    assert out["id"].to_list() == [1, 3]


def test_sort_orders_descending_with_nulls_last(data_root):
    components = [inline("flights", FLIGHTS), step("s", "sort", {"by": ["delay"], "descending": True})]
    out = run_to_frame(data_root, components, batch_size=3)
    assert out["id"].to_list() == [4, 1, 3, 2]


def test_limit_stops_after_n_rows(data_root):
    out = run_to_frame(data_root, [inline("flights", FLIGHTS), step("l", "limit", {"n": 3})], batch_size=2)
    assert out["id"].to_list() == [1, 2, 3]


def test_union_aligns_columns_by_name(data_root):
    components = [
        inline("a", [{"x": 1, "y": "one"}]),
        inline("b", [{"y": "two", "x": 2}]),
        step("u", "union", {}, inputs=("a", "b")),
    ]
    out = run_to_frame(data_root, components)
    assert out.to_dicts() == [{"x": 1, "y": "one"}, {"x": 2, "y": "two"}]


def test_union_refuses_inputs_with_different_columns(data_root):
    components = [inline("a", [{"x": 1}]), inline("b", [{"z": 2}]), step("u", "union", {}, inputs=("a", "b"))]
    with pytest.raises(EngineError, match="add a select") as raised:
        run_to_frame(data_root, components)
    assert raised.value.component == "u"


def test_validate_sends_invalid_rows_to_the_rejects_port(data_root):
    schema = {"fields": [{"name": "delay", "type": "integer", "required": True, "nullable": False}]}
    components = [
        inline("flights", FLIGHTS),
        step("checked", "validate", {"schema": "flights"}),
        step("bad", "select", {}, inputs=("checked.rejects",)),
    ]
    out = run_to_frame(data_root, components, schemas={"flights": schema})
    assert out["id"].to_list() == [2]
    assert out["_reject_reason"][0]


def test_validate_with_on_invalid_fail_fails_the_run(data_root):
    schema = {"fields": [{"name": "delay", "type": "integer", "required": True, "nullable": False}]}
    components = [
        inline("flights", FLIGHTS),
        step("checked", "validate", {"schema": "flights", "on_invalid": "fail"}),
    ]
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, components, schemas={"flights": schema})
    assert raised.value.component == "checked"
    assert not (data_root / "captured.parquet").exists()


def test_validate_with_on_invalid_fail_names_the_record_and_the_reason(data_root):
    schema = {"fields": [{"name": "carrier", "type": "string", "constraints": {"enum": ["AA", "DL"]}}]}
    components = [
        inline("flights", FLIGHTS + [{"id": 5, "carrier": "ZZ", "delay": 1}]),
        step("checked", "validate", {"schema": "flights", "on_invalid": "fail"}),
    ]
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, components, schemas={"flights": schema}, batch_size=2)
    error = raised.value
    # Record 4 (UA) is the first invalid one; it arrives in the second batch.
    assert error.location == "input record 4"
    assert "carrier" in error.message and "UA" in error.message
    assert "1 more invalid" not in error.message
    assert str(error).startswith("component 'checked', input record 4: ")


def test_an_unknown_column_in_an_expression_names_the_component_and_the_column(data_root):
    components = [inline("flights", FLIGHTS), step("late", "filter", {"where": "dep_delay > 0"})]
    with pytest.raises(EngineError, match="dep_delay") as raised:
        run_to_frame(data_root, components)
    assert (raised.value.component, raised.value.field) == ("late", "config.where")
