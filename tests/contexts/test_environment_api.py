"""GET/PUT /api/v1/contexts/{id}/environment."""

import pytest

from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import make_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def context():
    return make_context("dev", environment={"DATA_DIR": "demo"})


def url(context):
    return f"/api/v1/contexts/{context.pk}/environment"


def test_reading_the_environment(reader_client, context):
    response = reader_client.get(url(context))
    assert response.status_code == 200
    assert response.json() == {"DATA_DIR": "demo"}


def test_put_replaces_every_value(admin_client, context):
    response = admin_client.put(url(context), {"SCHEMA": "public", "REGION": "eu"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"SCHEMA": "public", "REGION": "eu"}
    context.refresh_from_db()
    assert context.environment == {"SCHEMA": "public", "REGION": "eu"}


@pytest.mark.parametrize(
    "payload, field",
    [({"PORT": 5432}, "PORT"), ({"bad name": "x"}, "bad name"), (["DATA_DIR"], "non_field_errors")],
)
def test_bad_values_are_a_400_naming_them_and_change_nothing(admin_client, context, payload, field):
    assert_error_body(admin_client.put(url(context), payload, format="json"), 400, field)
    context.refresh_from_db()
    assert context.environment == {"DATA_DIR": "demo"}


def test_writing_needs_the_change_context_permission(reader_client, anon_client, context):
    assert_error_body(reader_client.put(url(context), {"X": "1"}, format="json"), 403)
    assert_error_body(anon_client.get(url(context)), 401)
    assert_error_body(anon_client.put(url(context), {"X": "1"}, format="json"), 401)
    context.refresh_from_db()
    assert context.environment == {"DATA_DIR": "demo"}
    editor = client_for(make_user("editor", "contexts.change_context"))
    assert editor.put(url(context), {"X": "1"}, format="json").status_code == 200
