"""A column name that is not in the input fails naming the component, the
field, the name, the closest column ("did you mean") and the columns there are."""

import pytest

from execution.engine.errors import EngineError
from tests.engine.helpers import inline, run_to_frame

ROWS = [{"carrier": "AA", "delay": 5}, {"carrier": "DL", "delay": None}]
RIGHT = [{"code": "AA", "name": "American"}]


def transform(type_, config, inputs=("src",)):
    return {"name": "step", "type": type_, "inputs": list(inputs), "config": config}


CASES = {
    "select_columns": (
        transform("select", {"columns": ["carrier", "dealy"]}),
        "config.columns",
        "dealy",
        "delay",
    ),
    "select_rename": (transform("select", {"rename": {"carier": "c"}}), "config.rename", "carier", "carrier"),
    "select_cast": (transform("select", {"cast": {"delays": "float"}}), "config.cast", "delays", "delay"),
    "dedupe_keys": (transform("dedupe", {"keys": ["Carrier"]}), "config.keys", "Carrier", "carrier"),
    "sort_by": (transform("sort", {"by": ["delya"]}), "config.by", "delya", "delay"),
    "group_by": (
        transform("aggregate", {"group_by": ["carriers"], "aggregates": {"n": "count(*)"}}),
        "config.group_by",
        "carriers",
        "carrier",
    ),
    "join_left_key": (
        transform("join", {"right": "codes", "on": [{"left": "carier", "right": "code"}]}, ("src", "codes")),
        "config.on",
        "carier",
        "carrier",
    ),
    "join_right_key": (
        transform("join", {"right": "codes", "on": [{"left": "carrier", "right": "cod"}]}, ("src", "codes")),
        "config.on",
        "cod",
        "code",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unknown_column_suggests_the_closest_one(data_root, case):
    step, field, wrong, suggested = CASES[case]
    components = [inline("src", ROWS), inline("codes", RIGHT), step]
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, components)
    error = raised.value
    assert (error.component, error.field) == ("step", field)
    assert error.message.startswith(f"Unknown column {wrong!r}. Did you mean {suggested!r}? The input has: ")
    assert not (data_root / "captured.parquet").exists()


def test_a_name_like_no_column_lists_the_columns_without_a_guess(data_root):
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, [inline("src", ROWS), transform("sort", {"by": ["zzz"]})])
    assert raised.value.message == "Unknown column 'zzz'. The input has: carrier, delay."


def test_a_metric_over_an_unknown_column_suggests_the_closest_one(data_root):
    metric = {
        "name": "late",
        "type": "metric",
        "inputs": ["src"],
        "config": {"name": "late", "value": "sum(dealy)"},
    }
    with pytest.raises(EngineError) as raised:
        run_to_frame(data_root, [inline("src", ROWS), metric, transform("limit", {"n": 1})])
    assert raised.value.component == "late"
    assert "Did you mean 'delay'?" in raised.value.message
