"""The engine records when each component worked (seconds since the run
started): the execution page draws its per-component timeline from them."""

import time

from execution.engine.runner import run_job
from tests.engine.helpers import context, inline


def test_each_component_has_a_first_and_last_moment_of_work_in_order(data_root):
    pauses = []

    def slow_control(progress):
        # Time passes between batches, as it does while other components work.
        time.sleep(0.02)
        pauses.append(progress.rows_read)

    components = [
        inline("rows", [{"a": n} for n in range(10)]),
        {"name": "kept", "type": "filter", "inputs": ["rows"], "config": {"where": "a > 2"}},
        {"name": "out", "type": "csv_sink", "inputs": ["kept"], "config": {"path": "out.csv"}},
    ]
    result = run_job(components, context(data_root, batch_size=2, control=slow_control))
    counters = result.components
    for name in ("rows", "kept", "out"):
        since, until = counters[name]["busy_from"], counters[name]["busy_until"]
        assert 0 <= since <= until <= result.seconds + 0.001, name  # offsets are rounded to ms
        # Busy time fits in the stretch, which is wider: the engine took turns.
        assert counters[name]["seconds"] <= until - since + 1e-3
    assert counters["rows"]["busy_until"] - counters["rows"]["busy_from"] >= 0.05
    # The sink commits after the last batch was read.
    assert counters["out"]["busy_until"] >= counters["rows"]["busy_until"]
    assert pauses
