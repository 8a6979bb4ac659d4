"""An aggregate whose every aggregate combines (count, sum, min, max, avg)
groups each batch as it arrives (components/partial_aggregates.py): its
result must be the one of grouping the whole input at once, NULLs, types,
counters and errors included."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from execution.engine.components import base, partial_aggregates
from execution.engine.components.transforms import Aggregate
from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.engine.helpers import context

ROWS = 30_000
DATA = pl.DataFrame(
    {
        "id": range(ROWS),
        "group": [f"g{i % 23}" if i % 97 else None for i in range(ROWS)],
        # Group g5 never has a qty: its sum, min, max and avg are NULL.
        "qty": [None if i % 23 == 5 or i % 7 == 0 else i % 101 for i in range(ROWS)],
        "price": [(i % 13) * 0.37 for i in range(ROWS)],
        "name": [f"n{(i * 7919) % 1000:04d}" for i in range(ROWS)],
    }
)
COMBINING = {
    "n": "count(*)",
    "with_qty": "count(qty)",
    "total": "sum(qty)",
    "money": "sum(qty * price)",
    "highs": "sum(CASE WHEN price > 2 THEN 1 ELSE 0 END)",
    "low": "min(qty)",
    "top": "max(price)",
    "first_name": "min(name)",
    "mean_qty": "avg(qty)",
    "mean_price": "avg(price)",
}


def step(name, type_, inputs, config):
    return {"name": name, "type": type_, "inputs": inputs, "config": config}


@pytest.fixture
def spills(monkeypatch):
    """Spills past 64 KiB (not 16 MiB), counted."""
    count = []
    real_spill, real_init = base.Accumulator._spill, base.Accumulator.__init__

    def counting(self):
        count.append(1)
        return real_spill(self)

    monkeypatch.setattr(
        base.Accumulator, "__init__", lambda self, spill_bytes, **where: real_init(self, 64 << 10, **where)
    )
    monkeypatch.setattr(base.Accumulator, "_spill", counting)
    return count


def run_aggregate(data_root, config: dict, *, where: str | None = None, batch_size=2_000) -> tuple:
    DATA.write_parquet(data_root / "data.parquet")
    components = [step("src", "parquet_source", [], {"path": "data.parquet"})]
    last = "src"
    if where:
        components.append(step("keep", "filter", ["src"], {"where": where}))
        last = "keep"
    components += [
        step("agg", "aggregate", [last], config),
        step("out", "parquet_sink", ["agg"], {"path": "out.parquet"}),
    ]
    result = run_job(components, context(data_root, batch_size=batch_size))
    return pl.read_parquet(data_root / "out.parquet"), result.components["agg"]


def whole_input(monkeypatch, data_root, config, **options):
    """The same aggregate holding its whole input (what it did before batches were grouped)."""
    with monkeypatch.context() as patch:
        patch.setattr(partial_aggregates, "combinable", lambda aggregates: False)
        return run_aggregate(data_root, config, **options)


@pytest.mark.parametrize("group_by", [["group"], ["group", "name"], []])
def test_grouping_each_batch_gives_the_whole_input_result(data_root, monkeypatch, spills, group_by):
    config = {"group_by": group_by, "aggregates": COMBINING}
    expected, expected_counters = whole_input(monkeypatch, data_root, config)
    assert spills  # holding the whole input went to disk
    spills.clear()
    out, counters = run_aggregate(data_root, config, batch_size=2_000)
    assert_frame_equal(out, expected)  # types too; floats up to rounding
    assert counters["rows_in"] == expected_counters["rows_in"] == ROWS
    assert counters["rows_out"] == expected_counters["rows_out"] == out.height
    assert counters["batches"] == expected_counters["batches"]
    if group_by == ["group"]:
        assert out.height == 24  # 23 groups and the NULL group, last
        assert out["group"][-1] is None
        g5 = out.filter(pl.col("group") == "g5").row(0, named=True)
        assert (g5["with_qty"], g5["total"], g5["low"], g5["mean_qty"]) == (0, None, None, None)
        assert not spills


def test_an_aggregate_over_no_rows_is_the_same(data_root, monkeypatch):
    for group_by in (["group"], []):
        config = {"group_by": group_by, "aggregates": COMBINING}
        expected, _ = whole_input(monkeypatch, data_root, config, where="price < 0")
        out, counters = run_aggregate(data_root, config, where="price < 0")
        assert_frame_equal(out, expected)
        assert counters["rows_in"] == 0
        if not group_by:
            assert out.row(0, named=True)["n"] == 0 and out.row(0, named=True)["total"] is None


def test_keys_nearly_unique_per_batch_stop_the_grouping_and_still_give_the_result(data_root, monkeypatch):
    config = {"group_by": ["id"], "aggregates": {"n": "count(*)", "mean": "avg(price)", "top": "max(qty)"}}
    expected, _ = whole_input(monkeypatch, data_root, config)
    stopped = []
    real = Aggregate.process

    def watching(self, batch, input_name):
        emitted = real(self, batch, input_name)
        stopped.append(not self.batchwise)
        return emitted

    monkeypatch.setattr(Aggregate, "process", watching)
    out, counters = run_aggregate(data_root, config)
    assert stopped[0] and all(stopped)  # the first batch had as many groups as rows
    assert_frame_equal(out, expected)
    assert counters["rows_out"] == ROWS


def test_aggregates_that_do_not_combine_hold_the_input(data_root, monkeypatch):
    for text in ("count(DISTINCT qty)", "median(qty)", "sum(qty) / count(*)", "stddev(price)"):
        assert not partial_aggregates.combinable(
            Aggregate(
                "agg", {"group_by": ["group"], "aggregates": {"x": text}}, context(data_root)
            ).aggregates
        )
    config = {"group_by": ["group"], "aggregates": {**COMBINING, "distinct": "count(DISTINCT qty)"}}
    expected, _ = whole_input(monkeypatch, data_root, config)
    out, _ = run_aggregate(data_root, config)
    assert_frame_equal(out, expected)


def test_a_batch_of_other_types_after_grouped_ones_is_combined_with_them(data_root):
    """Grouping stops at a batch whose types differ; the rest is held whole
    and the result is that of the whole input (its column types widened)."""
    config = {"group_by": ["k"], "aggregates": {"total": "sum(v)", "mean": "avg(v)", "n": "count(*)"}}
    first = pl.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
    second = pl.DataFrame({"k": ["a", "b"], "v": [0.5, 0.25]})

    def result(batchwise: bool) -> pl.DataFrame:
        aggregate = Aggregate("agg", config, context(data_root))
        aggregate.batchwise = batchwise
        for batch in (first, second):
            aggregate.process(batch, "in")
        ((_port, frame),) = aggregate.finish()
        aggregate.close()
        return frame

    combined = result(True)
    assert combined.schema["total"] == pl.Float64
    assert_frame_equal(combined, result(False))
    assert combined.to_dicts() == [
        {"k": "a", "total": 4.5, "mean": 1.5, "n": 3},
        {"k": "b", "total": 2.25, "mean": 1.125, "n": 2},
    ]


def test_an_aggregate_that_does_not_fit_the_input_fails_as_before(data_root):
    config = {"group_by": ["group"], "aggregates": {"total": "sum(name)"}}
    with pytest.raises(EngineError) as raised:
        run_aggregate(data_root, config)
    assert raised.value.component == "agg"
    assert raised.value.field == "config.aggregates.total"
    assert "sum" in raised.value.message
    config = {"group_by": ["nope"], "aggregates": {"n": "count(*)"}}
    with pytest.raises(EngineError) as raised:
        run_aggregate(data_root, config)
    assert raised.value.field == "config.group_by"
    assert "nope" in raised.value.message
