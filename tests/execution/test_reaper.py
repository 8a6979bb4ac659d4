"""The reaper: runs whose worker is gone are failed (or retried), with a log line saying why."""

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from execution.control import start_execution
from execution.lifecycle import run_finished
from execution.models import Execution, this_worker_id
from execution.reaper import REAPER_SCHEDULE, ensure_reaper_schedule, reap_abandoned_executions
from execution.worker import ABANDONED, run_claimed

pytestmark = pytest.mark.django_db


def dead_local_worker_id() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:0"


def held(job, worker_id, heartbeat_age=0, state="running") -> Execution:
    return Execution.objects.create(
        job=job,
        state=state,
        worker_id=worker_id,
        started_at=timezone.now() - timedelta(seconds=heartbeat_age + 1),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age),
    )


def test_a_run_whose_local_worker_process_died_fails_at_once(copy_job):
    execution = held(copy_job, dead_local_worker_id())
    assert reap_abandoned_executions() == [execution.pk]
    execution.refresh_from_db()
    assert execution.state == "failed" and "is gone" in execution.error["message"]
    assert execution.logs.get(level="error").message == execution.error["message"]
    assert execution.events.last().by == "reaper"


def test_a_run_on_another_machine_fails_once_its_heartbeat_is_stale(copy_job, settings):
    settings.ETL_HEARTBEAT_STALE_SECONDS = 60
    fresh = held(copy_job, "other-host:123:1", heartbeat_age=5)
    assert reap_abandoned_executions() == []
    stale = held(copy_job, "other-host:124:1", heartbeat_age=120, state="paused")
    assert reap_abandoned_executions() == [stale.pk]
    assert "No heartbeat" in Execution.objects.get(pk=stale.pk).error["message"]
    assert Execution.objects.get(pk=fresh.pk).state == "running"


def test_a_live_worker_with_a_fresh_heartbeat_is_left_alone(copy_job):
    execution = held(copy_job, this_worker_id())
    assert reap_abandoned_executions() == []
    assert Execution.objects.get(pk=execution.pk).state == "running"


def test_finished_and_unclaimed_runs_are_not_touched(copy_job):
    held(copy_job, dead_local_worker_id(), state="succeeded")
    Execution.objects.create(job=copy_job, state="queued")
    assert reap_abandoned_executions() == []


def test_a_reaped_run_with_retries_left_is_retried(copy_job):
    copy_job.config = {"max_retries": 1, "retry_delay_seconds": 0}
    copy_job.save()
    execution = held(copy_job, dead_local_worker_id())
    reap_abandoned_executions()
    retry = Execution.objects.get(parent=execution)
    assert retry.trigger == "retry" and retry.attempt == 2 and retry.state == "queued"
    assert OrmQ.objects.count() == 1


def test_the_reaper_schedule_exists_once(db):
    ensure_reaper_schedule()
    ensure_reaper_schedule()
    schedule = Schedule.objects.get(name=REAPER_SCHEDULE)
    assert schedule.func == "execution.tasks.reap_abandoned_executions"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


def test_a_worker_that_comes_back_after_being_reaped_abandons_the_run(copy_job, data_root):
    copy_job.config = {"max_retries": 1, "retry_delay_seconds": 0}
    copy_job.save()
    execution, _ = start_execution(copy_job)
    execution.claim(this_worker_id())
    assert execution.fail_abandoned("the worker went quiet")
    run_finished(execution)
    assert run_claimed(execution, this_worker_id()) == ABANDONED
    assert Execution.objects.get(pk=execution.pk).state == "failed"
    assert Execution.objects.filter(parent=execution).count() == 1, "retried once, by the reaper's side"
    assert execution.logs.filter(message__contains="marked failed elsewhere").exists()
    assert not (data_root / "out.csv").exists()
