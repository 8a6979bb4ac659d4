"""GET /api/v1/jobs/{id}/health, /performance, /statistics, /timeline"""

from datetime import timedelta

import pytest
from django.utils import timezone

from execution.control import RunRequest, start_execution
from execution.lifecycle import request_action
from execution.models import Action, Execution, this_worker_id
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db


def finished(job, state, seconds=10.0, rows=1000, **fields) -> Execution:
    end = timezone.now()
    return Execution.objects.create(
        job=job,
        state=state,
        started_at=end - timedelta(seconds=seconds),
        finished_at=end,
        rows_read=rows,
        rows_written=rows,
        **fields,
    )


def health(client, job):
    return client.get(f"/api/v1/jobs/{job.pk}/health").json()


def test_a_job_whose_runs_succeed_is_healthy(reader_client, copy_job):
    finished(copy_job, "failed")
    finished(copy_job, "succeeded")
    body = health(reader_client, copy_job)
    assert body["status"] == "degraded", "one failure in two runs is a 50% success rate"
    for _ in range(8):
        finished(copy_job, "succeeded")
    body = health(reader_client, copy_job)
    assert body["status"] == "ok" and body["success_rate"] == 0.9 and body["consecutive_failures"] == 0
    assert body["last_failure"]["execution"]


def test_consecutive_failures_make_a_job_degraded_then_failing(reader_client, copy_job):
    for _ in range(10):
        finished(copy_job, "succeeded")
    finished(copy_job, "failed", error={"message": "boom"})
    assert health(reader_client, copy_job)["status"] == "degraded"
    finished(copy_job, "failed")
    last = finished(copy_job, "failed")
    body = health(reader_client, copy_job)
    assert body["status"] == "failing" and body["consecutive_failures"] == 3
    assert body["last_failure"]["execution"] == last.pk


def test_an_overdue_schedule_degrades_health(reader_client, copy_job):
    copy_job.config = {"schedule": "0 0 1 1 *"}
    copy_job.save()
    # It existed at its last yearly slot, and nothing ran since.
    type(copy_job).objects.filter(pk=copy_job.pk).update(created_at=timezone.now() - timedelta(days=800))
    body = health(reader_client, copy_job)
    assert body["status"] == "degraded" and body["overdue_schedule"]["late_seconds"] >= 3600


def test_performance_gives_duration_percentiles_and_rates(reader_client, copy_job):
    for seconds in range(1, 21):
        finished(copy_job, "succeeded", seconds=float(seconds), rows=seconds * 100)
    finished(copy_job, "failed", seconds=500.0)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/performance").json()
    assert body["window"] == 20
    assert body["duration_seconds"]["p50"] == pytest.approx(10.5, abs=0.1)
    assert body["duration_seconds"]["p95"] == pytest.approx(19.05, abs=0.1)
    assert body["duration_seconds"]["max"] == pytest.approx(20, abs=0.1)
    assert body["rows_per_second"]["p50"] == pytest.approx(100, abs=1)


def test_statistics_count_runs_by_state_and_sum_the_rows(reader_client, copy_job):
    finished(copy_job, "succeeded", rows=100)
    finished(copy_job, "succeeded", rows=50, rows_rejected=5)
    finished(copy_job, "failed", rows=0)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/statistics").json()
    assert body["executions"] == 3
    assert (
        body["by_state"]["succeeded"] == 2
        and body["by_state"]["failed"] == 1
        and body["by_state"]["paused"] == 0
    )
    assert body["rows_written"] == 150 and body["rows_rejected"] == 5


def test_the_timeline_lists_every_state_change_and_request_with_who(reader_client, copy_job, operator):
    execution, _ = start_execution(copy_job, RunRequest(user=operator))
    execution.claim(this_worker_id())
    request_action(copy_job, Action.STOP, operator)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/timeline").json()
    rows = [(e["action"], e["from_state"], e["to_state"], e["by"]) for e in body["results"]]
    assert rows == [
        ("start", "", "queued", "operator"),
        ("", "queued", "running", this_worker_id()),
        ("stop", "running", "stopping", "operator"),
    ]
    stops = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/timeline", {"to_state": "stopping"}).json()
    assert stops["count"] == 1


@pytest.mark.parametrize("route", ["health", "performance", "statistics", "timeline"])
def test_a_job_that_never_ran_answers_with_empty_figures(reader_client, copy_job, route):
    assert reader_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}").status_code == 200


@pytest.mark.parametrize("route", ["health", "performance", "statistics", "timeline"])
def test_a_missing_job_is_a_404(reader_client, route):
    assert_error_body(reader_client.get(f"/api/v1/jobs/999999/{route}"), 404)


def test_a_bad_timeline_filter_is_a_400(reader_client, copy_job):
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/timeline", {"since": "yesterday"}), 400)


@pytest.mark.parametrize("route", ["health", "performance", "statistics", "timeline"])
def test_anonymous_gets_401(anon_client, copy_job, route):
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/{route}"), 401)
