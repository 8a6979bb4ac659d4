"""Paused time is not running time: elapsed, rate and time left stand still
while a run is paused (GET /jobs/{id}/progress, the execution page)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from execution.control import start_execution
from execution.models import Execution, ExecutionEvent, State
from tests.execution.conftest import csv_copy_components, csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db


def paused_run(job, *, ran: int, paused_for: int) -> Execution:
    now = timezone.now()
    started = now - timedelta(seconds=ran + paused_for)
    execution = Execution.objects.create(
        job=job,
        state=State.PAUSED,
        worker_id="w",
        started_at=started,
        progress={"percent": 25.0, "rows_read": 1000},
        rows_read=1000,
    )
    ExecutionEvent.objects.create(
        execution=execution, created_at=started, from_state="queued", to_state="running"
    )
    ExecutionEvent.objects.create(
        execution=execution, created_at=now - timedelta(seconds=paused_for), action="pause"
    )
    ExecutionEvent.objects.create(
        execution=execution,
        created_at=now - timedelta(seconds=paused_for),
        from_state="pausing",
        to_state="paused",
    )
    return execution


def test_a_paused_run_counts_only_its_running_time(reader_client, copy_job):
    paused_run(copy_job, ran=30, paused_for=600)
    first = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress").json()
    assert 29.5 <= first["elapsed_seconds"] <= 31
    assert 599 <= first["paused_seconds"] <= 602
    # 25 % in 30 s of running: 90 s left, not 30 minutes.
    assert 85 <= first["eta_seconds"] <= 95
    assert 30 <= first["rows_per_second"] <= 34


def test_the_time_left_does_not_grow_while_paused(reader_client, copy_job):
    execution = paused_run(copy_job, ran=30, paused_for=60)
    first = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress").json()
    # Ten more minutes standing still.
    Execution.objects.filter(pk=execution.pk).update(started_at=execution.started_at - timedelta(seconds=600))
    ExecutionEvent.objects.filter(execution=execution).exclude(to_state="running").update(
        created_at=timezone.now() - timedelta(seconds=660)
    )
    later = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress").json()
    assert abs(later["eta_seconds"] - first["eta_seconds"]) < 2
    assert abs(later["elapsed_seconds"] - first["elapsed_seconds"]) < 2


def test_after_a_resume_the_pause_stays_out_of_the_elapsed_time(reader_client, copy_job):
    execution = paused_run(copy_job, ran=20, paused_for=100)
    now = timezone.now()
    ExecutionEvent.objects.create(
        execution=execution, created_at=now - timedelta(seconds=10), from_state="paused", to_state="queued"
    )
    ExecutionEvent.objects.create(
        execution=execution, created_at=now - timedelta(seconds=10), from_state="queued", to_state="running"
    )
    Execution.objects.filter(pk=execution.pk).update(state=State.RUNNING)
    body = reader_client.get(f"/api/v1/jobs/{copy_job.pk}/progress").json()
    # 10 s before the pause and 10 s since the resume.
    assert 29.5 <= body["elapsed_seconds"] <= 31 and 89 <= body["paused_seconds"] <= 91


def test_a_finished_run_keeps_throughput_samples_served_by_its_metrics(reader_client, data_root):
    (data_root / "in.csv").write_text(csv_rows(1000))
    job = make_job("sampled", csv_copy_components(), batch_size=100)
    execution = run_queued(start_execution(job)[0].pk)
    samples = execution.progress["samples"]
    assert samples[0] == [0.0, 0] and samples[-1][1] == 1000
    body = reader_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}/metrics").json()
    assert body["throughput"] and body["throughput"][-1]["rows_read"] == 1000
    assert all(point["rows_per_second"] >= 0 for point in body["throughput"])
    counters = body["components"]["out"]
    assert 0 <= counters["busy_from"] <= counters["busy_until"]
    # Listings stay small: the samples are not part of an execution's JSON.
    listed = reader_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}").json()
    assert "samples" not in listed["progress"] and listed["progress"]["rows_read"] == 1000
