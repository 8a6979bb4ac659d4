"""DELETE /api/v1/jobs/{id} refuses while the job has active executions."""

import pytest

from execution.control import start_execution
from execution.models import Execution
from jobs.models import Job
from tests.api_base import assert_error_body
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def test_a_job_with_an_active_execution_cannot_be_deleted(admin_client, copy_job):
    execution, _ = start_execution(copy_job)
    response = admin_client.delete(f"/api/v1/jobs/{copy_job.pk}/")
    assert_error_body(response, 409)
    assert response.json()["error"]["details"]["active_executions"] == [execution.pk]
    assert Job.objects.filter(pk=copy_job.pk).exists()


def test_a_job_whose_runs_ended_is_deleted_with_its_history(admin_client, copy_job):
    run_queued(start_execution(copy_job)[0].pk)
    assert admin_client.delete(f"/api/v1/jobs/{copy_job.pk}/").status_code == 204
    assert not Execution.objects.exists()
