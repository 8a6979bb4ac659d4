"""Control paths against a real django-q2 cluster (a `manage.py qcluster` subprocess)."""

import os
import signal
import threading
import time

import pytest
from django.db import connection

from execution.models import Execution
from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for, wait_for_state

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

ROWS = 1_000_000


@pytest.fixture
def big_csv(data_root):
    (data_root / "big.csv").write_text(csv_rows(ROWS))
    return data_root / "big.csv"


def slow_copy_job(name="slow_copy"):
    """A million rows in batches of 100: thousands of batch boundaries."""
    return make_job(
        name,
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
        batch_size=100,
    )


def post(client, job, action, **body):
    response = client.post(f"/api/v1/jobs/{job.pk}/{action}", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def timed_until(execution_id, *states, timeout=10) -> float:
    started = time.monotonic()
    wait_for_state(execution_id, *states, timeout=timeout)
    return time.monotonic() - started


def test_start_pause_resume_stop_on_a_real_worker(qcluster, operator_client, big_csv, data_root):
    job = slow_copy_job()
    execution_id = post(operator_client, job, "start")["id"]
    wait_for(execution_id, lambda e: e.state == "running" and e.rows_read > 0, what="rows read")

    post(operator_client, job, "pause")
    assert timed_until(execution_id, "paused") <= 1.0
    paused = Execution.objects.get(pk=execution_id)
    time.sleep(0.5)
    assert Execution.objects.get(pk=execution_id).rows_read == paused.rows_read, "a paused run kept reading"
    assert 0 < paused.rows_read < ROWS
    assert not (data_root / "out.csv").exists(), "a paused run committed early"

    post(operator_client, job, "resume")
    wait_for(execution_id, lambda e: e.state == "running" and e.rows_read > paused.rows_read, what="progress")

    post(operator_client, job, "stop")
    assert timed_until(execution_id, "stopped") <= 1.0
    assert not (data_root / "out.csv").exists(), "a stopped run left output behind"

    timeline = operator_client.get(f"/api/v1/jobs/{job.pk}/timeline").json()["results"]
    changes = [(event["from_state"], event["to_state"]) for event in timeline if event["to_state"]]
    assert changes == [
        ("", "queued"),
        ("queued", "running"),
        ("running", "pausing"),
        ("pausing", "paused"),
        ("paused", "queued"),
        ("queued", "running"),
        ("running", "stopping"),
        ("stopping", "stopped"),
    ]
    assert {event["by"] for event in timeline if event["to_state"] in ("pausing", "stopping")} == {"operator"}


def test_a_resumed_run_finishes_from_where_it_paused(qcluster, operator_client, big_csv, data_root):
    job = slow_copy_job()
    execution_id = post(operator_client, job, "start")["id"]
    wait_for_state(execution_id, "running")
    post(operator_client, job, "pause")
    wait_for_state(execution_id, "paused")
    post(operator_client, job, "resume")

    # Meanwhile a user browses: the worker's writes must not lock them out.
    statuses = []
    stop_browsing = threading.Event()

    def browse():
        try:
            while not stop_browsing.is_set():
                for route in ("status", "logs", "progress", "metrics", "executions"):
                    statuses.append(operator_client.get(f"/api/v1/jobs/{job.pk}/{route}").status_code)
        finally:
            connection.close()

    browser = threading.Thread(target=browse)
    browser.start()
    try:
        done = wait_for_state(execution_id, "succeeded", "failed", timeout=120)
    finally:
        stop_browsing.set()
        browser.join()
    assert done.state == "succeeded", done.error
    assert done.counters["rows"]["rows_out"] == ROWS, "the source was read again after the resume"
    assert (data_root / "out.csv").read_text().count("\n") == ROWS + 1
    assert len(statuses) >= 10 and set(statuses) == {200}
    assert "database is locked" not in qcluster.output()


def target_rows(pg_target, table) -> int | None:
    name = f'"{pg_target["schema"]}"."{table}"'
    if pg_target["conn"].execute("SELECT to_regclass(%s)", [name]).fetchone()[0] is None:
        return None
    return pg_target["conn"].execute(f"SELECT count(*) FROM {name}").fetchone()[0]


@pytest.mark.postgres
def test_a_worker_killed_mid_load_leaves_nothing_and_a_restart_loads_once(
    qcluster, operator_client, big_csv, warehouse
):
    job = make_job(
        "to_warehouse",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {
                "name": "load",
                "type": "postgres_sink",
                "inputs": ["rows"],
                "config": {
                    "connection": "warehouse",
                    "table": f"{warehouse['schema']}.loaded",
                    "mode": "append",
                },
            },
        ],
        batch_size=1000,
    )
    job.default_context = warehouse["context"]
    job.save()
    execution_id = post(operator_client, job, "start")["id"]
    running = wait_for(
        execution_id, lambda e: e.state == "running" and e.rows_written > 0, what="rows loading"
    )

    os.kill(int(running.worker_id.split(":")[1]), signal.SIGKILL)
    killed_at = time.monotonic()
    failed = wait_for_state(execution_id, "failed", timeout=60)
    assert time.monotonic() - killed_at < 60
    assert "is gone" in failed.error["message"]
    assert failed.logs.filter(level="error", message__contains="is gone").exists()
    assert not target_rows(warehouse, "loaded"), "the killed run left rows in the target"

    restarted = post(operator_client, job, "restart")
    assert restarted["parent"] == execution_id
    done = wait_for_state(restarted["id"], "succeeded", "failed", timeout=120)
    assert done.state == "succeeded", done.error
    assert target_rows(warehouse, "loaded") == ROWS
    distinct = (
        warehouse["conn"]
        .execute(f'SELECT count(DISTINCT id) FROM "{warehouse["schema"]}".loaded')
        .fetchone()[0]
    )
    assert distinct == ROWS
