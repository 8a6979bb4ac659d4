import os
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import resources, tasks
from monitoring.models import ResourceSample
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
RESOURCES = ["cpu", "memory", "disk", "network"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_resource_has_a_current_value_and_history(viewer_client, resource):
    response = viewer_client.get(f"/api/v1/metrics/performance/{resource}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resource"] == resource
    assert body["history"][-1] == body["current"]


def test_background_samples_build_the_history(viewer_client):
    tasks.sample_resources()
    ResourceSample.objects.update(taken_at=timezone.now() - timedelta(minutes=2))
    tasks.sample_resources()
    history = viewer_client.get("/api/v1/metrics/performance/network").json()["history"]
    assert len(history) == 2
    assert history[0]["sent_bytes_per_second"] is None  # no earlier sample to compare with
    assert history[1]["sent_bytes_per_second"] >= 0


def test_reading_takes_a_new_sample_only_when_the_last_is_stale(viewer_client):
    viewer_client.get("/api/v1/metrics/performance/cpu")
    viewer_client.get("/api/v1/metrics/performance/memory")
    assert ResourceSample.objects.count() == 1
    ResourceSample.objects.update(taken_at=timezone.now() - timedelta(seconds=resources.FRESH_SECONDS + 1))
    viewer_client.get("/api/v1/metrics/performance/cpu")
    assert ResourceSample.objects.count() == 2


def test_disk_rates_reflect_bytes_written(viewer_client, tmp_path):
    tasks.sample_resources()
    ResourceSample.objects.update(taken_at=timezone.now() - timedelta(seconds=60))
    target = tmp_path / "blob"
    with open(target, "wb") as handle:
        handle.write(b"\0" * (16 * 1024 * 1024))
        handle.flush()
        os.fsync(handle.fileno())
    history = viewer_client.get("/api/v1/metrics/performance/disk").json()["history"]
    if history[-1]["write_bytes_per_second"] is None:
        pytest.skip("this machine's disk counters did not move (e.g. a tmpfs)")
    assert history[-1]["write_bytes_per_second"] > 0


def test_samples_older_than_a_day_are_dropped(viewer_client):
    tasks.sample_resources()
    ResourceSample.objects.update(taken_at=timezone.now() - timedelta(days=2))
    tasks.sample_resources()
    assert ResourceSample.objects.count() == 1


@pytest.mark.parametrize("minutes", ["0", "abc", "100000"])
def test_a_bad_history_length_is_a_400(viewer_client, minutes):
    assert_error_body(
        viewer_client.get("/api/v1/metrics/performance/cpu", {"minutes": minutes}), 400, "minutes"
    )


@pytest.mark.parametrize("resource", RESOURCES)
def test_resource_metrics_need_authentication(anon_client, resource):
    assert_error_body(anon_client.get(f"/api/v1/metrics/performance/{resource}"), 401)
