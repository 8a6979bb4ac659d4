"""Consecutive filter/derive/select run as one lazy plan per batch
(execution/engine/fusion.py): counters stay exact per component, errors name
the component that failed, and the control hook still runs between batches."""

import polars as pl
import pytest

from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import _Run, run_job
from tests.engine.helpers import context, inline

ROWS = [{"id": i, "amount": i * 10, "code": f"c{i % 3}"} for i in range(1, 11)]


def chain(data_root):
    """derive -> filter -> select -> filter -> derive: two filters, so two segments."""
    return [
        inline("src", ROWS),
        {
            "name": "more",
            "type": "derive",
            "inputs": ["src"],
            "config": {"columns": {"double": "amount * 2"}},
        },
        {"name": "big", "type": "filter", "inputs": ["more"], "config": {"where": "double > 40"}},
        {
            "name": "pick",
            "type": "select",
            "inputs": ["big"],
            "config": {"columns": ["id", "double", "code"]},
        },
        {"name": "not_c0", "type": "filter", "inputs": ["pick"], "config": {"where": "code <> 'c0'"}},
        {
            "name": "tag",
            "type": "derive",
            "inputs": ["not_c0"],
            "config": {"columns": {"half": "double / 2"}},
        },
        {"name": "out", "type": "parquet_sink", "inputs": ["tag"], "config": {"path": "out.parquet"}},
    ]


def test_the_chain_is_fused_into_segments_with_one_filter_each(data_root):
    run = _Run(chain(data_root), context(data_root))
    run._build()
    run._plan()
    assert [segment.names for segment in run.segments.values()] == [
        ["more", "big", "pick"],
        ["not_c0", "tag"],
    ]


def test_fused_counters_are_exact_per_component(data_root):
    result = run_job(chain(data_root), context(data_root, batch_size=3))
    expected = pl.DataFrame(ROWS).with_columns(double=pl.col("amount") * 2)
    after_big = expected.filter(pl.col("double") > 40).height
    after_not_c0 = expected.filter(pl.col("double") > 40, pl.col("code") != "c0").height
    counts = {name: (c["rows_in"], c["rows_out"], c["batches"]) for name, c in result.components.items()}
    assert counts["src"] == (0, 10, 4)
    assert counts["more"] == (10, 10, 4)
    assert counts["big"] == (10, after_big, 4)
    assert counts["pick"] == (after_big, after_big, 4)
    assert counts["not_c0"] == (after_big, after_not_c0, 4)
    assert counts["tag"] == (after_not_c0, after_not_c0, 4)
    assert counts["out"][:2] == (after_not_c0, after_not_c0)
    out = pl.read_parquet(data_root / "out.parquet")
    assert out["id"].to_list() == [4, 5, 7, 8, 10]
    assert out["half"].to_list() == [40.0, 50.0, 70.0, 80.0, 100.0]


def test_an_error_inside_a_fused_plan_names_the_component_that_failed(data_root):
    rows = [{"a": str(i)} for i in range(5)] + [{"a": "x"}]
    components = [
        inline("src", rows),
        {"name": "more", "type": "derive", "inputs": ["src"], "config": {"columns": {"b": "a || '1'"}}},
        {"name": "typed", "type": "select", "inputs": ["more"], "config": {"cast": {"a": "int"}}},
        {"name": "keep", "type": "filter", "inputs": ["typed"], "config": {"where": "a > 1"}},
        {"name": "out", "type": "csv_sink", "inputs": ["keep"], "config": {"path": "out.csv"}},
    ]
    with pytest.raises(EngineError) as caught:
        run_job(components, context(data_root, batch_size=2))
    assert caught.value.component == "typed"
    assert caught.value.field == "config.cast"
    assert "'x'" in caught.value.message or '"x"' in caught.value.message
    assert not (data_root / "out.csv").exists()


def test_a_type_error_of_a_later_member_names_it(data_root):
    components = [
        inline("src", ROWS),
        {
            "name": "more",
            "type": "derive",
            "inputs": ["src"],
            "config": {"columns": {"label": "code || '!'"}},
        },
        {"name": "keep", "type": "filter", "inputs": ["more"], "config": {"where": "label > 3"}},
        {"name": "out", "type": "csv_sink", "inputs": ["keep"], "config": {"path": "out.csv"}},
    ]
    with pytest.raises(EngineError) as caught:
        run_job(components, context(data_root))
    assert (caught.value.component, caught.value.field) == ("keep", "config.where")


def test_the_control_hook_still_runs_at_every_batch_boundary(data_root):
    """Each call sees whole batches through the fused segment; a stop between
    batches leaves the target unwritten."""
    seen = []

    def control(progress):
        seen.append(
            (
                progress.rows_read,
                progress.components["big"]["rows_in"],
                progress.components["pick"]["batches"],
            )
        )
        if progress.rows_read >= 6:
            raise StopRequested()

    with pytest.raises(StopRequested):
        run_job(chain(data_root), context(data_root, batch_size=3, control=control))
    # Before the first batch, then after each one: the fused members moved one batch at a time.
    assert seen == [(0, 0, 0), (3, 3, 1), (6, 6, 2)]
    assert not (data_root / "out.parquet").exists()


def test_a_rename_clash_in_the_middle_of_a_segment_names_that_select(data_root):
    components = [
        inline("src", ROWS),
        {
            "name": "more",
            "type": "derive",
            "inputs": ["src"],
            "config": {"columns": {"double": "amount * 2"}},
        },
        {"name": "clash", "type": "select", "inputs": ["more"], "config": {"rename": {"double": "amount"}}},
        {"name": "out", "type": "csv_sink", "inputs": ["clash"], "config": {"path": "out.csv"}},
    ]
    with pytest.raises(EngineError) as caught:
        run_job(components, context(data_root))
    assert caught.value.component == "clash"
