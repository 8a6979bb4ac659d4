import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from tests.api_base import assert_error_body


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct horse battery")


def login(client, username="alice", password="correct horse battery"):
    return client.post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


def test_a_password_buys_a_token_that_authenticates(alice):
    client = APIClient()
    response = login(client)
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/jobs").status_code == 200
    assert AuditEvent.objects.filter(action="login", username="alice").exists()


def test_a_wrong_password_is_a_401_and_is_audited(alice):
    response = login(APIClient(), password="wrong")
    assert_error_body(response, 401)
    assert not Token.objects.exists()
    assert AuditEvent.objects.filter(action="login_failed", username="alice").exists()


def test_a_login_without_password_is_a_400(alice):
    response = APIClient().post("/api/v1/auth/token", {"username": "alice"}, format="json")
    assert_error_body(response, 400, "password")


def test_rotation_replaces_the_token(alice):
    client = APIClient()
    old = login(client).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    new = client.post("/api/v1/auth/token/rotate").json()["token"]
    assert new != old
    assert_error_body(client.get("/api/v1/jobs"), 401)
    client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert client.get("/api/v1/jobs").status_code == 200


def test_logout_deletes_the_token(alice):
    client = APIClient()
    token = login(client).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete("/api/v1/auth/token/rotate").status_code == 204
    assert_error_body(client.get("/api/v1/jobs"), 401)


def test_rotation_needs_authentication():
    assert_error_body(APIClient().post("/api/v1/auth/token/rotate"), 401)


def test_brute_force_is_throttled_with_retry_after(alice, settings):
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "login": "3/minute"}
    client = APIClient()
    for _ in range(3):
        assert login(client, password="guess").status_code == 401
    response = login(client)
    assert_error_body(response, 429)
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_an_admin_can_tighten_the_login_rate_at_run_time(alice, admin_client):
    response = admin_client.put(
        "/api/v1/setup/configuration", {"throttle_rate_login": "2/minute"}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    assert login(client, password="guess").status_code == 401
    assert login(client, password="guess").status_code == 401
    assert_error_body(login(client), 429)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_login_forms_are_throttled_too(alice, settings, client, path):
    settings.ETL_THROTTLE_RATES = {**settings.ETL_THROTTLE_RATES, "login": "2/minute"}
    for _ in range(2):
        assert client.post(path, {"username": "alice", "password": "guess"}).status_code == 200
    response = client.post(path, {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert AuditEvent.objects.filter(action="login_failed", username="alice").count() == 2
