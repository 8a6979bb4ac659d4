"""GET /api/v1/jobs/{id}/executions and /executions/{exec_id}"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution.models import Execution
from tests.api_base import assert_error_body
from tests.execution.conftest import csv_copy_components, make_job

pytestmark = pytest.mark.django_db


def history(job, **fields) -> Execution:
    return Execution.objects.create(job=job, **fields)


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_history_lists_the_jobs_runs_newest_first(reader_client, copy_job, data_root):
    older, newer = history(copy_job, state="succeeded"), history(copy_job, state="failed")
    history(make_job("other", csv_copy_components()), state="succeeded")
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/executions").json()
    assert body["count"] == 2 and set(body) >= {"next", "previous", "results"}
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]


def test_history_filters_by_state_trigger_and_date_range(reader_client, copy_job):
    now = timezone.now()
    old = history(copy_job, state="succeeded", trigger="schedule", queued_at=now - timedelta(days=3))
    failed = history(copy_job, state="failed", trigger="api", queued_at=now - timedelta(hours=1))
    stopped = history(copy_job, state="stopped", trigger="api", queued_at=now)
    url = f"/api/v1/jobs/{copy_job.pk}/executions"
    assert ids(reader_client.get(url, {"state": "failed"})) == [failed.pk]
    assert ids(reader_client.get(f"{url}?state=failed&state=stopped")) == [stopped.pk, failed.pk]
    assert ids(reader_client.get(url, {"trigger": "schedule"})) == [old.pk]
    since = (now - timedelta(days=1)).isoformat()
    until = (now - timedelta(minutes=5)).isoformat()
    assert ids(reader_client.get(url, {"queued_after": since, "queued_before": until})) == [failed.pk]


def test_history_pages_without_more_queries_per_row(reader_client, copy_job):
    url = f"/api/v1/jobs/{copy_job.pk}/executions"
    history(copy_job, state="succeeded")
    reader_client.get(url)
    with CaptureQueriesContext(connection) as few:
        reader_client.get(url)
    for _ in range(5):
        history(copy_job, state="succeeded")
    with CaptureQueriesContext(connection) as many:
        body = reader_client.get(url, {"page_size": 2}).json()
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"]
    assert len(many) == len(few)


def test_an_unknown_state_filter_is_a_400(reader_client, copy_job):
    assert_error_body(
        reader_client.get(f"/api/v1/jobs/{copy_job.pk}/executions", {"state": "asleep"}), 400, "state"
    )


def test_one_execution_in_full(reader_client, copy_job):
    execution = history(copy_job, state="succeeded", rows_read=5, counters={"rows": {"rows_out": 5}})
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/executions/{execution.pk}").json()
    assert body["id"] == execution.pk and body["job"] == copy_job.pk and body["job_name"] == "copy"
    assert body["rows_read"] == 5 and body["counters"] == {"rows": {"rows_out": 5}}
    assert "encrypted_overrides" not in body


def test_an_execution_of_another_job_is_a_404(reader_client, copy_job, data_root):
    other = history(make_job("other", csv_copy_components()), state="succeeded")
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/executions/{other.pk}"), 404)


def test_anonymous_gets_401(anon_client, copy_job):
    execution = history(copy_job, state="succeeded")
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/executions"), 401)
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/executions/{execution.pk}"), 401)


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00+19:52", "0001-01-01T00:00:00+05:00"])
def test_odd_date_times_are_read_in_utc_or_refused(reader_client, copy_job, value):
    response = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/executions", {"queued_after": value})
    if response.status_code != 200:
        assert_error_body(response, 400, "queued_after")
