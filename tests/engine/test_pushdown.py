"""Projection pushdown (file sources read only the columns the graph uses),
predicate pushdown (a filter right after a Parquet source runs inside its
scan) and blocking operators over more data than one batch (spilled, then
collected by Polars' streaming engine)."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from execution.engine.components import base, csv_source, file_sources
from execution.engine.errors import EngineError
from execution.engine.runner import _Run, run_job
from tests.engine.helpers import context

WIDE = pl.DataFrame(
    {
        "a": [1, 2, 3, 4],
        "b": ["x", "y", "x", "z"],
        "c": [10, 20, 30, 40],
        "d": [1.5, 2.5, 3.5, 4.5],
        "e": ["unused"] * 4,
    }
)


def step(name, type_, inputs, config):
    return {"name": name, "type": type_, "inputs": inputs, "config": config}


@pytest.fixture
def converted(monkeypatch):
    """The columns Arrow's CSV reader is asked to convert (include_columns)."""
    seen = []
    real = csv_source.pa_csv.open_csv

    def recording(stream, **options):
        seen.append(list(options["convert_options"].include_columns))
        return real(stream, **options)

    monkeypatch.setattr(csv_source.pa_csv, "open_csv", recording)
    return seen


def test_csv_source_reads_only_the_columns_the_graph_uses(data_root, converted):
    """`c` is read only by the derive after the filter, and still read; `d`
    and `e` are read by nothing, and not converted."""
    WIDE.write_csv(data_root / "wide.csv")
    components = [
        step("src", "csv_source", [], {"path": "wide.csv"}),
        step("keep", "filter", ["src"], {"where": "a > 1"}),
        step("more", "derive", ["keep"], {"columns": {"x": "c * 2"}}),
        step("by_b", "aggregate", ["more"], {"group_by": ["b"], "aggregates": {"total": "sum(x)"}}),
        step("out", "csv_sink", ["by_b"], {"path": "out.csv"}),
    ]
    run_job(components, context(data_root))
    assert converted == [["a", "b", "c"]]
    out = pl.read_csv(data_root / "out.csv")
    assert out.rows() == [("x", 60), ("y", 40), ("z", 80)]


def test_a_select_without_columns_passes_what_is_wanted_back_through_its_renames(data_root, converted):
    WIDE.write_csv(data_root / "wide.csv")
    components = [
        step("src", "csv_source", [], {"path": "wide.csv"}),
        step("named", "select", ["src"], {"rename": {"c": "cost"}}),
        step("total", "aggregate", ["named"], {"aggregates": {"sum_cost": "sum(cost)"}}),
        step("out", "csv_sink", ["total"], {"path": "out.csv"}),
    ]
    run_job(components, context(data_root))
    assert converted == [["c"]]
    assert pl.read_csv(data_root / "out.csv")["sum_cost"].to_list() == [100]


def test_a_sink_reads_every_column(data_root, converted):
    WIDE.write_csv(data_root / "wide.csv")
    components = [
        step("src", "csv_source", [], {"path": "wide.csv"}),
        step("keep", "filter", ["src"], {"where": "a > 1"}),
        step("out", "csv_sink", ["keep"], {"path": "out.csv"}),
    ]
    run_job(components, context(data_root))
    assert converted == [[]]  # [] is Arrow's "all"
    assert pl.read_csv(data_root / "out.csv").columns == WIDE.columns


def test_an_unknown_column_reads_everything_so_the_error_lists_all_columns(data_root, converted):
    WIDE.write_csv(data_root / "wide.csv")
    components = [
        step("src", "csv_source", [], {"path": "wide.csv"}),
        step("total", "aggregate", ["src"], {"aggregates": {"n": "sum(cc)"}}),
        step("out", "csv_sink", ["total"], {"path": "out.csv"}),
    ]
    with pytest.raises(EngineError) as caught:
        run_job(components, context(data_root))
    assert caught.value.component == "total"
    assert converted == [[]]


def test_parquet_source_passes_the_used_columns_to_its_reader(data_root, monkeypatch):
    WIDE.write_parquet(data_root / "wide.parquet")
    asked = []
    real = file_sources.pa_parquet.ParquetFile.iter_batches

    def recording(self, *args, **options):
        asked.append(options.get("columns"))
        return real(self, *args, **options)

    monkeypatch.setattr(file_sources.pa_parquet.ParquetFile, "iter_batches", recording)
    components = [
        step("src", "parquet_source", [], {"path": "wide.parquet"}),
        step("more", "derive", ["src"], {"columns": {"x": "d + 1"}}),
        step("few", "select", ["more"], {"columns": ["b", "x"]}),
        step("out", "parquet_sink", ["few"], {"path": "out.parquet"}),
    ]
    run_job(components, context(data_root))
    assert asked == [["b", "d"]]
    assert pl.read_parquet(data_root / "out.parquet").rows() == [
        ("x", 2.5),
        ("y", 3.5),
        ("x", 4.5),
        ("z", 5.5),
    ]


