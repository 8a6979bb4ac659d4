"""The reaper runs on every worker machine at once (its schedule, and at each
worker's start): two reapers never both act on a run, and a run whose worker
heartbeats while a reaper looks is left alone. (Work spread over two machines
with nothing run twice: test_concurrency.py.)"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from execution.models import Execution, ExecutionEvent
from execution.reaper import reap_abandoned_executions
from tests.execution.conftest import make_job

pytestmark = pytest.mark.django_db


def held_by_another_machine(heartbeat_age: int) -> Execution:
    job = make_job("remote", [{"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}}])
    now = timezone.now()
    return Execution.objects.create(
        job=job,
        state="running",
        worker_id="machine-b:4242:1700000000",
        started_at=now - timedelta(seconds=heartbeat_age + 1),
        heartbeat_at=now - timedelta(seconds=heartbeat_age),
    )


@pytest.mark.django_db(transaction=True)  # the two reapers use their own connections
def test_reapers_on_two_machines_at_once_fail_an_abandoned_run_once():
    execution = held_by_another_machine(heartbeat_age=600)
    both_ready = threading.Barrier(2)
    reaped = []

    def reaper():
        try:
            both_ready.wait()
            reaped.append(reap_abandoned_executions())
        finally:
            connection.close()

    threads = [threading.Thread(target=reaper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(reaped) == [[], [execution.pk]]
    assert ExecutionEvent.objects.filter(execution=execution, to_state="failed").count() == 1
    assert execution.logs.filter(level="error").count() == 1


def test_a_run_that_heartbeats_while_a_reaper_looks_is_left_alone():
    execution = held_by_another_machine(heartbeat_age=600)
    seen_by_reaper = Execution.objects.get(pk=execution.pk)
    Execution.objects.filter(pk=execution.pk).update(heartbeat_at=timezone.now())  # the worker beats

    assert not seen_by_reaper.fail_abandoned("No heartbeat for over 60 s; marked failed.")
    assert Execution.objects.get(pk=execution.pk).state == "running"
