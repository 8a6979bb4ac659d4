"""Our retries: `max_retries` / `retry_delay_seconds`, each retry a new execution linked to the first."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from execution.control import start_execution
from execution.lifecycle import run_finished
from execution.models import Execution, this_worker_id
from execution.worker import run_claimed
from tests.execution.conftest import csv_copy_components, make_job, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_job(data_root):
    return make_job("failing", csv_copy_components(source="absent.csv"), max_retries=2, retry_delay_seconds=0)


def test_a_failed_run_is_retried_until_max_retries(failing_job):
    first = run_queued(start_execution(failing_job)[0].pk)
    assert first.state == "failed"
    second = Execution.objects.get(parent=first)
    assert (second.trigger, second.attempt, second.state) == ("retry", 2, "queued")
    assert first.logs.filter(message__contains="Retry 1 of 2").exists()

    run_queued(second.pk)
    third = Execution.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert third.parent_id == first.pk and third.attempt == 3

    run_queued(third.pk)
    assert Execution.objects.count() == 3, "no retry beyond max_retries"
    assert OrmQ.objects.count() == 3


def test_a_retry_delay_waits_through_a_one_off_schedule(failing_job):
    failing_job.config = {"max_retries": 1, "retry_delay_seconds": 300}
    failing_job.save()
    first = run_queued(start_execution(failing_job)[0].pk)
    retry = Execution.objects.get(parent=first)
    assert retry.not_before > timezone.now() + timedelta(seconds=290)
    schedule = Schedule.objects.get(name=f"etlsite.execution.{retry.pk}")
    assert schedule.schedule_type == Schedule.ONCE and schedule.next_run == retry.not_before
    assert OrmQ.objects.count() == 1, "only the first attempt's task was enqueued"


def test_succeeded_and_stopped_runs_are_not_retried(copy_job):
    copy_job.config = {"max_retries": 3, "retry_delay_seconds": 0}
    copy_job.save()
    assert run_queued(start_execution(copy_job)[0].pk).state == "succeeded"
    stopped, _ = start_execution(copy_job)
    stopped.claim(this_worker_id())
    stopped.request_stop(None)
    assert run_claimed(stopped, this_worker_id()) == "stopped"
    run_finished(stopped)
    assert Execution.objects.count() == 2
