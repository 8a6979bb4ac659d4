"""OAuth2 (django-oauth-toolkit): client credentials, and authorization code with PKCE."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from tests.api_base import assert_error_body
from tests.conftest import make_user
from tests.jobs.factories import pipeline

REDIRECT = "https://client.example.com/callback"


@pytest.fixture
def owner(db):
    return make_user("svc", "jobs.add_job")


def application(owner, grant, client_type=Application.CLIENT_CONFIDENTIAL):
    secret = secrets.token_urlsafe(20)
    app = Application.objects.create(
        name=f"app-{grant}",
        user=owner,
        client_type=client_type,
        authorization_grant_type=grant,
        client_secret=secret,
        redirect_uris=REDIRECT,
    )
    return app, secret


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def client_credentials_token(owner, scope):
    app, secret = application(owner, Application.GRANT_CLIENT_CREDENTIALS)
    response = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": secret,
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_a_client_credentials_token_reads_with_the_read_scope(owner):
    client = bearer(client_credentials_token(owner, "read"))
    assert client.get("/api/v1/jobs/").status_code == 200
    response = client.post("/api/v1/jobs/", {"name": "x", "components": pipeline()}, format="json")
    assert_error_body(response, 403)


def test_the_write_scope_allows_writes_the_owner_may_make(owner):
    client = bearer(client_credentials_token(owner, "read write"))
    response = client.post("/api/v1/jobs/", {"name": "x", "components": pipeline()}, format="json")
    assert response.status_code == 201, response.content


def test_an_unknown_bearer_token_is_a_401(db):
    assert_error_body(bearer("not-a-token").get("/api/v1/jobs/"), 401)


def test_authorization_code_with_pkce(owner):
    app, secret = application(owner, Application.GRANT_AUTHORIZATION_CODE, Application.CLIENT_PUBLIC)
    browser = Client()
    browser.force_login(owner)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    assert browser.get("/o/authorize/", params).status_code == 200
    approval = browser.post("/o/authorize/", {**params, "allow": "Authorize"})
    assert approval.status_code == 302, approval.content
    code = parse_qs(urlparse(approval["Location"]).query)["code"][0]
    token = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    assert bearer(token.json()["access_token"]).get("/api/v1/jobs/").status_code == 200


def test_authorization_code_without_pkce_is_refused(owner):
    app, _ = application(owner, Application.GRANT_AUTHORIZATION_CODE, Application.CLIENT_PUBLIC)
    browser = Client()
    browser.force_login(owner)
    response = browser.get(
        "/o/authorize/",
        {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "scope": "read"},
    )
    # Refused: either an error page or a redirect carrying error=invalid_request.
    assert response.status_code != 200 or b"error" in response.content.lower()
    if response.status_code == 302:
        assert "error=" in response["Location"]
