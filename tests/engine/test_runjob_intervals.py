"""`manage.py runjob --param interval_start=... --param interval_end=...`:
the built-in interval parameters need no context parameter."""

import pytest
from django.core.management import CommandError, call_command

from execution.models import Execution
from tests.execution.conftest import csv_rows, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def daily(data_root):
    (data_root / "in").mkdir()
    (data_root / "in" / "2026-03-02T00:00:00+00:00.csv").write_text(csv_rows(4))
    return make_job(
        "daily_cli",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "in/${interval_start}.csv"}},
            {
                "name": "out",
                "type": "csv_sink",
                "inputs": ["rows"],
                "config": {"path": "out_${interval_end}.csv"},
            },
        ],
    )


def test_runjob_takes_the_interval_as_parameters(daily, data_root):
    call_command(
        "runjob", "daily_cli", "--param", "interval_start=2026-03-02", "--param", "interval_end=2026-03-03"
    )
    execution = Execution.objects.get()
    assert execution.state == "succeeded" and execution.trigger == "cli"
    assert execution.rows_read == 4
    assert (data_root / "out_2026-03-03T00:00:00+00:00.csv").exists()


def test_runjob_refuses_an_interval_that_is_not_iso_8601(daily):
    with pytest.raises(CommandError, match="interval_start"):
        call_command("runjob", "daily_cli", "--param", "interval_start=last tuesday")
    assert not Execution.objects.exists()
