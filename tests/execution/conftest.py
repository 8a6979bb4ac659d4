"""Fixtures for the execution tests: jobs on real files and a way to run a queued execution in this process (the "sync" mode)."""

import pytest

from contexts.models import Context
from execution.models import Execution
from execution.tasks import run_execution
from jobs.models import Job


def csv_rows(count: int, start: int = 0) -> str:
    lines = ["id,name,amount"]
    lines += [f"{i},name{i},{i % 97}.5" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def make_job(name: str, components: list[dict], **config) -> Job:
    job = Job.objects.create(name=name, config=config)
    job.replace_components(components)
    return job


def csv_copy_components(source="in.csv", target="out.csv", where=None) -> list[dict]:
    components = [{"name": "rows", "type": "csv_source", "inputs": [], "config": {"path": source}}]
    last = "rows"
    if where:
        components.append({"name": "kept", "type": "filter", "inputs": ["rows"], "config": {"where": where}})
        last = "kept"
    components.append({"name": "out", "type": "csv_sink", "inputs": [last], "config": {"path": target}})
    return components


@pytest.fixture
def copy_job(data_root):
    """in.csv (10 rows) -> out.csv in the data root."""
    (data_root / "in.csv").write_text(csv_rows(10))
    return make_job("copy", csv_copy_components())


@pytest.fixture
def context_dev(db):
    return Context.objects.create(name="dev")


def run_queued(execution_id: int) -> Execution:
    """What a worker does with the task, done here and now."""
    run_execution(execution_id)
    return Execution.objects.get(pk=execution_id)