def test_a_join_keeps_the_left_column_that_gives_a_right_one_its_suffix(data_root):
    left = pl.DataFrame({"k": [1, 2], "v": ["l1", "l2"], "extra": [0, 0]})
    right = pl.DataFrame({"k": [1, 2], "v": ["r1", "r2"], "w": [5, 6]})
    left.write_parquet(data_root / "left.parquet")
    right.write_parquet(data_root / "right.parquet")
    components = [
        step("l", "parquet_source", [], {"path": "left.parquet"}),
        step("r", "parquet_source", [], {"path": "right.parquet"}),
        step("j", "join", ["l", "r"], {"right": "r", "on": ["k"]}),
        step("few", "select", ["j"], {"columns": ["k", "v_right"]}),
        step("out", "parquet_sink", ["few"], {"path": "out.parquet"}),
    ]
    run = _Run(components, context(data_root))
    run._build()
    run._plan()
    assert run.instances["l"].used_columns == {"k", "v"}
    assert run.instances["r"].used_columns == {"k", "v"}
    run_job(components, context(data_root))
    assert pl.read_parquet(data_root / "out.parquet").rows() == [(1, "r1"), (2, "r2")]


# --- predicate pushdown ---------------------------------------------------------------

ROWS = 10_000
NUMBERS = pl.DataFrame(
    {
        "n": range(ROWS),
        "tag": [("x", "y", "z")[i % 3] for i in range(ROWS)],
        "amount": [i / 4 for i in range(ROWS)],
    }
)
CONDITION = "n % 7 = 0 AND tag <> 'y' AND amount >= 100"


def pipeline(first_steps):
    return [
        step("src", "parquet_source", [], {"path": "numbers.parquet"}),
        *first_steps,
        step("more", "derive", ["keep"], {"columns": {"twice": "amount * 2"}}),
        step("out", "parquet_sink", ["more"], {"path": "out.parquet"}),
    ]


PUSHED = pipeline([step("keep", "filter", ["src"], {"where": CONDITION})])
# The same filter behind a select that changes nothing: not right after the source, not pushed.
UNPUSHED = pipeline(
    [
        step("all", "select", ["src"], {"columns": ["n", "tag", "amount"]}),
        step("keep", "filter", ["all"], {"where": CONDITION}),
    ]
)


def test_a_filter_right_after_a_parquet_source_runs_inside_its_scan(data_root):
    NUMBERS.write_parquet(data_root / "numbers.parquet", row_group_size=1000)
    run = _Run(PUSHED, context(data_root, batch_size=700))
    run._build()
    run._plan()
    assert run.pushed == {"src": "keep"}
    source = run.instances["src"]
    scan = source._filtered_scan(str(data_root / "numbers.parquet"), None)
    assert "SELECTION" in scan.explain()  # evaluated by the scan, not after it

    unpushed = _Run(UNPUSHED, context(data_root, batch_size=700))
    unpushed._build()
    unpushed._plan()
    assert unpushed.pushed == {}


def test_pushed_and_unpushed_filters_give_the_same_rows_and_counts(data_root):
    NUMBERS.write_parquet(data_root / "numbers.parquet", row_group_size=1000)
    pushed = run_job(PUSHED, context(data_root, batch_size=700))
    with_pushdown = pl.read_parquet(data_root / "out.parquet")
    unpushed = run_job(UNPUSHED, context(data_root, batch_size=700))
    without = pl.read_parquet(data_root / "out.parquet")

    expected = NUMBERS.filter((pl.col("n") % 7 == 0) & (pl.col("tag") != "y") & (pl.col("amount") >= 100))
    assert_frame_equal(with_pushdown, without)
    assert with_pushdown.height == expected.height > 0
    for name in ("src", "keep", "more", "out"):
        pushed_counts = {k: pushed.components[name][k] for k in ("rows_in", "rows_out")}
        unpushed_counts = {k: unpushed.components[name][k] for k in ("rows_in", "rows_out")}
        assert pushed_counts == unpushed_counts, name
    assert pushed.components["src"]["rows_out"] == ROWS
    assert pushed.components["keep"]["rows_in"] == ROWS
    assert pushed.components["keep"]["rows_out"] == expected.height


