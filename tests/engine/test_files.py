"""File sources and sinks: CSV options, JSON array and NDJSON, Parquet, and
bad input that must fail with the component, file and record named."""

import json

import polars as pl
import pytest

from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.engine.helpers import context, run_to_frame


def source(type_, config):
    return {"name": "src", "type": type_, "config": config}


def test_csv_source_reads_delimiter_quote_latin1_and_no_header(data_root):
    (data_root / "in.csv").write_bytes("'Jos\xe9; Jr';1\n'x';2\n".encode("latin-1"))
    config = {"path": "in.csv", "delimiter": ";", "quote": "'", "encoding": "latin-1", "header": False}
    out = run_to_frame(data_root, [source("csv_source", config)])
    assert out.rows() == [("José; Jr", 1), ("x", 2)]
    assert out.columns == ["f0", "f1"]


def test_csv_source_keeps_quoted_newlines_and_tells_null_from_empty(data_root):
    (data_root / "in.csv").write_text('a,b\n"two\nlines",\n"",x\n')
    out = run_to_frame(data_root, [source("csv_source", {"path": "in.csv"})])
    assert out.rows() == [("two\nlines", None), ("", "x")]


def test_csv_source_applies_explicit_column_types(data_root):
    (data_root / "in.csv").write_text("code,amount\n007,1.50\n")
    config = {"path": "in.csv", "columns": {"code": "string", "amount": "decimal(6,2)"}}
    out = run_to_frame(data_root, [source("csv_source", config)])
    assert out.schema["code"] == pl.String and out.schema["amount"] == pl.Decimal(6, 2)
    assert out["code"][0] == "007"


