"""GET /api/v1/jobs/{id}/status and /progress"""

from datetime import timedelta

import pytest
from django.utils import timezone

from execution.control import start_execution
from execution.models import Execution
from tests.api_base import assert_error_body
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def test_a_job_that_never_ran_is_idle(reader_client, copy_job):
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/status").json()
    assert body["state"] == "idle" and body["execution"] is None and body["active_executions"] == []


def test_status_shows_the_active_execution(reader_client, copy_job):
    execution, _ = start_execution(copy_job)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/status").json()
    assert body["state"] == "queued"
    assert body["active_executions"] == [execution.pk]
    assert body["execution"]["id"] == execution.pk


def test_status_shows_the_last_run_once_it_ended(reader_client, copy_job):
    execution = run_queued(start_execution(copy_job)[0].pk)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/status/").json()
    assert body["state"] == "succeeded" and body["execution"]["id"] == execution.pk
    assert body["progress"]["percent"] == 100.0


def test_progress_estimates_the_time_left_from_the_rate_so_far(reader_client, copy_job):
    Execution.objects.create(
        job=copy_job,
        state="running",
        worker_id="w",
        started_at=timezone.now() - timedelta(seconds=30),
        progress={"percent": 25.0, "rows_read": 1000},
        rows_read=1000,
    )
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress").json()
    assert body["percent"] == 25.0 and body["rows_read"] == 1000
    assert 85 <= body["eta_seconds"] <= 95
    assert 30 <= body["rows_per_second"] <= 34


def test_progress_of_a_given_execution(reader_client, copy_job):
    first = run_queued(start_execution(copy_job)[0].pk)
    start_execution(copy_job)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress", {"execution": first.pk}).json()
    assert body["execution"] == first.pk and body["rows_read"] == 10 and body["eta_seconds"] is None


def test_progress_of_a_job_that_never_ran_is_a_404(reader_client, copy_job):
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress"), 404)


def test_a_malformed_execution_id_is_a_400(reader_client, copy_job):
    start_execution(copy_job)
    assert_error_body(
        reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress", {"execution": "x"}), 400, "execution"
    )


def test_a_missing_job_is_a_404(reader_client):
    assert_error_body(reader_client.get("/api/v1/jobs/999999/status"), 404)


@pytest.mark.parametrize("route", ["status", "progress"])
def test_anonymous_gets_401(anon_client, copy_job, route):
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}"), 401)
