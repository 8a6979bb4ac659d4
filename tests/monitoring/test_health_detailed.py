import pytest

from etlsite import __version__
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/detailed"


def test_it_gives_every_check_with_details_and_timings(viewer_client, running_worker):
    body = viewer_client.get(URL).json()
    assert body["version"]["version"] == __version__
    for check in body["checks"].values():
        assert check["duration_ms"] >= 0
        assert check["message"]
    assert body["checks"]["worker"]["workers"] == 1
    assert body["checks"]["worker"]["clusters"][0]["cluster_id"] == "test-cluster"
    assert body["checks"]["database"]["latency_ms"] >= 0


def test_detailed_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