def test_csv_source_streams_in_batches_and_reports_bytes(data_root):
    (data_root / "in.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(25)))
    components = [source("csv_source", {"path": "in.csv"})]
    components.append({"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "out.csv"}})
    result = run_job(components, context(data_root, batch_size=10))
    assert result.components["src"]["batches"] == 3
    assert result.components["src"]["bytes_read"] == (data_root / "in.csv").stat().st_size
    assert (data_root / "out.csv").read_text() == (data_root / "in.csv").read_text()


def write_ten_batches(data_root, file_format, rows) -> str:
    frame = pl.DataFrame({"n": range(rows), "note": [f"{i:08d} same width text" for i in range(rows)]})
    if file_format == "csv":
        frame.write_csv(data_root / "in.csv")
        return "csv_source", {"path": "in.csv"}
    if file_format == "parquet":
        frame.write_parquet(data_root / "in.parquet", row_group_size=rows // 10)
        return "parquet_source", {"path": "in.parquet"}
    (data_root / "in.json").write_text(
        json.dumps(frame.to_dicts()) if file_format == "array" else frame.write_ndjson()
    )
    return "json_source", {"path": "in.json", "format": file_format}


@pytest.mark.parametrize(
    ("file_format", "rows"),
    # 100,000 CSV rows are ~4 MiB: several of Arrow's 1 MiB blocks, read ahead by its threads.
    [("csv", 100_000), ("csv", 1_000), ("ndjson", 1_000), ("array", 1_000), ("parquet", 1_000)],
)
def test_progress_follows_the_rows_emitted_not_what_the_reader_read_ahead(data_root, file_format, rows):
    source_type, config = write_ten_batches(data_root, file_format, rows)
    seen = []
    components = [source(source_type, config)]
    components.append({"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "o.pq"}})
    result = run_job(components, context(data_root, batch_size=rows // 10, control=seen.append))
    after_each_batch = [progress.percent for progress in seen[1:11]]
    assert after_each_batch == pytest.approx([10, 20, 30, 40, 50, 60, 70, 80, 90, 99], abs=1.5)
    assert result.progress.percent == 100
    assert seen[1].components["src"]["type"] == source_type
    size = (data_root / config["path"]).stat().st_size
    assert result.components["src"]["bytes_read"] == size


def test_a_header_only_csv_gives_an_empty_table_with_its_columns(data_root):
    (data_root / "in.csv").write_text("a,b\n")
    out = run_to_frame(data_root, [source("csv_source", {"path": "in.csv"})])
    assert out.columns == ["a", "b"] and out.height == 0


@pytest.mark.parametrize(
    "text", ['[{"a": 1, "b": "x"}, {"a": 2, "b": null}]', '{"a": 1, "b": "x"}\n\n{"a": 2}\n']
)
def test_json_source_reads_an_array_or_ndjson(data_root, text):
    (data_root / "in.json").write_text(text)
    out = run_to_frame(data_root, [source("json_source", {"path": "in.json"})], batch_size=1)
    assert out.rows() == [(1, "x"), (2, None)]


@pytest.mark.parametrize("file_format", ["ndjson", "array"])
def test_json_sink_writes_records_that_read_back(data_root, file_format):
    components = [
        {"name": "src", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": 2}, {"a": 3}]}},
        {
            "name": "out",
            "type": "json_sink",
            "inputs": ["src"],
            "config": {"path": "o.json", "format": file_format},
        },
    ]
    run_job(components, context(data_root, batch_size=2))
    text = (data_root / "o.json").read_text()
    records = json.loads(text) if file_format == "array" else [json.loads(line) for line in text.splitlines()]
    assert records == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_parquet_source_streams_row_batches(data_root):
    pl.DataFrame({"n": list(range(7))}).write_parquet(data_root / "in.parquet")
    components = [source("parquet_source", {"path": "in.parquet"})]
    components.append(
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}}
    )
    result = run_job(components, context(data_root, batch_size=3))
    assert result.components["src"]["batches"] == 3
    assert pl.read_parquet(data_root / "out.parquet")["n"].to_list() == list(range(7))


@pytest.mark.parametrize("sink_type", ["csv_sink", "json_sink", "parquet_sink"])
def test_file_sinks_append_to_an_existing_file(data_root, sink_type):
    def load(rows):
        components = [
            {"name": "src", "type": "inline_source", "config": {"rows": rows}},
            {
                "name": "out",
                "type": sink_type,
                "inputs": ["src"],
                "config": {"path": "o.dat", "mode": "append"},
            },
        ]
        run_job(components, context(data_root))

    load([{"a": 1}])
    load([{"a": 2}])
    path = data_root / "o.dat"
    if sink_type == "csv_sink":
        assert path.read_text() == "a\n1\n2\n"
    elif sink_type == "json_sink":
        assert path.read_text().splitlines() == ['{"a":1}', '{"a":2}']
    else:
        assert pl.read_parquet(path)["a"].to_list() == [1, 2]


# -- bad input ------------------------------------------------------------------------------------


def fails(data_root, components, **options) -> EngineError:
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, components, **options)
    assert not (data_root / "captured.parquet").exists()
    return raised.value


def test_a_missing_file_names_the_component_and_field(data_root):
    error = fails(data_root, [source("csv_source", {"path": "nope.csv"})])
    assert (error.component, error.field) == ("src", "config.path")
    assert "not found" in error.message


def test_a_ragged_csv_line_names_the_file_and_line(data_root):
    (data_root / "in.csv").write_text('a,b\n1,2\n"multi\nline",3\n4,5,6\n')
    error = fails(data_root, [source("csv_source", {"path": "in.csv"})])
    assert error.component == "src"
    assert error.location == "file in.csv, line 5", "the record after a quoted newline starts on line 5"
    assert "Expected 2 columns, got 3" in error.message


def test_bytes_that_are_not_utf8_suggest_the_encoding_option(data_root):
    (data_root / "in.csv").write_bytes("name\nJos\xe9\n".encode("latin-1"))
    error = fails(data_root, [source("csv_source", {"path": "in.csv"})])
    assert error.field == "config.encoding" and "latin-1" in error.message


def test_a_value_of_the_wrong_type_names_the_column_and_the_fix(data_root):
    (data_root / "in.csv").write_text("n\n1\nabc\n")
    error = fails(data_root, [source("csv_source", {"path": "in.csv", "columns": {"n": "int"}})])
    assert error.component == "src" and "'n'" in error.message and "abc" in error.message


def test_a_bad_ndjson_line_is_named(data_root):
    (data_root / "in.json").write_text('{"a": 1}\n{"a": 2\n')
    error = fails(data_root, [source("json_source", {"path": "in.json", "format": "ndjson"})])
    assert error.location == "file in.json, line 2"


# -- paths ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../secret.csv", "sub/../../secret.csv", "/etc/passwd"])
def test_paths_outside_the_data_roots_are_refused(data_root, path):
    error = fails(data_root, [source("csv_source", {"path": path})])
    assert error.field == "config.path"


def test_a_symlink_escaping_the_data_root_is_refused(data_root, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    (data_root / "link.csv").symlink_to(outside)
    error = fails(data_root, [source("csv_source", {"path": "link.csv"})])
    assert "outside the data roots" in error.message


def test_a_sink_path_escaping_the_data_root_writes_nothing(data_root, tmp_path):
    components = [
        {"name": "src", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
        {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "../escaped.csv"}},
    ]
    with pytest.raises(EngineError, match=r"\.\."):
        run_job(components, context(data_root))
    assert not (tmp_path / "escaped.csv").exists()
