"""`csv_source.null_values`, and CSV problems told by file, line and column:
a column made text by one value says which, where, and what to set."""

import polars as pl
import pytest

from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.engine.helpers import context, run_to_frame

R_FILE = "station,temp\na,1.5\nb,NA\nc,3\n"


def csv(config=None, name="weather"):
    return {"name": name, "type": "csv_source", "config": {"path": "in.csv", **(config or {})}}


def average(inputs="weather"):
    return {
        "name": "stats",
        "type": "aggregate",
        "inputs": [inputs],
        "config": {"aggregates": {"mean_temp": "avg(temp)"}},
    }


def fails(data_root, components, **options) -> EngineError:
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, components, **options)
    assert "Error" not in raised.value.message, "a Polars class name shows through"
    return raised.value


def test_null_values_reads_r_and_pandas_na_as_null(data_root):
    (data_root / "in.csv").write_text(R_FILE)
    out = run_to_frame(data_root, [csv({"null_values": ["", "NA"]})])
    assert out.schema["temp"] == pl.Float64
    assert out["temp"].to_list() == [1.5, None, 3.0]
    assert run_to_frame(data_root, [csv({"null_values": ["", "NA"]}), average()]).rows() == [(2.25,)]


def test_a_quoted_marker_stays_text_and_an_empty_list_makes_nothing_null(data_root):
    (data_root / "in.csv").write_text('a,b\n"NA",\nNA,x\n')
    out = run_to_frame(data_root, [csv({"null_values": ["NA"]})])
    assert out.rows() == [("NA", ""), (None, "x")]
    assert run_to_frame(data_root, [csv({"null_values": []})]).rows() == [("NA", ""), ("NA", "x")]


def test_avg_of_a_column_made_text_by_na_names_the_column_value_line_and_the_fix(data_root):
    (data_root / "in.csv").write_text(R_FILE)
    logged = []
    components = [csv(), average()]
    sink = {"name": "out", "type": "csv_sink", "inputs": ["stats"], "config": {"path": "out.csv"}}
    options = context(data_root)
    options.log = lambda level, component, message: logged.append((level, component, message))
    with pytest.raises(EngineError) as raised:
        run_job([*components, sink], options)
    error = raised.value
    assert (error.component, error.field) == ("stats", "config.aggregates.mean_temp")
    assert error.message.startswith("avg needs")
    assert (
        "Column 'temp' was read as text because of the value 'NA' (file in.csv, line 3; "
        "component 'weather')" in error.message
    )
    assert "add it to `null_values`" in error.message and "`columns`" in error.message
    warnings = [(c, m) for level, c, m in logged if level == "warning"]
    assert warnings == [("weather", error.message.split(". ", 1)[1])]
    assert not (data_root / "out.csv").exists()


def test_a_cast_of_a_column_made_text_by_a_marker_says_why_it_is_text(data_root):
    (data_root / "in.csv").write_text("temp\n1\n2\n\n-\n4\n")
    cast = {"name": "typed", "type": "select", "inputs": ["weather"], "config": {"cast": {"temp": "float"}}}
    error = fails(data_root, [csv(), cast])
    assert (error.component, error.field) == ("typed", "config.cast")
    assert "because of the value '-' (file in.csv, line 5;" in error.message


def test_a_text_column_of_words_gets_no_note(data_root):
    (data_root / "in.csv").write_text("station,temp\nairport,1\nharbour,2\n")
    logged = []
    options = context(data_root)
    options.log = lambda level, component, message: logged.append(level)
    components = [
        csv(),
        {
            "name": "n",
            "type": "aggregate",
            "inputs": ["weather"],
            "config": {"aggregates": {"mean": "avg(station)"}},
        },
    ]
    with pytest.raises(EngineError) as raised:
        run_job(components, options)
    assert "read as text" not in raised.value.message
    assert "warning" not in logged


def test_a_value_that_does_not_fit_a_declared_type_names_the_line_and_never_says_inferred(data_root):
    (data_root / "in.csv").write_text('station,temp\na,1.5\n"b\nc",2\nd,NA\n')
    error = fails(data_root, [csv({"columns": {"temp": "float"}})])
    assert (error.component, error.field, error.location) == (
        "weather",
        "config.columns",
        "file in.csv, line 5",
    )
    assert error.message == (
        "Column 'temp': 'NA' is not a number, the type given in `columns` (float). "
        "If 'NA' marks a missing value, add it to `null_values`."
    )


def test_a_value_past_the_inferred_start_of_the_file_names_its_line(data_root):
    lines = [f"{i},{i}" for i in range(200_000)]  # ~2.3 MB: the bad value is past Arrow's first block
    (data_root / "in.csv").write_text("id,n\n" + "\n".join(lines) + "\n7,n/a\n")
    error = fails(data_root, [csv()])
    assert error.location == "file in.csv, line 200002"
    assert error.field == "config.columns"
    assert "Column 'n': 'n/a' is not a whole number; that type was inferred from the start of the file" in (
        error.message
    )
    assert "`null_values`" in error.message


def test_a_repeated_header_name_names_the_file_and_the_column(data_root):
    (data_root / "in.csv").write_text("temp,station,temp\n1,a,2\n")
    error = fails(data_root, [csv()])
    assert (error.component, error.location) == ("weather", "file in.csv, line 1")
    assert error.message.startswith("The header names column 'temp' twice (columns 1 and 3)")
    assert "Duplicate" not in error.message
