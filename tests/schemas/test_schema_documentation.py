"""GET /api/v1/schemas/{id}/documentation: Markdown, or HTML on request."""

import pytest

from tests.api_base import assert_error_body
from tests.schemas.factories import FLIGHT_FIELDS, make_schema

pytestmark = pytest.mark.django_db


def url(schema):
    return f"/api/v1/schemas/{schema.pk}/documentation"


def test_it_is_markdown_by_default(reader_client):
    schema = make_schema(description="Flights from the BTS sample.")
    response = reader_client.get(url(schema))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("# Schema `flights` (version 1)")
    assert "Flights from the BTS sample." in text
    assert "| 1 | `carrier` | string | yes | no | matches `^[A-Z0-9]{2}$` |  | `AA`, `DL` |" in text
    assert (
        "| `times` | `arr_time IS NULL OR dep_time IS NOT NULL` | error | arrival without departure |" in text
    )


def test_it_is_html_when_asked_and_user_text_is_escaped(reader_client):
    schema = make_schema(description="<script>alert(1)</script> & more")
    response = reader_client.get(url(schema), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<table>" in page and "<code>carrier</code>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_older_version_can_be_documented(reader_client):
    schema = make_schema()
    schema.save_definition(fields=[*FLIGHT_FIELDS, {"name": "gate", "type": "string"}])
    assert "`gate`" in reader_client.get(url(schema)).content.decode()
    assert "`gate`" not in reader_client.get(url(schema), {"version": 1}).content.decode()


def test_errors_are_json_and_anonymous_is_a_401(reader_client, anon_client):
    schema = make_schema()
    assert_error_body(anon_client.get(url(schema)), 401)
    assert_error_body(reader_client.get(url(schema), {"version": 7}, HTTP_ACCEPT="text/html"), 404)
