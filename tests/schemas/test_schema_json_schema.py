"""GET /api/v1/schemas/{id}/json-schema and /openapi."""

import jsonschema
import pytest

from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

EVERY_KIND = [
    {"name": "id", "type": "string", "required": True, "nullable": False, "constraints": {"format": "uuid"}},
    {
        "name": "code",
        "type": "string",
        "constraints": {"pattern": "^[A-Z]+$", "min_length": 2, "max_length": 4},
    },
    {"name": "size", "type": "string", "constraints": {"enum": ["S", "M"]}, "examples": ["S"]},
    {"name": "n", "type": "integer", "nullable": False, "constraints": {"minimum": 0, "maximum": 9}},
    {"name": "price", "type": "decimal", "constraints": {"minimum": 0.5}},
    {"name": "ok", "type": "boolean"},
    {"name": "day", "type": "date", "constraints": {"minimum": "2020-01-01", "unique": True}},
    {"name": "at", "type": "datetime"},
    {"name": "clock", "type": "time"},
]


def test_the_json_schema_is_valid_draft_2020_12(reader_client):
    schema = make_schema("every_kind", fields=EVERY_KIND, rules=[])
    document = reader_client.get(f"/api/v1/schemas/{schema.pk}/json-schema").json()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)  # raises if not valid against the meta-schema
    assert document["required"] == ["id"]
    assert document["properties"]["n"] == {"type": "integer", "minimum": 0, "maximum": 9}
    assert document["properties"]["size"]["enum"] == ["S", "M", None]
    assert document["properties"]["day"] == {
        "type": ["string", "null"],
        "format": "date",
        "x-minimum": "2020-01-01",
        "x-unique": True,
    }


def test_the_json_schema_accepts_the_examples_and_refuses_a_bad_record(reader_client):
    schema = make_schema("every_kind", fields=EVERY_KIND, rules=[])
    document = reader_client.get(f"/api/v1/schemas/{schema.pk}/json-schema").json()
    validator = jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker())
    for record in reader_client.get(f"/api/v1/schemas/{schema.pk}/examples").json()["records"]:
        validator.validate(record)
    assert not validator.is_valid({"id": "123e4567-e89b-12d3-a456-426614174000", "n": 10})


def test_the_openapi_component_describes_the_record(reader_client):
    schema = make_schema("every_kind", fields=EVERY_KIND, rules=[])
    document = reader_client.get(f"/api/v1/schemas/{schema.pk}/openapi").json()
    assert document["openapi"].startswith("3.")
    component = document["components"]["schemas"]["every_kind"]
    assert component["required"] == ["id"]
    assert component["properties"]["code"] == {
        "type": "string",
        "nullable": True,
        "minLength": 2,
        "maxLength": 4,
        "pattern": "^[A-Z]+$",
    }
    assert component["properties"]["price"]["format"] == "decimal"
    assert component["properties"]["size"]["example"] == "S"


def test_exports_need_a_login_and_an_existing_version(reader_client, anon_client):
    schema = make_schema()
    for route in ("json-schema", "openapi"):
        assert_error_body(anon_client.get(f"/api/v1/schemas/{schema.pk}/{route}"), 401)
        assert_error_body(reader_client.get(f"/api/v1/schemas/{schema.pk}/{route}", {"version": 2}), 404)
        assert reader_client.get(f"/api/v1/schemas/{schema.pk}/{route}", {"version": 1}).status_code == 200
