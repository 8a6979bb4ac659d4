"""NDJSON and JSON arrays never drop a key: by default the columns are every
key of the file; `schema_mode: strict` fails at the first line with a key
the first batch did not have, naming the line and the key."""

import json

import polars as pl
import pytest

from execution.engine.errors import EngineError
from tests.engine.helpers import run_to_frame

LATE_KEY = '{"a": 1}\n{"a": 2}\n{"a": 3, "late": "x"}\n'


def read(data_root, text, batch_size=50_000, **config):
    (data_root / "in.json").write_text(text)
    source = {"name": "src", "type": "json_source", "config": {"path": "in.json", **config}}
    return run_to_frame(data_root, [source], batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [50_000, 2, 1], ids=["one_batch", "later_batch", "batches_of_one"])
def test_a_key_first_seen_in_the_last_line_is_kept(data_root, batch_size):
    out = read(data_root, LATE_KEY, batch_size)
    assert out.columns == ["a", "late"]
    assert out.rows() == [(1, None), (2, None), (3, "x")]


def test_types_fit_every_line_not_only_the_first_batch(data_root):
    out = read(data_root, '{"a": 1}\n{"a": 2.5, "b": {"x": 1}}\n{"b": {"y": "z"}}\n', batch_size=1)
    assert out.schema["a"] == pl.Float64
    assert out["a"].to_list() == [1.0, 2.5, None]
    assert out["b"].to_list() == [None, {"x": 1, "y": None}, {"x": None, "y": "z"}]


def test_a_json_array_keeps_a_late_key(data_root):
    records = [{"a": 1}, {"a": 2}, {"a": 3, "late": "x"}]
    out = read(data_root, json.dumps(records), batch_size=1)
    assert out.rows() == [(1, None), (2, None), (3, "x")]


def test_strict_mode_fails_at_the_first_line_with_an_unseen_key(data_root):
    with pytest.raises(EngineError) as raised:
        read(data_root, LATE_KEY, batch_size=2, schema_mode="strict")
    error = raised.value
    assert (error.component, error.field, error.location) == (
        "src",
        "config.schema_mode",
        "file in.json, line 3",
    )
    assert "Key 'late' is not among the first batch's keys (a)" in error.message
    assert not (data_root / "captured.parquet").exists()


def test_strict_mode_takes_every_key_of_the_first_batch(data_root):
    out = read(data_root, LATE_KEY + '{"a": 4}\n\n{"late": "y"}\n', batch_size=3, schema_mode="strict")
    assert out.rows() == [(1, None), (2, None), (3, "x"), (4, None), (None, "y")]


def test_strict_mode_names_the_line_after_blank_lines(data_root):
    with pytest.raises(EngineError) as raised:
        read(data_root, '{"a": 1}\n\n\n{"b": 2}\n', batch_size=1, schema_mode="strict")
    assert raised.value.location == "file in.json, line 4"


def test_a_bad_line_after_blank_lines_is_named_by_its_line(data_root):
    with pytest.raises(EngineError) as raised:
        read(data_root, '{"a": 1}\n\n{"a": \n')
    assert raised.value.location == "file in.json, line 3"
    assert raised.value.message.startswith("Not valid JSON")
