"""Every path under /api/ answers the JSON error body, with DEBUG on too (Django
would answer its HTML technical 404 page there instead of handler404)."""

import pytest
from django.test import override_settings


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/executions/6", "/api/v1/jobs/1/nothing-here", "/api/", "/api/v9/x"]
)
def test_an_unknown_api_path_answers_the_json_error_body(admin_client, path, debug):
    with override_settings(DEBUG=debug):
        response = admin_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["message"] == f"No route for {path}."
    assert error["request_id"]


def test_an_unknown_page_outside_the_api_stays_html(admin_client):
    with override_settings(DEBUG=False):
        response = admin_client.get("/no-such-page/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_refusal(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/nothing", data="{}", content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
