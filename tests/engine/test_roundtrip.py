"""Property: any table written to CSV, read by the engine and written back by
it, reads back equal."""

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from execution.engine.runner import run_job
from tests.engine.helpers import context

COLUMN_KINDS = {
    "int": (st.integers(-(2**62), 2**62), pl.Int64),
    "float": (st.floats(allow_nan=False, allow_infinity=False, width=64), pl.Float64),
    "string": (
        st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r"), max_size=12),
        pl.String,
    ),
    "bool": (st.booleans(), pl.Boolean),
    "date": (st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)), pl.Date),
}


@st.composite
def tables(draw):
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMN_KINDS)), min_size=1, max_size=4))
    height = draw(st.integers(0, 12))
    data, schema = {}, {}
    for index, kind in enumerate(kinds):
        values, dtype = COLUMN_KINDS[kind]
        data[f"c{index}"] = draw(st.lists(st.none() | values, min_size=height, max_size=height))
        schema[f"c{index}"] = dtype
    return kinds, pl.DataFrame(data, schema=schema)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=tables(), batch_size=st.integers(1, 5))
def test_a_random_table_survives_csv_to_engine_to_csv(data_root, generated, batch_size):
    kinds, table = generated
    table.write_csv(data_root / "in.csv")
    columns = {name: kind for name, kind in zip(table.columns, kinds, strict=True)}
    components = [
        {"name": "src", "type": "csv_source", "config": {"path": "in.csv", "columns": columns}},
        {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "out.csv"}},
    ]
    run_job(components, context(data_root, batch_size=batch_size))
    back = (
        pl.read_csv(data_root / "out.csv", schema=table.schema)
        if table.height
        else pl.DataFrame(schema=table.schema)
    )
    assert_frame_equal(back, table)
    assert (data_root / "out.csv").read_text().splitlines()[0] == ",".join(table.columns)
