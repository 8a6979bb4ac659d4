import pytest

from monitoring import health
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/setup/status"


def test_a_fresh_install_is_not_initialized_until_initialize_runs(admin_client, data_root, running_worker):
    before = admin_client.get(URL).json()
    assert before["initialized"] is False
    assert before["admin_exists"] is True
    assert before["migrations"] == {"applied": True, "pending": []}
    assert before["worker_running"] is True
    assert before["data_roots_writable"] is True
    admin_client.post("/api/v1/setup/initialize", {"demo": False}, format="json")
    after = admin_client.get(URL).json()
    assert after["initialized"] is True
    assert set(after["roles"].values()) == {True}


def test_it_reports_an_unwritable_data_root_and_no_worker(admin_client, settings, tmp_path, monkeypatch):
    settings.ETL_DATA_ROOTS = [str(tmp_path / "missing")]
    monkeypatch.setattr(health, "pending_migrations", lambda: ["jobs.0099_later"])
    body = admin_client.get(URL).json()
    assert body["data_roots_writable"] is False
    assert body["data_roots"][0]["exists"] is False
    assert body["worker_running"] is False
    assert body["migrations"] == {"applied": False, "pending": ["jobs.0099_later"]}


def test_status_is_for_admins_only(viewer_client, anon_client, admin_role_client):
    assert_error_body(viewer_client.get(URL), 403)
    assert_error_body(anon_client.get(URL), 401)
    assert admin_role_client.get(URL).status_code == 200
