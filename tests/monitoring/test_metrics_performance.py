import pytest

from execution.models import State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/performance"


def _route(body, method, route):
    matches = [r for r in body["requests"]["routes"] if r["method"] == method and r["route"] == route]
    return matches[0] if matches else None


def test_requests_are_counted_per_route_with_ids_folded(viewer_client):
    for job_id in (1, 2, 3):
        viewer_client.get(f"/api/v1/jobs/{job_id}")
    body = viewer_client.get(URL).json()
    route = _route(body, "GET", "/api/v1/jobs/{pk}")
    assert route["count"] == 3
    assert route["client_errors"] == 3  # the jobs do not exist: 404s
    assert route["server_errors"] == 0
    assert 0 < route["latency_seconds"]["p50"] <= route["latency_seconds"]["p99"]


def test_the_request_rate_grows_with_requests(viewer_client):
    before = viewer_client.get(URL).json()["requests"]["total"]
    for _ in range(4):
        viewer_client.get("/api/v1/info/version")
    after = viewer_client.get(URL).json()
    # 4 requests and the first /metrics/performance call itself
    assert after["requests"]["total"] == before + 5
    assert _route(after, "GET", "/api/v1/info/version")["count"] == 4


def test_server_errors_raise_the_error_rate(viewer_client, settings):
    settings.ROOT_URLCONF = "tests.monitoring.failing_urls"
    viewer_client.raise_request_exception = False
    viewer_client.get("/boom")
    settings.ROOT_URLCONF = "etlsite.urls"
    body = viewer_client.get(URL).json()
    boom = _route(body, "GET", "/boom")
    assert boom["server_errors"] == 1
    assert boom["error_rate"] == 1.0
    assert body["requests"]["error_rate"] > 0


def test_etl_throughput_is_included(viewer_client):
    finished_run(make_job("loader"), State.SUCCEEDED, rows=42)
    assert viewer_client.get(URL, {"window": "1h"}).json()["etl"]["rows_moved"] == 42


def test_a_bad_window_is_a_400(viewer_client):
    assert_error_body(viewer_client.get(URL, {"window": "-5m"}), 400, "window")


def test_performance_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
