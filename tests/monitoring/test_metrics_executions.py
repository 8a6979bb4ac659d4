from datetime import timedelta

import pytest
from django.utils import timezone

from execution.models import Execution, State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/executions"


def test_it_counts_active_executions_now(viewer_client):
    job = make_job("loader")
    Execution.objects.create(job=job, state=State.RUNNING, started_at=timezone.now())
    Execution.objects.create(job=job, state=State.QUEUED)
    Execution.objects.create(job=job, state=State.QUEUED)
    Execution.objects.create(job=job, state=State.PAUSED)
    now = viewer_client.get(URL).json()["now"]
    assert now == {"queued": 2, "running": 1, "pausing": 0, "paused": 1, "stopping": 0}


def test_throughput_and_failure_rate_cover_the_window(viewer_client):
    job = make_job("loader")
    finished_run(job, State.SUCCEEDED, rows=30, ago=timedelta(minutes=10))
    finished_run(job, State.FAILED, rows=0, ago=timedelta(minutes=20))
    finished_run(job, State.SUCCEEDED, rows=1000, ago=timedelta(hours=5))
    body = viewer_client.get(URL, {"window": "1h"}).json()
    assert body["finished"] == 2
    assert body["by_state"]["failed"] == 1
    assert body["failure_rate"] == 0.5
    assert body["rows_moved"] == 30
    assert body["rows_per_second"] == pytest.approx(30 / 3600, abs=1e-4)
    assert body["duration_seconds"]["p50"] == 20.0
    assert viewer_client.get(URL, {"window": "1d"}).json()["rows_moved"] == 1030


def test_since_and_until_select_a_range(viewer_client):
    job = make_job("loader")
    run = finished_run(job, rows=5, ago=timedelta(days=2))
    since = (run.finished_at - timedelta(minutes=1)).isoformat()
    until = (run.finished_at + timedelta(minutes=1)).isoformat()
    body = viewer_client.get(URL, {"since": since, "until": until}).json()
    assert body["finished"] == 1


def test_a_range_ending_before_it_starts_is_a_400(viewer_client):
    params = {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert_error_body(viewer_client.get(URL, params), 400, "since")


def test_execution_metrics_need_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
