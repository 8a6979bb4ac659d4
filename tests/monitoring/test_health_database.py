import pytest
from django.db import connection

from monitoring import health
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/database"


def test_it_reports_latency_and_migrations(viewer_client):
    response = viewer_client.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["vendor"] == connection.vendor
    assert body["latency_ms"] >= 0
    assert body["migrations"] == {"applied": True, "pending": []}


def test_a_pending_migration_fails_it(viewer_client, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["jobs.0099_later"])
    response = viewer_client.get(URL)
    assert_error_body(response, 503)
    assert response.json()["migrations"]["pending"] == ["jobs.0099_later"]


def test_database_health_needs_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)
