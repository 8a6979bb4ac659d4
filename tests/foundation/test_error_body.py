"""Every 4xx/5xx from the API carries the same JSON error body and the request id."""

import pytest

from tests.api_base import assert_error_body


@pytest.mark.django_db
def test_an_unknown_api_route_is_a_json_404(admin_client):
    response = admin_client.get("/api/v1/no-such-thing/")
    assert_error_body(response, 404)
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_wrong_method_is_a_json_405(admin_client):
    response = admin_client.put("/api/v1/component-types/", {}, format="json")
    assert_error_body(response, 405)
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_missing_credentials_are_a_json_401(anon_client):
    response = anon_client.get("/api/v1/jobs/")
    assert_error_body(response, 401)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_bad_token_is_a_json_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_error_body(anon_client.get("/api/v1/jobs/"), 401)


@pytest.mark.urls("tests.foundation.failing_urls")
def test_an_unhandled_exception_is_a_json_500_without_internals(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/crash")
    assert_error_body(response, 500)
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_the_request_id_is_echoed_when_the_client_sends_one(client):
    response = client.get("/api/v1/jobs/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert response.json()["error"]["request_id"] == "abc-123"


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/api/v1/jobs/", HTTP_X_REQUEST_ID="bad id\r\nX-Evil: 1")
    assert response["X-Request-ID"] != "bad id\r\nX-Evil: 1"
    assert len(response["X-Request-ID"]) == 32


def test_each_request_gets_its_own_id(client):
    first = client.get("/api/v1/jobs/")["X-Request-ID"]
    assert first != client.get("/api/v1/jobs/")["X-Request-ID"]


@pytest.mark.django_db
def test_request_ids_reach_log_records(admin_client, caplog):
    caplog.set_level("WARNING", logger="django.request")
    response = admin_client.get("/api/v1/jobs/999999/", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and all(r.request_id == "trace-me" for r in records)
