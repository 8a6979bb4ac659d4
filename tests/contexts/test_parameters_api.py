"""GET/PUT /api/v1/contexts/{id}/parameters: typed values; secret ones are
write-only like credential secrets."""

import pytest

from contexts.models import Parameter
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import PASSWORD, add_parameter, make_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def context():
    context = make_context("dev")
    add_parameter(context, "min_delay", "integer", 60)
    add_parameter(context, "api_token", "secret", PASSWORD)
    return context


def url(context):
    return f"/api/v1/contexts/{context.pk}/parameters"


def stored(context) -> dict:
    return {p.name: (p.type, p.plain_value()) for p in context.parameters.all()}


def test_reading_parameters_shows_values_but_never_a_secret(reader_client, context):
    response = reader_client.get(url(context))
    assert response.status_code == 200
    assert PASSWORD not in response.content.decode()
    assert response.json() == [
        {"name": "api_token", "type": "secret", "value_set": True, "description": ""},
        {"name": "min_delay", "type": "integer", "value": 60, "value_set": True, "description": ""},
    ]


def test_put_replaces_the_list_with_typed_values(admin_client, context):
    payload = [
        {"name": "min_delay", "type": "integer", "value": "30", "description": "minutes"},
        {"name": "ratio", "type": "number", "value": 0.5},
        {"name": "full", "type": "boolean", "value": "false"},
        {"name": "since", "type": "date", "value": "2024-02-29"},
        {"name": "region", "value": "eu"},
    ]
    response = admin_client.put(url(context), payload, format="json")
    assert response.status_code == 200, response.content
    assert stored(context) == {
        "min_delay": ("integer", 30),
        "ratio": ("number", 0.5),
        "full": ("boolean", False),
        "since": ("date", "2024-02-29"),
        "region": ("string", "eu"),
    }


def test_a_secret_sent_without_value_keeps_its_stored_value(admin_client, context):
    body = admin_client.get(url(context)).json()
    assert admin_client.put(url(context), body, format="json").status_code == 200
    assert stored(context)["api_token"] == ("secret", PASSWORD)


def test_a_secret_with_null_is_cleared_and_a_new_value_replaces_it(admin_client, context):
    payload = [
        {"name": "api_token", "type": "secret", "value": None},
        {"name": "other", "type": "secret", "value": "v2"},
    ]
    response = admin_client.put(url(context), payload, format="json")
    assert response.status_code == 200, response.content
    assert [p["value_set"] for p in response.json()] == [False, True]
    assert "v2" not in response.content.decode()
    assert stored(context) == {"api_token": ("secret", None), "other": ("secret", "v2")}
    assert Parameter.objects.get(name="other").value is None  # only the encrypted column holds it


@pytest.mark.parametrize(
    "payload, field",
    [
        ([{"name": "n", "type": "integer", "value": "sixty"}], "value"),
        ([{"name": "n", "type": "integer", "value": 1.5}], "value"),
        ([{"name": "d", "type": "date", "value": "2023-02-29"}], "value"),
        ([{"name": "b", "type": "boolean", "value": "maybe"}], "value"),
        ([{"name": "n", "type": "uuid", "value": "x"}], "type"),
        ([{"name": "has space", "value": "x"}], "name"),
        ([{"name": "n", "value": "x"}, {"name": "n", "value": "y"}], "once"),
        ([{"name": "n", "value": "x", "colour": "red"}], "colour"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field_and_change_nothing(admin_client, context, payload, field):
    before = stored(context)
    assert_error_body(admin_client.put(url(context), payload, format="json"), 400, field)
    assert stored(context) == before


def test_a_mistyped_secret_value_is_not_echoed_in_the_error(admin_client, context):
    response = admin_client.put(
        url(context), [{"name": "pin", "type": "secret", "value": 918273}], format="json"
    )
    assert_error_body(response, 400, "value")
    assert "918273" not in response.content.decode()


def test_writing_needs_the_change_context_permission(reader_client, anon_client, context):
    payload = [{"name": "min_delay", "type": "integer", "value": 1}]
    before = stored(context)
    assert_error_body(reader_client.put(url(context), payload, format="json"), 403)
    assert_error_body(anon_client.put(url(context), payload, format="json"), 401)
    assert_error_body(anon_client.get(url(context)), 401)
    assert stored(context) == before
    editor = client_for(make_user("editor", "contexts.change_context"))
    assert editor.put(url(context), payload, format="json").status_code == 200
