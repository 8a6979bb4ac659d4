import pytest

from execution.models import State
from tests.api_base import assert_error_body
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/components"


def _types(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return {item["type"]: item for item in response.json()["component_types"]}


def test_it_sums_runs_and_rows_per_component_type(viewer_client):
    job = make_job("loader")
    finished_run(job, rows=100)
    finished_run(job, rows=20)
    types = _types(viewer_client)
    assert types["filter"]["runs"] == 2
    assert types["filter"]["rows_in"] == 120
    assert types["csv_sink"]["rows_out"] == 120
    # filter: 120 rows over 2 x 0.5 s
    assert types["filter"]["mean_rows_per_second"] == 120.0


def test_types_never_run_are_listed_with_zero_runs(viewer_client):
    types = _types(viewer_client)
    assert types["parquet_sink"]["runs"] == 0
    assert types["parquet_sink"]["mean_rows_per_second"] is None


def test_failures_are_counted_on_the_failing_components_type(viewer_client):
    finished_run(make_job("loader"), State.FAILED, failed_component="out")
    types = _types(viewer_client)
    assert types["csv_sink"]["failures"] == 1
    assert types["filter"]["failures"] == 0


def test_a_bad_window_is_a_400(viewer_client):
    assert_error_body(viewer_client.get(URL, {"window": "0m"}), 400, "window")


def test_component_metrics_need_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
