"""POST /api/v1/contexts/{id}/clone: a copy under a new name, secrets included
but never shown."""

import pytest

from contexts.models import Context
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import PASSWORD, add_credential, add_parameter, make_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def context():
    context = make_context(
        "dev", description="development", is_default=True, environment={"DATA_DIR": "demo"}
    )
    add_parameter(context, "min_delay", "integer", 60)
    add_parameter(context, "api_token", "secret", "tok-" + PASSWORD)
    add_credential(context)
    return context


def url(context):
    return f"/api/v1/contexts/{context.pk}/clone"


def test_cloning_copies_everything_secrets_included_without_showing_them(admin_client, context):
    response = admin_client.post(url(context), {"name": "staging"}, format="json")
    assert response.status_code == 201, response.content
    assert PASSWORD not in response.content.decode()
    body = response.json()
    assert body["name"] == "staging"
    assert body["description"] == "development"
    assert body["is_default"] is False
    assert body["environment"] == {"DATA_DIR": "demo"}
    assert body["credentials"][0]["secrets_set"] == ["password"]
    copy = Context.objects.get(name="staging")
    assert copy.credentials.get().plain_secrets() == {"password": PASSWORD}
    assert {p.name: p.plain_value() for p in copy.parameters.all()} == {
        "min_delay": 60,
        "api_token": "tok-" + PASSWORD,
    }
    context.refresh_from_db()
    assert context.is_default is True


@pytest.mark.parametrize(
    "payload, field", [({"name": "dev"}, "name"), ({"name": "a b"}, "name"), ({}, "name")]
)
def test_a_taken_or_bad_name_is_a_400_and_creates_nothing(admin_client, context, payload, field):
    assert_error_body(admin_client.post(url(context), payload, format="json"), 400, field)
    assert Context.objects.count() == 1


def test_cloning_needs_add_context_and_add_credential(reader_client, anon_client, context):
    assert_error_body(reader_client.post(url(context), {"name": "x"}, format="json"), 403)
    assert_error_body(anon_client.post(url(context), {"name": "x"}, format="json"), 401)
    contexts_only = client_for(make_user("editor", "contexts.add_context"))
    assert_error_body(contexts_only.post(url(context), {"name": "x"}, format="json"), 403)
    assert Context.objects.count() == 1
    both = client_for(make_user("keeper", "contexts.add_context", "contexts.add_credential"))
    assert both.post(url(context), {"name": "x"}, format="json").status_code == 201
