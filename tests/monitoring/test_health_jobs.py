from datetime import timedelta

import pytest
from django.utils import timezone

from execution.models import Execution, State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/jobs"


def test_jobs_are_ok_when_their_runs_succeed(viewer_client):
    job = make_job("nightly")
    finished_run(job, State.SUCCEEDED, ago=timedelta(hours=2))
    finished_run(job, State.SUCCEEDED, ago=timedelta(hours=1))
    response = viewer_client.get(URL)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["failing"] == [] and response.json()["degraded"] == []


def test_job_health_is_the_same_as_the_job_s_own_health_route(viewer_client):
    job = make_job("nightly")
    finished_run(job, State.FAILED, ago=timedelta(hours=2))
    finished_run(job, State.SUCCEEDED, ago=timedelta(hours=1))
    body = viewer_client.get(URL).json()
    own = viewer_client.get(f"/api/v1/jobs/{job.pk}/health").json()
    assert body["status"] == own["status"] == "degraded"
    assert body["degraded"] == [{"id": job.pk, "name": "nightly", "reasons": own["reasons"]}]


def test_one_failure_degrades_a_job_and_three_in_a_row_make_it_failing(viewer_client):
    job = make_job("nightly")
    finished_run(job, State.SUCCEEDED, ago=timedelta(hours=2))
    assert viewer_client.get(URL).json()["status"] == "ok"
    finished_run(job, State.FAILED, ago=timedelta(minutes=3))
    body = viewer_client.get(URL).json()
    assert body["status"] == "degraded" and [item["name"] for item in body["degraded"]] == ["nightly"]
    finished_run(job, State.FAILED, ago=timedelta(minutes=2))
    finished_run(job, State.FAILED, ago=timedelta(minutes=1))
    response = viewer_client.get(URL)
    assert_error_body(response, 503)
    body = response.json()
    assert body["status"] == "failing"
    assert [item["name"] for item in body["failing"]] == ["nightly"]
    assert "nightly" in body["message"]


def test_a_scheduled_job_that_missed_its_run_is_overdue(viewer_client):
    yearly = make_job("yearly", config={"schedule": "0 0 1 1 *", "timezone": "UTC", "enabled": True})
    # It existed at its last slot (a job made after a slot never missed it).
    type(yearly).objects.filter(pk=yearly.pk).update(created_at=timezone.now() - timedelta(days=800))
    job = make_job("every_minute", config={"schedule": "* * * * *", "timezone": "UTC", "enabled": True})
    Execution.objects.create(job=job, state=State.RUNNING, queued_at=timezone.now())
    response = viewer_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [item["name"] for item in body["overdue"]] == ["yearly"]
    assert body["status"] == "degraded"


def test_a_disabled_schedule_is_never_overdue(viewer_client):
    make_job("paused_job", config={"schedule": "* * * * *", "timezone": "UTC", "enabled": False})
    assert viewer_client.get(URL).json()["overdue"] == []


def test_job_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
