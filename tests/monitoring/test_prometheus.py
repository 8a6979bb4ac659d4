import pytest
from prometheus_client.parser import text_string_to_metric_families

from execution.models import Execution, State
from tests.api_base import assert_error_body
from tests.conftest import client_for
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/metrics"


def _scrape(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    return families


def _value(families, name, sample_name=None, **labels):
    for sample in families[name].samples:
        if sample.name == (sample_name or name) and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def test_a_prometheus_client_can_parse_the_exposition(viewer_client, running_worker):
    families = _scrape(viewer_client)
    assert families["etlsite_http_requests"].type == "counter"
    assert families["etlsite_http_request_duration_seconds"].type == "histogram"
    assert _value(families, "etlsite_workers") == 1
    assert _value(families, "etlsite_worker_clusters") == 1
    assert _value(families, "etlsite_queue_depth") == 0


def test_request_counts_and_latency_histograms_grow_with_requests(viewer_client):
    for _ in range(3):
        viewer_client.get("/api/v1/info/version")
    families = _scrape(viewer_client)
    labels = {"method": "GET", "route": "/api/v1/info/version"}
    assert (
        _value(families, "etlsite_http_requests", "etlsite_http_requests_total", status="200", **labels) == 3
    )
    histogram = "etlsite_http_request_duration_seconds"
    assert _value(families, histogram, f"{histogram}_count", **labels) == 3
    assert _value(families, histogram, f"{histogram}_bucket", le="+Inf", **labels) == 3


def test_executions_by_state_and_rows_moved_follow_the_database(viewer_client):
    job = make_job("loader")
    finished_run(job, State.SUCCEEDED, rows=40)
    finished_run(job, State.FAILED, rows=0)
    Execution.objects.create(job=job, state=State.QUEUED)
    families = _scrape(viewer_client)
    assert _value(families, "etlsite_executions", state="queued") == 1
    assert _value(families, "etlsite_executions", state="succeeded") == 1
    assert (
        _value(families, "etlsite_executions_finished", "etlsite_executions_finished_total", state="failed")
        == 1
    )
    assert _value(families, "etlsite_rows_moved", "etlsite_rows_moved_total") == 40


def test_anonymous_scrapes_are_allowed_from_localhost_only(settings):
    anonymous = client_for(None)
    assert anonymous.get(URL).status_code == 200  # the test client is 127.0.0.1
    settings.METRICS_ALLOW_ANONYMOUS_FROM = ["10.0.0.0/8"]
    assert_error_body(anonymous.get(URL), 401)
    assert anonymous.get(URL, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_a_token_scrape_works_from_anywhere(viewer_client, settings):
    settings.METRICS_ALLOW_ANONYMOUS_FROM = []
    assert viewer_client.get(URL, REMOTE_ADDR="203.0.113.9").status_code == 200
