"""GET /api/v1/schemas/{id}/examples: records that pass the schema's own validation."""

import pytest

from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "carrier", "type": "string", "nullable": False, "constraints": {"pattern": r"^[A-Z]{2}\d$"}},
    {"name": "contact", "type": "string", "constraints": {"format": "email", "max_length": 20}},
    {"name": "ref", "type": "string", "constraints": {"format": "uuid", "unique": True}},
    {"name": "n", "type": "integer", "constraints": {"minimum": 10, "maximum": 20, "unique": True}},
    {"name": "size", "type": "string", "constraints": {"enum": ["S", "M", "L"]}},
    {"name": "day", "type": "date", "constraints": {"minimum": "2030-01-01"}},
    {"name": "clock", "type": "time", "constraints": {"maximum": "08:00"}},
    {"name": "code", "type": "string", "examples": ["from-the-field"]},
]
RULES = [
    {"name": "order", "expression": "n >= 10 AND carrier IS NOT NULL", "message": "", "severity": "error"}
]


def test_examples_pass_the_schemas_own_validation(reader_client):
    schema = make_schema("every_kind", fields=FIELDS, rules=RULES)
    response = reader_client.get(f"/api/v1/schemas/{schema.pk}/examples", {"count": 5})
    assert response.status_code == 200, response.content
    records = response.json()["records"]
    assert len(records) == 5
    assert records[0]["code"] == "from-the-field"
    assert len({r["ref"] for r in records}) == 5
    result = reader_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": records}, format="json")
    assert result.json()["invalid"] == 0, result.json()


def test_records_a_rule_refuses_are_left_out(reader_client):
    rules = [{"name": "never", "expression": "n < 0", "message": "", "severity": "error"}]
    schema = make_schema("impossible", fields=FIELDS, rules=rules)
    assert reader_client.get(f"/api/v1/schemas/{schema.pk}/examples").json()["records"] == []


def test_a_bad_count_is_a_400_and_anonymous_a_401(reader_client, anon_client):
    schema = make_schema()
    assert_error_body(reader_client.get(f"/api/v1/schemas/{schema.pk}/examples", {"count": 0}), 400, "count")
    assert_error_body(anon_client.get(f"/api/v1/schemas/{schema.pk}/examples"), 401)