def test_a_filter_that_keeps_nothing_still_passes_on_the_columns(data_root):
    NUMBERS.write_parquet(data_root / "numbers.parquet")
    components = pipeline([step("keep", "filter", ["src"], {"where": "n < 0"})])
    result = run_job(components, context(data_root))
    out = pl.read_parquet(data_root / "out.parquet")
    assert out.height == 0 and out.columns == ["n", "tag", "amount", "twice"]
    assert (result.components["keep"]["rows_in"], result.components["keep"]["rows_out"]) == (ROWS, 0)


def test_a_pushed_filter_that_does_not_fit_the_data_is_the_filters_error(data_root):
    NUMBERS.write_parquet(data_root / "numbers.parquet")
    components = pipeline([step("keep", "filter", ["src"], {"where": "tag > 3"})])
    with pytest.raises(EngineError) as caught:
        run_job(components, context(data_root))
    assert (caught.value.component, caught.value.field) == ("keep", "config.where")


# --- blocking operators over more than one batch ----------------------------------------


@pytest.fixture
def spills(monkeypatch):
    """Spill past 64 KiB instead of 64 MiB, counting the spills."""
    count = []
    real = base.Accumulator._spill

    def counting(self):
        count.append(1)
        return real(self)

    monkeypatch.setattr(base, "SPILL_BYTES", 64 << 10)
    monkeypatch.setattr(
        base.Accumulator, "__init__", lambda self, spill_bytes, **where: real_init(self, 64 << 10, **where)
    )
    monkeypatch.setattr(base.Accumulator, "_spill", counting)
    return count


real_init = base.Accumulator.__init__

BIG = pl.DataFrame(
    {
        "id": range(60_000),
        "group": [f"g{i % 37}" for i in range(60_000)],
        "qty": [i % 101 for i in range(60_000)],
        "price": [(i % 13) * 0.5 for i in range(60_000)],
    }
)


def test_a_streaming_aggregate_over_spilled_batches_equals_the_plain_result(data_root, spills):
    BIG.write_parquet(data_root / "big.parquet")
    components = [
        step("src", "parquet_source", [], {"path": "big.parquet"}),
        step(
            "by_group",
            "aggregate",
            ["src"],
            {
                "group_by": ["group"],
                # A median needs every row at once (the others alone would be
                # grouped batch by batch: test_partial_aggregates.py).
                "aggregates": {
                    "n": "count(*)",
                    "total": "sum(qty)",
                    "top": "max(qty)",
                    "mean": "avg(price)",
                    "middle": "median(qty)",
                },
            },
        ),
        step("out", "parquet_sink", ["by_group"], {"path": "out.parquet"}),
    ]
    result = run_job(components, context(data_root, batch_size=5_000))
    assert result.components["src"]["batches"] == 12
    assert len(spills) > 1  # the input went to disk in parts
    plain = (
        BIG.group_by("group")
        .agg(
            n=pl.len().cast(pl.Int64),
            total=pl.col("qty").sum(),
            top=pl.col("qty").max(),
            mean=pl.col("price").mean(),
            middle=pl.col("qty").median(),
        )
        .sort("group")
    )
    out = pl.read_parquet(data_root / "out.parquet")
    assert_frame_equal(out, plain, check_dtypes=False)
    assert result.components["by_group"]["rows_in"] == 60_000
    assert result.components["by_group"]["rows_out"] == 37


def test_a_sort_over_spilled_batches_equals_the_plain_sort(data_root, spills):
    BIG.write_parquet(data_root / "big.parquet")
    components = [
        step("src", "parquet_source", [], {"path": "big.parquet"}),
        step("ordered", "sort", ["src"], {"by": ["qty", "id"], "descending": [True, False]}),
        step("out", "parquet_sink", ["ordered"], {"path": "out.parquet"}),
    ]
    run_job(components, context(data_root, batch_size=5_000))
    assert len(spills) > 1
    plain = BIG.sort(["qty", "id"], descending=[True, False])
    assert_frame_equal(pl.read_parquet(data_root / "out.parquet"), plain)


def test_a_metric_counts_rows_not_batches(data_root):
    BIG.write_parquet(data_root / "big.parquet")
    components = [
        step("src", "parquet_source", [], {"path": "big.parquet"}),
        {
            "name": "rows",
            "type": "metric",
            "inputs": ["src"],
            "config": {"name": "rows", "value": "count(*)"},
        },
    ]
    result = run_job(components, context(data_root, batch_size=5_000))
    assert result.metrics[0]["value"] == 60_000
