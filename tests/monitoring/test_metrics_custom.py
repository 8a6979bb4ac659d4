from datetime import timedelta

import pytest
from django.utils import timezone

from execution.models import State
from monitoring.custom_metrics import record_custom_metrics
from monitoring.models import CustomMetric
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.monitoring.factories import finished_run, make_job

pytestmark = pytest.mark.django_db
PUSH = "/api/v1/metrics/custom"
READ = "/api/v1/metrics/performance/custom"


@pytest.fixture
def pusher_client(db):
    return client_for(make_user("pusher", "monitoring.add_custommetric"))


def test_a_pushed_value_is_read_back(pusher_client):
    response = pusher_client.post(
        PUSH, {"name": "orders_loaded", "value": 42, "labels": {"region": "eu"}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "api"
    (series,) = pusher_client.get(READ, {"name": "orders_loaded"}).json()["series"]
    assert series["labels"] == {"region": "eu"}
    assert series["last"] == 42.0
    assert series["count"] == 1


def test_several_values_can_be_pushed_at_once(pusher_client):
    payload = [{"name": "latency_ms", "value": value, "labels": {"api": "x"}} for value in (10, 30, 20)]
    response = pusher_client.post(PUSH, payload, format="json")
    assert response.status_code == 201
    assert len(response.json()) == 3
    (series,) = pusher_client.get(READ, {"name": "latency_ms"}).json()["series"]
    assert (series["min"], series["max"], series["avg"], series["count"]) == (10.0, 30.0, 20.0, 3)


def test_series_are_filtered_by_label_and_time(pusher_client):
    old = (timezone.now() - timedelta(hours=3)).isoformat()
    pusher_client.post(
        PUSH, {"name": "rows", "value": 1, "labels": {"env": "prod"}, "recorded_at": old}, format="json"
    )
    pusher_client.post(PUSH, {"name": "rows", "value": 2, "labels": {"env": "prod"}}, format="json")
    pusher_client.post(PUSH, {"name": "rows", "value": 3, "labels": {"env": "dev"}}, format="json")
    prod = pusher_client.get(READ, {"name": "rows", "label": "env:prod"}).json()
    assert [point["value"] for point in prod["series"][0]["points"]] == [1.0, 2.0]
    recent = pusher_client.get(READ, {"name": "rows", "label": "env:prod", "window": "1h"}).json()
    assert [point["value"] for point in recent["series"][0]["points"]] == [2.0]
    every = pusher_client.get(READ, {"name": "rows"}).json()
    assert [series["labels"]["env"] for series in every["series"]] == ["dev", "prod"]


def test_a_jobs_metrics_are_recorded_with_the_job_and_execution_as_labels(viewer_client):
    execution = finished_run(make_job("loader"), State.SUCCEEDED)
    record_custom_metrics(
        [
            {"name": "late_flights", "value": 7, "labels": {"airport": "JFK"}},
            {"name": "empty_sum", "value": None},
        ],
        execution=execution,
    )
    body = viewer_client.get(READ, {"label": "job:loader"}).json()
    by_name = {series["name"]: series for series in body["series"]}
    assert by_name["late_flights"]["labels"] == {
        "airport": "JFK",
        "job": "loader",
        "execution": str(execution.pk),
    }
    assert by_name["empty_sum"]["last"] is None
    assert CustomMetric.objects.get(name="late_flights").execution == execution


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "9lives", "value": 1}, "name"),
        ({"name": "ok", "value": "many"}, "value"),
        ('{"name": "ok", "value": 1e999}', "value"),  # parses as infinity
        ({"name": "ok", "value": 1, "labels": {"__name__": "x"}}, "labels"),
        ({"name": "ok", "value": 1, "labels": ["a"]}, "labels"),
        ({"name": "ok", "value": 1, "unit": "ms"}, "unit"),
        ({"value": 1}, "name"),
    ],
)
def test_bad_values_are_refused_naming_the_field_and_nothing_is_stored(pusher_client, payload, field):
    if isinstance(payload, str):
        response = pusher_client.post(PUSH, payload, content_type="application/json")
    else:
        response = pusher_client.post(PUSH, payload, format="json")
    assert_error_body(response, 400, field)
    assert CustomMetric.objects.count() == 0


def test_a_batch_with_one_bad_value_stores_nothing(pusher_client):
    response = pusher_client.post(
        PUSH, [{"name": "a", "value": 1}, {"name": "b", "value": "x"}], format="json"
    )
    assert_error_body(response, 400, "value")
    assert CustomMetric.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [({"label": "nocolon"}, "label"), ({"label": "a__b:1"}, "label"), ({"since": "soon"}, "since")],
)
def test_bad_filters_are_a_400(viewer_client, params, field):
    assert_error_body(viewer_client.get(READ, params), 400, field)


def test_pushing_needs_the_add_custommetric_permission(viewer_client, anon_client):
    assert_error_body(viewer_client.post(PUSH, {"name": "x", "value": 1}, format="json"), 403)
    assert_error_body(anon_client.post(PUSH, {"name": "x", "value": 1}, format="json"), 401)
    assert_error_body(anon_client.get(READ), 401)
    assert CustomMetric.objects.count() == 0


def test_the_performance_route_only_reads(pusher_client):
    response = pusher_client.post(READ, {"name": "x", "value": 1}, format="json")
    assert_error_body(response, 405)
    assert CustomMetric.objects.count() == 0
