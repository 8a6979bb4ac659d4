import pytest

from monitoring import health
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db


def test_live_answers_without_credentials(anon_client):
    response = anon_client.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json()["alive"] is True


def test_ready_needs_a_running_worker(anon_client):
    response = anon_client.get("/api/v1/health/ready")
    assert_error_body(response, 503)
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["worker"] == "failing"
    assert "qcluster" in body["error"]["message"]


def test_ready_with_a_worker_answers_200_without_credentials(anon_client, running_worker):
    response = anon_client.get("/api/v1/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "ready": True,
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


def test_a_stopped_cluster_does_not_count_as_a_worker(anon_client, running_worker):
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.signing import SignedPackage
    from django_q.status import Stat

    running_worker.status = Conf.STOPPED
    get_broker().set_stat(
        Stat.get_key(running_worker.cluster_id), SignedPackage.dumps(running_worker, True), 30
    )
    assert anon_client.get("/api/v1/health/ready").status_code == 503


def test_ready_fails_with_pending_migrations(anon_client, running_worker, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["execution.0099_later"])
    response = anon_client.get("/api/v1/health/ready")
    assert_error_body(response, 503)
    assert response.json()["error"]["details"] == {"failing": ["migrations"]}


def test_ready_ignores_bad_credentials_instead_of_refusing(anon_client, running_worker):
    response = anon_client.get("/api/v1/health/ready", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200


def test_probes_are_never_throttled(anon_client, running_worker, settings):
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "anon": "2/minute"}
    assert_error_body(anon_client.get("/api/v1/info"), 401)
    for _ in range(3):
        assert anon_client.get("/api/v1/health/live").status_code == 200
        assert anon_client.get("/api/v1/health/ready").status_code == 200
