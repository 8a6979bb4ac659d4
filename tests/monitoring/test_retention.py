from datetime import timedelta

import pytest
from django.utils import timezone

from etlsite.configuration import apply_changes
from execution.models import Execution, ExecutionLog, State
from monitoring import execution_stats, tasks
from monitoring.models import CustomMetric
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db


def _log(execution, days_ago):
    log = ExecutionLog.objects.create(execution=execution, message="line")
    ExecutionLog.objects.filter(pk=log.pk).update(created_at=timezone.now() - timedelta(days=days_ago))


def test_it_deletes_logs_and_executions_past_their_retention():
    apply_changes({"log_retention_days": 7, "execution_retention_days": 30})
    job = make_job("loader")
    old = finished_run(job, State.SUCCEEDED, rows=10, ago=timedelta(days=40))
    recent = finished_run(job, State.FAILED, ago=timedelta(days=10))
    running = Execution.objects.create(
        job=job, state=State.RUNNING, queued_at=timezone.now() - timedelta(days=60)
    )
    _log(recent, days_ago=10)
    _log(recent, days_ago=1)
    CustomMetric.objects.create(name="m", value=1, recorded_at=timezone.now() - timedelta(days=31))
    report = tasks.apply_retention()
    assert report == {
        "logs_deleted": 1,
        "executions_deleted": 1,
        "custom_metrics_deleted": 1,
        "notification_deliveries_deleted": 0,
    }
    assert set(Execution.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert ExecutionLog.objects.count() == 1
    assert not Execution.objects.filter(pk=old.pk).exists()


def test_all_time_totals_keep_counting_deleted_executions():
    job = make_job("loader")
    finished_run(job, State.SUCCEEDED, rows=10, ago=timedelta(days=400))
    finished_run(job, State.SUCCEEDED, rows=5, ago=timedelta(days=1))
    before = execution_stats.finished_totals()
    tasks.apply_retention()
    assert Execution.objects.count() == 1
    assert (
        execution_stats.finished_totals()
        == before
        == {
            "by_state": {"stopped": 0, "succeeded": 2, "failed": 0},
            "rows_moved": 15,
        }
    )


def test_a_shorter_retention_applies_on_the_next_run():
    finished_run(make_job("loader"), ago=timedelta(days=5))
    tasks.apply_retention()
    assert Execution.objects.count() == 1
    apply_changes({"execution_retention_days": 3})
    tasks.apply_retention()
    assert Execution.objects.count() == 0
