"""Hostile parameter values: each is a 400 naming the value, never a server error,
whatever DRF's fields would otherwise convert."""

import json

import pytest

from tests.api_base import assert_error_body
from tests.contexts.factories import make_context

pytestmark = pytest.mark.django_db

HOSTILE = [
    ("number", "1" * 400),  # an int too large for a float: DRF's FloatField overflows
    ("number", '"nan"'),
    ("number", '"-inf"'),
    ("number", "true"),
    ("integer", "1.0"),
    ("integer", '"1_000"'),
    ("integer", '"0x10"'),
    ("integer", "true"),
    ("string", "12"),
    ("string", '{"a": 1}'),
    ("boolean", "1"),
    ("boolean", '"t"'),
    ("date", '"20240229"'),
    ("date", '"2024-2-9"'),
    ("date", '"2024-02-30"'),
    ("date", "[]"),
]


@pytest.mark.parametrize("type_name, raw_value", HOSTILE)
def test_a_hostile_value_is_a_400_and_nothing_is_stored(admin_client, type_name, raw_value):
    context = make_context("dev")
    body = f'[{{"name": "p", "type": "{type_name}", "value": {raw_value}}}]'
    response = admin_client.generic(
        "PUT", f"/api/v1/contexts/{context.pk}/parameters", body, content_type="application/json"
    )
    assert_error_body(response, 400, "value")
    assert "Expected" in json.dumps(response.json())
    assert not context.parameters.exists()
