"""execution/engine/preview.py: a graph run up to one component on the first rows
of each source, building nothing downstream."""

import pytest

from execution.engine.errors import EngineError, GraphError
from execution.engine.preview import PreviewTimeout, preview
from execution.engine.runner import RunContext

ROWS = [{"n": n, "kind": "even" if n % 2 == 0 else "odd"} for n in range(1000)]


def graph(sink_path: str) -> list[dict]:
    return [
        {"name": "numbers", "type": "inline_source", "config": {"rows": ROWS}},
        {"name": "big", "type": "filter", "inputs": ["numbers"], "config": {"where": "n >= 5"}},
        {
            "name": "counted",
            "type": "aggregate",
            "inputs": ["big"],
            "config": {"group_by": ["kind"], "aggregates": {"rows": "count(*)"}},
        },
        {"name": "out", "type": "csv_sink", "inputs": ["counted"], "config": {"path": sink_path}},
        {
            "name": "total",
            "type": "metric",
            "inputs": ["big"],
            "config": {"name": "total", "value": "count(*)"},
        },
    ]


@pytest.fixture
def ctx(tmp_path):
    return RunContext(data_roots=[str(tmp_path)], connections={}, batch_size=50_000)


def test_each_source_gives_at_most_limit_rows(ctx, tmp_path):
    result = preview(graph(str(tmp_path / "out.csv")), "counted", ctx, limit=10)
    assert result.rows() == [{"kind": "even", "rows": 2}, {"kind": "odd", "rows": 3}]
    assert result.columns() == [{"name": "kind", "type": "string"}, {"name": "rows", "type": "integer"}]


def test_nothing_downstream_is_built_so_a_sink_that_could_not_open_does_not_matter(ctx):
    # Outside the data roots: building this sink would fail.
    result = preview(graph("/etc/out.csv"), "big", ctx, limit=7)
    assert [row["n"] for row in result.rows()] == [5, 6]


def test_a_sink_target_shows_what_would_reach_it_without_being_opened(ctx, tmp_path):
    result = preview(graph(str(tmp_path / "out.csv")), "out", ctx, limit=10)
    assert result.rows() == [{"kind": "even", "rows": 2}, {"kind": "odd", "rows": 3}]
    assert list(tmp_path.iterdir()) == []


def test_the_output_is_cut_at_the_limit_too(ctx):
    components = [
        {"name": "left", "type": "inline_source", "config": {"rows": [{"k": 1}] * 5}},
        {"name": "right", "type": "inline_source", "config": {"rows": [{"k": 1, "v": n} for n in range(5)]}},
        {
            "name": "both",
            "type": "join",
            "inputs": ["left", "right"],
            "config": {"right": "right", "on": ["k"]},
        },
    ]
    assert len(preview(components, "both", ctx, limit=5).rows()) == 5


def test_a_target_the_graph_lacks_or_a_port_it_lacks_is_a_graph_error(ctx):
    with pytest.raises(GraphError, match="no component 'nope'") as missing:
        preview(graph("out.csv"), "nope", ctx)
    assert missing.value.field == "component"
    with pytest.raises(GraphError, match="no output 'rejects'"):
        preview(graph("out.csv"), "big.rejects", ctx)


def test_an_invalid_component_on_the_way_is_named(ctx):
    components = graph("out.csv")
    components[1]["config"]["where"] = "read_csv('x')"
    with pytest.raises(GraphError) as error:
        preview(components, "counted", ctx)
    assert (error.value.component, error.value.field) == ("big", "config.where")


def test_a_failure_while_reading_names_the_component(ctx, tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    components = [{"name": "rows", "type": "csv_source", "config": {"path": "bad.csv"}}]
    with pytest.raises(EngineError) as error:
        preview(components, "rows", ctx)
    assert error.value.component == "rows"


def test_past_the_time_limit_it_stops(ctx):
    with pytest.raises(PreviewTimeout):
        preview(graph("out.csv"), "counted", ctx, seconds=-1)
