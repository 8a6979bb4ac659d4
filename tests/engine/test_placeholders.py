"""`${name}` and `${env.NAME}` substitution before a run."""

import pytest

from execution.engine.errors import GraphError
from execution.engine.placeholders import values_for_expressions
from execution.engine.runner import resolve_placeholders, run_job
from tests.engine.helpers import context

COMPONENTS = [
    {"name": "src", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": 5}]}},
    {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "a > ${min}"}},
    {"name": "l", "type": "limit", "inputs": ["f"], "config": {"n": "${limit}"}},
    {"name": "out", "type": "csv_sink", "inputs": ["l"], "config": {"path": "${env.OUT_DIR}/out.csv"}},
]


def test_a_whole_placeholder_keeps_the_parameter_type_and_embedded_ones_become_text():
    resolved = resolve_placeholders(COMPONENTS, {"min": 2, "limit": 10}, {"OUT_DIR": "results"})
    assert resolved[2]["config"]["n"] == 10
    assert resolved[3]["config"]["path"] == "results/out.csv"
    assert COMPONENTS[2]["config"]["n"] == "${limit}"


def test_a_missing_value_names_the_component_and_field():
    with pytest.raises(GraphError) as raised:
        resolve_placeholders(COMPONENTS, {"min": 2, "limit": 10}, {})
    assert (raised.value.component, raised.value.field) == ("out", "config.path")
    assert "OUT_DIR" in raised.value.message


def test_expression_fields_keep_their_placeholders_for_the_compiler():
    resolved = resolve_placeholders(COMPONENTS, {"min": 2, "limit": 10}, {"OUT_DIR": "results"})
    assert resolved[1]["config"]["where"] == "a > ${min}"


def test_a_resolved_job_runs(data_root):
    (data_root / "results").mkdir()
    parameters, environment = {"min": 2, "limit": 10}, {"OUT_DIR": "results"}
    resolved = resolve_placeholders(COMPONENTS, parameters, environment)
    run_context = context(data_root)
    run_context.values = values_for_expressions(parameters, environment)
    run_job(resolved, run_context)
    assert (data_root / "results" / "out.csv").read_text() == "a\n5\n"


def test_run_job_refuses_unresolved_placeholders_before_any_data_moves(data_root):
    with pytest.raises(GraphError) as raised:
        run_job(COMPONENTS, context(data_root))
    assert raised.value.component in {"f", "l", "out"}
