"""GET /api/v1/jobs/{id}/metrics, /errors and /executions/{exec_id}/metrics|errors"""

import pytest

from execution.control import start_execution
from tests.api_base import assert_error_body
from tests.execution.conftest import csv_copy_components, csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db


def test_metrics_give_per_component_counters_and_rates(reader_client, data_root):
    (data_root / "in.csv").write_text(csv_rows(1000))
    job = make_job("filtered", csv_copy_components(where="id < 400"), batch_size=100)
    execution = run_queued(start_execution(job)[0].pk)
    body = reader_client.get(f"/api/v1/jobs/{job.pk}/metrics").json()
    assert body["execution"] == execution.pk
    assert body["rows_read"] == 1000 and body["rows_written"] == 400
    rows, kept, out = body["components"]["rows"], body["components"]["kept"], body["components"]["out"]
    assert rows["rows_out"] == 1000 and rows["batches"] == 10 and rows["bytes_read"] > 0
    assert kept["rows_in"] == 1000 and kept["rows_out"] == 400
    assert out["rows_in"] == 400 and out["rows_per_second"] > 0
    same = reader_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}/metrics").json()
    assert same["components"] == body["components"]


def test_errors_name_the_failing_component(reader_client, data_root):
    job = make_job("missing", csv_copy_components(source="absent.csv"))
    execution = run_queued(start_execution(job)[0].pk)
    body = reader_client.get(f"/api/v1/jobs/{job.pk}/errors").json()
    assert body["state"] == "failed" and body["error"]["component"] == "rows"
    assert body["count"] == 1 and "absent.csv" in body["results"][0]["message"]
    same = reader_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}/errors").json()
    assert same["results"] == body["results"]


def test_a_successful_run_has_no_errors(reader_client, copy_job):
    run_queued(start_execution(copy_job)[0].pk)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/errors").json()
    assert body["error"] is None and body["results"] == [] and body["rejects"] == []


@pytest.mark.parametrize("route", ["metrics", "errors"])
def test_a_job_that_never_ran_is_a_404(reader_client, copy_job, route):
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}"), 404)


@pytest.mark.parametrize("route", ["metrics", "errors"])
def test_bad_execution_ids_are_a_400(reader_client, copy_job, route):
    start_execution(copy_job)
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}", {"execution": "-1"}), 400)


@pytest.mark.parametrize("route", ["metrics", "errors"])
def test_anonymous_gets_401(anon_client, copy_job, route):
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}"), 401)
