"""`manage.py runjob`: runs a saved job in the foreground."""

import pytest
from django.core.management import CommandError, call_command

from contexts.models import Context
from jobs.models import Job


def make_job(name, components):
    job = Job.objects.create(name=name, config={"batch_size": 2})
    job.replace_components(components)
    return job


SOURCE = {"name": "src", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": 2}, {"a": 3}]}}


@pytest.mark.django_db
def test_it_runs_a_job_by_name_in_a_context_and_prints_counters(data_root, capsys):
    context = Context.objects.create(name="dev")
    context.parameters.create(name="min", type="integer", value=1)
    make_job(
        "copy",
        [
            SOURCE,
            {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "a >= ${min}"}},
            {"name": "out", "type": "csv_sink", "inputs": ["f"], "config": {"path": "out.csv"}},
        ],
    )
    call_command("runjob", "copy", "--context", "dev", "--param", "min=2")
    assert (data_root / "out.csv").read_text() == "a\n2\n3\n"
    printed = capsys.readouterr().out
    assert "succeeded" in printed and "rows_in" in printed


@pytest.mark.django_db
def test_it_runs_a_job_by_id(data_root):
    job = make_job(
        "by_id", [SOURCE, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}}]
    )
    call_command("runjob", str(job.pk))
    assert (data_root / "o.csv").exists()


@pytest.mark.django_db
def test_a_failing_job_exits_non_zero_naming_the_component(data_root):
    make_job(
        "bad", [SOURCE, {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "b > 1"}}]
    )
    with pytest.raises(CommandError, match="component 'f'"):
        call_command("runjob", "bad")


@pytest.mark.django_db
def test_an_unknown_job_is_refused():
    with pytest.raises(CommandError, match="No job"):
        call_command("runjob", "nope")


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_connection_given_on_the_command_line_is_used(data_root, pg_target):
    table = f"{pg_target['schema']}.t"
    sink = {
        "name": "out",
        "type": "postgres_sink",
        "inputs": ["src"],
        "config": {"connection": "dw", "table": table},
    }
    make_job("to_pg", [SOURCE, sink])
    call_command("runjob", "to_pg", "--connection", f"dw={pg_target['url']}")
    assert pg_target["conn"].execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)
