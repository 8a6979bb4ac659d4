import pytest
from rest_framework.test import APIClient

from tests.api_base import assert_error_body


@pytest.fixture
def tokens(django_user_model):
    django_user_model.objects.create_user("bob", password="correct horse battery")
    response = APIClient().post(
        "/api/v1/auth/jwt/", {"username": "bob", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_access_token_authenticates(tokens):
    assert bearer(tokens["access"]).get("/api/v1/jobs/").status_code == 200


def test_refresh_and_verify(tokens):
    client = APIClient()
    refreshed = client.post("/api/v1/auth/jwt/refresh/", {"refresh": tokens["refresh"]}, format="json").json()
    assert bearer(refreshed["access"]).get("/api/v1/jobs/").status_code == 200
    assert (
        client.post("/api/v1/auth/jwt/verify/", {"token": refreshed["access"]}, format="json").status_code
        == 200
    )


def test_logout_blacklists_the_refresh_token(tokens):
    client = bearer(tokens["access"])
    assert (
        client.post("/api/v1/auth/jwt/logout/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 200
    )
    response = APIClient().post("/api/v1/auth/jwt/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert_error_body(response, 401)


def test_a_tampered_token_is_a_401(tokens):
    assert_error_body(bearer(tokens["access"][:-2] + "xx").get("/api/v1/jobs/"), 401)


def test_wrong_credentials_get_no_token(db, django_user_model):
    django_user_model.objects.create_user("bob", password="correct horse battery")
    response = APIClient().post("/api/v1/auth/jwt/", {"username": "bob", "password": "nope"}, format="json")
    assert_error_body(response, 401)
