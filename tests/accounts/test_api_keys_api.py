from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEvent
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.jobs.factories import make_job, pipeline


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def editor(db):
    return make_user("editor", "jobs.add_job", "jobs.change_job", "jobs.delete_job")


def create_key(user, **payload):
    body = {"name": "ci", "scopes": ["read"], **payload}
    response = client_for(user).post("/api/v1/auth/api-keys/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_key_is_shown_once_and_stored_hashed(editor):
    created = create_key(editor)
    key = created["key"]
    assert created["scopes"] == ["read"]
    listed = client_for(editor).get("/api/v1/auth/api-keys/").json()["results"]
    assert listed and "key" not in listed[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, prefix, hashed_key FROM accounts_apikey")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert key.split(".", 1)[1] not in stored
    assert AuditEvent.objects.filter(action="api_key_create").exists()


def test_a_read_key_reads_but_cannot_write(editor):
    key = create_key(editor)["key"]
    client = key_client(key)
    assert client.get("/api/v1/jobs/").status_code == 200
    response = client.post("/api/v1/jobs/", {"name": "x", "components": pipeline()}, format="json")
    assert_error_body(response, 403)
    assert "write" in response.json()["error"]["message"]


def test_a_write_key_writes_with_its_owners_permissions(editor):
    key = create_key(editor, scopes=["read", "write"])["key"]
    response = key_client(key).post("/api/v1/jobs/", {"name": "x", "components": pipeline()}, format="json")
    assert response.status_code == 201, response.content


def test_a_key_never_exceeds_its_owners_permissions(db):
    reader = make_user("reader2")
    key = create_key(reader, scopes=["admin"])["key"]
    response = key_client(key).post("/api/v1/jobs/", {"name": "x", "components": pipeline()}, format="json")
    assert_error_body(response, 403)


def test_use_is_recorded(editor):
    key = create_key(editor)["key"]
    key_client(key).get("/api/v1/jobs/")
    assert ApiKey.objects.get().last_used_at is not None


def test_a_revoked_key_is_refused(editor):
    created = create_key(editor)
    assert client_for(editor).delete(f"/api/v1/auth/api-keys/{created['id']}/").status_code == 204
    assert_error_body(key_client(created["key"]).get("/api/v1/jobs/"), 401)
    assert AuditEvent.objects.filter(action="api_key_revoke").exists()


def test_an_expired_key_is_refused(editor):
    created = create_key(editor, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    ApiKey.objects.update(expiry_date=timezone.now() - timedelta(seconds=1))
    response = key_client(created["key"]).get("/api/v1/jobs/")
    assert_error_body(response, 401)
    assert "expired" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", ["Api-Key ", "Api-Key nonsense", "Api-Key abc.def"])
def test_malformed_keys_are_a_401_and_audited(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error_body(client.get("/api/v1/jobs/"), 401)
    assert AuditEvent.objects.filter(action="auth_failed").exists()


def test_a_past_expiry_or_unknown_scope_is_a_400(editor):
    client = client_for(editor)
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert_error_body(
        client.post(
            "/api/v1/auth/api-keys/", {"name": "k", "scopes": ["read"], "expires_at": past}, format="json"
        ),
        400,
        "expires_at",
    )
    assert_error_body(
        client.post("/api/v1/auth/api-keys/", {"name": "k", "scopes": ["root"]}, format="json"), 400, "scopes"
    )
    assert not ApiKey.objects.exists()


def test_a_key_limited_to_jobs_sees_only_those(editor):
    mine, other = make_job("mine"), make_job("other")
    key = create_key(editor, jobs=["mine"])["key"]
    client = key_client(key)
    assert [j["name"] for j in client.get("/api/v1/jobs/").json()["results"]] == ["mine"]
    assert client.get(f"/api/v1/jobs/{mine.pk}/").status_code == 200
    assert_error_body(client.get(f"/api/v1/jobs/{other.pk}/"), 404)


def test_users_see_only_their_own_keys(editor):
    create_key(editor)
    other = make_user("other")
    assert client_for(other).get("/api/v1/auth/api-keys/").json()["count"] == 0


def test_a_read_key_cannot_mint_keys(editor):
    key = create_key(editor)["key"]
    response = key_client(key).post(
        "/api/v1/auth/api-keys/", {"name": "k2", "scopes": ["admin"]}, format="json"
    )
    assert_error_body(response, 403)
    assert ApiKey.objects.count() == 1


def test_api_keys_need_authentication(anon_client):
    assert_error_body(anon_client.get("/api/v1/auth/api-keys/"), 401)
