"""Downstream jobs start (trigger `dependency`) when an upstream run ends in a matching state."""

import pytest

from execution.control import start_execution
from execution.models import Execution
from jobs.models import JobDependency
from tests.execution.conftest import csv_copy_components, make_job, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def downstreams(copy_job, data_root):
    jobs = {}
    for condition in ("on_success", "on_failure", "always"):
        jobs[condition] = make_job(f"after_{condition}", csv_copy_components(target=f"{condition}.csv"))
        JobDependency.objects.create(upstream=copy_job, downstream=jobs[condition], condition=condition)
    return jobs


def started_jobs(upstream_execution) -> set[str]:
    runs = Execution.objects.filter(trigger="dependency", queued_at__gte=upstream_execution.queued_at)
    return {run.job.name for run in runs}


def test_a_success_starts_the_on_success_and_always_jobs(copy_job, downstreams):
    execution = run_queued(start_execution(copy_job)[0].pk)
    assert execution.state == "succeeded"
    assert started_jobs(execution) == {"after_on_success", "after_always"}
    assert execution.logs.filter(message__contains="Started downstream job 'after_always'").exists()


def test_a_failure_starts_the_on_failure_and_always_jobs(copy_job, downstreams, data_root):
    (data_root / "in.csv").unlink()
    execution = run_queued(start_execution(copy_job)[0].pk)
    assert execution.state == "failed"
    assert started_jobs(execution) == {"after_on_failure", "after_always"}


def test_a_failure_that_will_be_retried_starts_nothing_yet(copy_job, downstreams, data_root):
    copy_job.config = {"max_retries": 1, "retry_delay_seconds": 0}
    copy_job.save()
    (data_root / "in.csv").unlink()
    first = run_queued(start_execution(copy_job)[0].pk)
    assert started_jobs(first) == set()
    retry = Execution.objects.get(parent=first)
    run_queued(retry.pk)
    assert started_jobs(first) == {"after_on_failure", "after_always"}


def test_a_downstream_that_cannot_start_is_logged_on_the_upstream_run(copy_job, downstreams):
    start_execution(downstreams["always"])  # occupies its only slot
    execution = run_queued(start_execution(copy_job)[0].pk)
    assert execution.logs.filter(level="warning", message__contains="'after_always' not started").exists()


def test_stopping_a_run_before_it_started_counts_as_its_end(operator_client, copy_job, downstreams):
    execution, _ = start_execution(copy_job)
    response = operator_client.post(f"/api/v1/jobs/{copy_job.pk}/stop", {}, format="json")
    assert response.json()["state"] == "stopped"
    assert started_jobs(execution) == {"after_always"}
