"""`manage.py runjob`: runs a saved job in the foreground."""

import gc
import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command

from contexts.models import Context, Parameter
from execution.management.commands import runjob
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
    # A CSV's columns are known only when it is read, so this fails at run time.
    (data_root / "in.csv").write_text("a\n1\n")
    csv = {"name": "src", "type": "csv_source", "config": {"path": "in.csv"}}
    make_job("bad", [csv, {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "b > 1"}}])
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


@pytest.mark.django_db
def test_a_secret_parameter_in_a_file_path_is_refused_without_showing_it(data_root):
    context = Context.objects.create(name="dev")
    secret = Parameter(context=context, name="token", type="secret")
    secret.set_value("hunter2-very-secret")
    secret.save()
    source = {"name": "src", "type": "csv_source", "config": {"path": "${token}/in.csv"}}
    make_job(
        "leaky", [source, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o"}}]
    )
    with pytest.raises(CommandError) as raised:
        call_command("runjob", "leaky", "--context", "dev")
    assert "components.src.config.path" in str(raised.value) and "'token' is a secret" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def sqlite_job(name):
    sink = {
        "name": "out",
        "type": "sqlite_sink",
        "inputs": ["f"],
        "config": {"connection": "lite", "table": "t"},
    }
    filter_ = {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "a >= ${min}"}}
    return make_job(name, [SOURCE, filter_, sink])


@pytest.mark.django_db
def test_parameters_are_type_checked_when_a_connection_is_given(data_root):
    context = Context.objects.create(name="dev")
    context.parameters.create(name="min", type="integer", value=1)
    sqlite_job("to_lite")
    sqlite3.connect(data_root / "out.db").close()  # a sqlite connection opens an existing file only
    url = f"lite=sqlite://{data_root}/out.db"  # sqlite:///abs/path
    with pytest.raises(CommandError, match=r"parameters\.min: Expected a whole number"):
        call_command("runjob", "to_lite", "--context", "dev", "--param", "min=two", "--connection", url)
    with pytest.raises(CommandError, match="has no parameter 'max'"):
        call_command("runjob", "to_lite", "--context", "dev", "--param", "max=2", "--connection", url)
    assert (data_root / "out.db").stat().st_size == 0

    call_command("runjob", "to_lite", "--context", "dev", "--param", "min=2", "--connection", url)
    with sqlite3.connect(data_root / "out.db") as connection:
        assert connection.execute("SELECT a FROM t ORDER BY a").fetchall() == [(2,), (3,)]


@pytest.mark.django_db
def test_it_records_the_run_as_a_cli_execution_with_logs(data_root):
    from execution.models import Execution

    job = make_job(
        "recorded",
        [SOURCE, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "r.csv"}}],
    )
    call_command("runjob", "recorded")
    execution = Execution.objects.get(job=job)
    assert (execution.state, execution.trigger) == ("succeeded", "cli")
    assert execution.counters["out"]["rows_in"] == 3
    assert execution.logs.filter(message__contains="every sink committed").exists()


@pytest.mark.django_db
def test_a_failed_cli_run_is_recorded_as_failed(data_root):
    from execution.models import Execution

    (data_root / "in.csv").write_text("a\n1\n")
    job = make_job(
        "broken",
        [{"name": "src", "type": "csv_source", "config": {"path": "in.csv"}},
         {"name": "f", "type": "filter", "inputs": ["src"], "config": {"where": "nope > 1"}},
         {"name": "out", "type": "csv_sink", "inputs": ["f"], "config": {"path": "b.csv"}}],
    )  # fmt: skip
    with pytest.raises(CommandError, match="component 'f'"):
        call_command("runjob", "broken")
    assert Execution.objects.get(job=job).state == "failed"
    assert not (data_root / "b.csv").exists()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_with(stdout, stderr, job_name):
    # Streams given to the command itself, as manage.py does, with colours
    # forced on: Django's stderr style would make the bar bold red.
    command = runjob.Command(stdout=stdout, stderr=stderr, force_color=True)
    call_command(command, job_name, force_color=True)


@pytest.mark.django_db
def test_on_a_terminal_the_bar_is_drawn_in_plain_colours(data_root):
    make_job(
        "tty", [SOURCE, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}}]
    )
    stdout, stderr = Terminal(), Terminal()
    run_with(stdout, stderr, "tty")
    drawn = stderr.getvalue()
    assert "\r[" in drawn and "100.0%" in drawn and "3 rows read" in drawn
    assert "\x1b[" not in drawn


@pytest.mark.django_db
def test_without_a_terminal_it_prints_plain_progress_lines_before_the_table(data_root):
    make_job(
        "piped", [SOURCE, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}}]
    )
    stdout, stderr = io.StringIO(), io.StringIO()
    run_with(stdout, stderr, "piped")
    lines = stdout.getvalue().splitlines()
    progress = [number for number, line in enumerate(lines) if line.startswith("progress ")]
    table = next(number for number, line in enumerate(lines) if line.startswith("component"))
    assert progress and max(progress) < table
    assert lines[max(progress)] == "progress 100.0%  3 rows read"
    assert all("\r" not in lines[n] and "\x1b[" not in lines[n] for n in progress)
    assert stderr.getvalue() == ""


@pytest.mark.django_db
def test_a_runjob_process_freezes_its_startup_objects_and_call_command_does_not(data_root):
    """`manage.py runjob` (run_from_argv) moves what startup made out of the
    cyclic GC's sight (docs/performance.md); a test's call_command must not
    freeze the test process."""
    make_job(
        "frozen",
        [SOURCE, {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "f.csv"}}],
    )
    gc.unfreeze()
    try:
        call_command("runjob", "frozen")
        assert gc.get_freeze_count() == 0
        runjob.Command().run_from_argv(["manage.py", "runjob", "frozen"])
        assert gc.get_freeze_count() > 0
        assert (data_root / "f.csv").read_text() == "a\n1\n2\n3\n"
    finally:
        gc.unfreeze()
