"""Error bodies are JSON, whatever document format the client asked for.

The attack (found by schemathesis run from outside): any error on
`/schemas/{id}/documentation/?format=html` (a TRACE, a missing schema) went
through the HTML document renderer, which crashed on the error dict with
`AttributeError: 'dict' object has no attribute 'encode'`: a 500.
"""

import pytest

from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

MISSING = "/api/v1/schemas/999999/documentation/"


def assert_json_error(response, status: int):
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    assert_error_body(response, status)


@pytest.mark.parametrize("document_format", ["html", "md", "json"])
def test_a_missing_schema_is_a_json_404_in_every_format(admin_client, document_format):
    assert_json_error(admin_client.get(f"{MISSING}?format={document_format}"), 404)


@pytest.mark.parametrize("accept", ["text/html", "text/markdown"])
def test_a_missing_schema_is_a_json_404_whatever_the_accept_header(admin_client, accept):
    assert_json_error(admin_client.get(MISSING, HTTP_ACCEPT=accept), 404)


@pytest.mark.parametrize("method", ["trace", "post", "delete"])
@pytest.mark.parametrize("document_format", ["html", "md"])
def test_a_method_the_route_does_not_allow_is_a_json_405(admin_client, method, document_format):
    schema = make_schema("flights")
    url = f"/api/v1/schemas/{schema.pk}/documentation/?format={document_format}"
    assert_json_error(admin_client.generic(method.upper(), url), 405)


def test_an_unknown_format_is_a_json_404(admin_client):
    schema = make_schema("flights")
    assert_json_error(admin_client.get(f"/api/v1/schemas/{schema.pk}/documentation/?format=pdf"), 404)


def test_without_credentials_the_html_format_answers_a_json_401(anon_client):
    assert_json_error(anon_client.get(f"{MISSING}?format=html"), 401)


def test_documents_themselves_keep_their_format(admin_client):
    schema = make_schema("flights")
    url = f"/api/v1/schemas/{schema.pk}/documentation/"
    html = admin_client.get(f"{url}?format=html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert b"carrier" in html.content
    markdown = admin_client.get(f"{url}?format=md")
    assert markdown["Content-Type"].startswith("text/markdown")
    assert markdown.content.startswith(b"#")
