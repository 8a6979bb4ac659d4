"""The long-running demo job and its generated payments file."""

import pytest
from django.core.management import call_command

from execution.control import start_execution
from execution.models import State
from jobs.models import Job
from monitoring import demo_data, setup
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def test_the_file_is_generated_once_the_same_every_time(data_root):
    first = demo_data.ensure_payments_file(rows=1000)
    assert first["outcome"] == "created (1,000 rows)"
    text = demo_data.payments_file().read_text()
    lines = text.splitlines()
    assert lines[0] == "id,customer,amount,currency" and len(lines) == 1001
    assert lines[1] == "1,2920,-2.71,EUR"
    assert demo_data.ensure_payments_file(rows=1000)["outcome"] == "found"
    assert demo_data.payments_file().read_text() == text
    assert not demo_data.payments_file().with_suffix(".partial").exists()


def test_initialize_creates_the_long_demo_job_which_runs_on_the_file(data_root):
    report = setup.initialize_system(create_admin=False)
    assert report["long_demo_job"] == "created"
    assert setup.initialize_system(create_admin=False)["long_demo_job"] == "found"
    job = Job.objects.get(name=demo_data.LONG_DEMO_JOB_NAME)
    assert job.effective_config["batch_size"] == demo_data.LONG_DEMO_BATCH_SIZE
    demo_data.ensure_payments_file(rows=500)
    execution = run_queued(start_execution(job)[0].pk)
    assert execution.state == State.SUCCEEDED and execution.rows_read == 500
    assert 0 < execution.rows_written < 500  # the negative amounts are filtered out
    assert execution.counters["payments"]["batches"] == 25


def test_the_command_writes_the_file(data_root, capsys):
    demo_data.ensure_payments_file(rows=10)
    call_command("demo_data")
    assert "demo payments: found" in capsys.readouterr().out
