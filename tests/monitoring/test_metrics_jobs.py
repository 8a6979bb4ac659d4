from datetime import timedelta

import pytest

from execution.models import State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/jobs"


def _jobs(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return {item["job"]["name"]: item for item in response.json()["jobs"]}


def test_it_counts_executions_success_rate_and_rows_moved_per_job(viewer_client):
    job = make_job("loader")
    make_job("idle")
    finished_run(job, State.SUCCEEDED, rows=100)
    finished_run(job, State.SUCCEEDED, rows=50)
    finished_run(job, State.FAILED, rows=7)
    jobs = _jobs(viewer_client)
    assert jobs["loader"]["executions_by_state"]["succeeded"] == 2
    assert jobs["loader"]["executions_by_state"]["failed"] == 1
    assert jobs["loader"]["success_rate"] == pytest.approx(2 / 3, abs=1e-3)
    # Rows moved are the rows the sink wrote.
    assert jobs["loader"]["rows_moved"] == 157
    assert jobs["loader"]["last_run_at"]
    assert jobs["idle"]["success_rate"] is None
    assert jobs["idle"]["last_run_at"] is None


def test_the_window_limits_success_rate_and_rows(viewer_client):
    job = make_job("loader")
    finished_run(job, State.FAILED, rows=5, ago=timedelta(days=3))
    finished_run(job, State.SUCCEEDED, rows=10, ago=timedelta(hours=1))
    assert _jobs(viewer_client, window="1d")["loader"]["success_rate"] == 1.0
    assert _jobs(viewer_client, window="1d")["loader"]["rows_moved"] == 10
    assert _jobs(viewer_client, window="7d")["loader"]["rows_moved"] == 15


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window": "soon"}, "window"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01", "window": "1d"}, "since"),
        # Found by random fuzzing: these were 500s (timedelta overflow, impossible dates).
        ({"window": "9" * 30}, "window"),
        ({"window": "367d"}, "window"),
        ({"since": "2026-02-30T00:00:00Z"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"until": "0001-01-01T00:00:00Z", "window": "1d"}, "window"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_parameter(viewer_client, params, field):
    assert_error_body(viewer_client.get(URL, params), 400, field)


def test_job_metrics_need_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
