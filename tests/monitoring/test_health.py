import pytest

from execution.models import State
from monitoring import health
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/health"


def test_it_summarizes_every_check(viewer_client, running_worker):
    response = viewer_client.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["checks"]) == {"database", "migrations", "worker", "jobs", "components", "external"}
    assert body["status"] == "ok"


def test_no_worker_makes_it_degraded_not_unavailable(viewer_client):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["worker"]["status"] == "failing"


def test_a_failing_job_makes_it_degraded(viewer_client, running_worker):
    job = make_job("loader")
    for _ in range(3):  # three failures in a row make a job failing (execution.stats.health_of)
        finished_run(job, State.FAILED)
    body = viewer_client.get(URL).json()
    assert body["status"] == "degraded"
    assert body["checks"]["jobs"]["status"] == "failing"


def test_unapplied_migrations_make_it_a_503(viewer_client, running_worker, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["monitoring.9999_future"])
    response = viewer_client.get(URL)
    assert_error_body(response, 503)
    assert response.json()["status"] == "failing"
    assert response.json()["error"]["details"] == {"failing": ["migrations"]}


def test_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
