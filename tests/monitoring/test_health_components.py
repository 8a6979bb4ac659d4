from datetime import timedelta

import pytest

from execution.models import State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/components"


def _by_type(body):
    return {item["type"]: item for item in body["component_types"]}


def test_components_are_ok_when_runs_succeed(viewer_client):
    finished_run(make_job("a"), State.SUCCEEDED)
    body = viewer_client.get(URL).json()
    assert body["status"] == "ok"
    assert _by_type(body)["filter"]["runs"] == 1


def test_a_failing_component_raises_its_type_error_rate(viewer_client):
    job = make_job("a")
    finished_run(job, State.SUCCEEDED, ago=timedelta(minutes=30))
    finished_run(job, State.SUCCEEDED, ago=timedelta(minutes=20))
    finished_run(job, State.FAILED, failed_component="positive", ago=timedelta(minutes=10))
    body = viewer_client.get(URL).json()
    assert body["status"] == "degraded"
    assert _by_type(body)["filter"]["error_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert _by_type(body)["csv_sink"]["status"] == "ok"
    finished_run(job, State.FAILED, failed_component="positive", ago=timedelta(minutes=5))
    response = viewer_client.get(URL)
    assert_error_body(response, 503)
    assert _by_type(response.json())["filter"]["status"] == "failing"


def test_failures_older_than_a_day_no_longer_count(viewer_client):
    finished_run(make_job("a"), State.FAILED, ago=timedelta(days=2))
    assert viewer_client.get(URL).json()["status"] == "ok"


def test_component_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
