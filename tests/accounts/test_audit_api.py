import pytest

from accounts.models import AuditEvent
from tests.api_base import assert_error_body
from tests.jobs.factories import pipeline


@pytest.mark.django_db
def test_a_job_change_is_audited_with_before_and_after(admin_client):
    created = admin_client.post(
        "/api/v1/jobs/", {"name": "j", "components": pipeline()}, format="json"
    ).json()
    admin_client.patch(
        f"/api/v1/jobs/{created['id']}/", {"description": "new"}, format="json", HTTP_X_REQUEST_ID="req-1"
    )
    event = AuditEvent.objects.get(action="update")
    assert event.username == "admin"
    assert event.auth_method == "token"
    assert event.object_type == "jobs.job"
    assert event.before["description"] == "" and event.after["description"] == "new"
    assert event.request_id == "req-1"
    assert event.ip == "127.0.0.1"


@pytest.mark.django_db
def test_admins_list_and_filter_audit_events(admin_client):
    admin_client.post("/api/v1/jobs/", {"name": "j", "components": pipeline()}, format="json")
    body = admin_client.get("/api/v1/audit?action=create").json()
    assert body["count"] == 1
    assert body["results"][0]["object_repr"] == "j"
    assert admin_client.get("/api/v1/audit?action=delete").json()["count"] == 0


@pytest.mark.django_db
def test_non_admins_cannot_read_the_audit(reader_client):
    assert_error_body(reader_client.get("/api/v1/audit"), 403)


def test_the_audit_needs_authentication(anon_client):
    assert_error_body(anon_client.get("/api/v1/audit"), 401)


@pytest.mark.django_db
def test_a_bad_filter_is_a_400(admin_client):
    assert_error_body(admin_client.get("/api/v1/audit?since=yesterday"), 400, "since")
