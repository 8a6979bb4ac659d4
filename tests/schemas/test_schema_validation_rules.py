"""GET/PUT /api/v1/schemas/{id}/validation-rules."""

import pytest

from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.schemas.factories import FLIGHT_RULES, make_schema

pytestmark = pytest.mark.django_db

NEW_RULES = [
    {"name": "order", "expression": "arr_time >= dep_time", "message": "arrives first", "severity": "warning"}
]


def url(schema):
    return f"/api/v1/schemas/{schema.pk}/validation-rules"


def test_it_lists_the_rules(reader_client):
    schema = make_schema()
    response = reader_client.get(url(schema))
    assert response.status_code == 200
    assert response.json() == FLIGHT_RULES


def test_put_replaces_the_rules_as_a_new_version(admin_client):
    schema = make_schema()
    response = admin_client.put(url(schema), NEW_RULES, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == NEW_RULES
    schema.refresh_from_db()
    assert schema.version == 2
    assert schema.definition_at(1)["rules"] == FLIGHT_RULES


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        ([{"name": "r", "expression": "dep_time >"}], "rule 'r'"),
        ([{"name": "r", "expression": "gate = 'A'"}], "Unknown column 'gate'"),
        ([{"name": "r", "expression": "dep_time > 1", "severity": "fatal"}], "severity"),
        ({"name": "r"}, "list"),
    ],
)
def test_bad_rules_are_a_400_and_change_nothing(admin_client, rules, named):
    schema = make_schema()
    assert_error_body(admin_client.put(url(schema), rules, format="json"), 400, named)
    schema.refresh_from_db()
    assert schema.version == 1
    assert list(schema.rules.values_list("name", flat=True)) == ["times"]


def test_writing_rules_needs_the_change_permission(reader_client, anon_client):
    schema = make_schema()
    assert_error_body(reader_client.put(url(schema), NEW_RULES, format="json"), 403)
    assert_error_body(anon_client.get(url(schema)), 401)
    editor = client_for(make_user("editor", "schemas.change_schema"))
    assert editor.put(url(schema), NEW_RULES, format="json").status_code == 200
