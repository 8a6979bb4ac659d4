"""POST /api/v1/schemas/import: a Frictionless Table Schema or a JSON Schema."""

import pytest

from schemas.models import Schema
from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/v1/schemas/import"
TABLE_SCHEMA = {
    "name": "airports",
    "fields": [
        {"name": "code", "type": "string", "constraints": {"required": True, "pattern": "[A-Z]{3}"}},
        {"name": "opened", "type": "year", "constraints": {"minimum": 1900}},
        {"name": "email", "type": "string", "format": "email", "example": "ops@example.com"},
        {"name": "size", "type": "string", "constraints": {"enum": ["small", "large"]}},
    ],
    "primaryKey": "code",
}


def test_a_frictionless_table_schema_becomes_a_schema(admin_client):
    response = admin_client.post(ENDPOINT, {"schema": TABLE_SCHEMA}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "airports" and body["version"] == 1
    code, opened, email, size = body["fields"]
    assert code["constraints"] == {"pattern": "^(?:[A-Z]{3})$", "unique": True}
    assert (code["required"], code["nullable"]) == (True, False)
    assert opened["type"] == "integer" and opened["constraints"] == {"minimum": 1900}
    assert email["constraints"] == {"format": "email"} and email["examples"] == ["ops@example.com"]
    assert size["constraints"] == {"enum": ["small", "large"]}


def test_our_json_schema_export_imports_back_to_the_same_schema(admin_client):
    original = make_schema("flights")
    exported = admin_client.get(f"/api/v1/schemas/{original.pk}/json-schema").json()
    response = admin_client.post(ENDPOINT, {"schema": exported, "name": "flights_copy"}, format="json")
    assert response.status_code == 201, response.content
    copy = Schema.objects.get(name="flights_copy").definition()
    expected = original.definition()
    assert copy["fields"] == expected["fields"]
    assert copy["rules"] == expected["rules"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"schema": {"fields": [{"name": "geo", "type": "geopoint"}], "name": "x"}}, "Field 'geo'"),
        ({"schema": {"title": "x", "properties": {"tags": {"type": "array"}}}}, "Property 'tags'"),
        ({"schema": {"title": "x", "properties": {"a": {"$ref": "#/defs/a"}}}}, "$ref"),
        ({"schema": {"something": 1}}, "Not recognised"),
        ({"schema": {"properties": {"a": {"type": "string"}}}}, "name"),
        ({"schema": {"name": "x", "fields": [{"name": "a", "constraints": {"pattern": "(["}}]}}, "pattern"),
        ({"schema": TABLE_SCHEMA, "format": "yaml"}, "format"),
    ],
)
def test_documents_we_cannot_represent_are_a_400_and_nothing_is_saved(admin_client, body, named):
    assert_error_body(admin_client.post(ENDPOINT, body, format="json"), 400, named)
    assert Schema.objects.count() == 0


def test_importing_needs_the_add_permission(reader_client, anon_client):
    assert_error_body(reader_client.post(ENDPOINT, {"schema": TABLE_SCHEMA}, format="json"), 403)
    assert_error_body(anon_client.post(ENDPOINT, {"schema": TABLE_SCHEMA}, format="json"), 401)
    assert Schema.objects.count() == 0
