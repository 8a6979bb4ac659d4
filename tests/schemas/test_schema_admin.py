"""The schema admin edits fields and rules as JSON, through the API's checks and versioning."""

import json

import pytest
from django.test import Client

from schemas.models import Schema
from tests.schemas.factories import FLIGHT_FIELDS, FLIGHT_RULES, make_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def form(name="flights", fields=FLIGHT_FIELDS, rules=FLIGHT_RULES):
    return {
        "name": name,
        "description": "",
        "fields_json": json.dumps(fields),
        "rules_json": json.dumps(rules),
    }


def test_adding_and_changing_a_schema_in_the_admin_saves_versions(browser):
    response = browser.post("/admin/schemas/schema/add/", form())
    assert response.status_code == 302, response.content.decode()[:2000]
    schema = Schema.objects.get()
    assert (schema.version, schema.fields.count(), schema.rules.count()) == (1, 4, 1)

    page = browser.get(f"/admin/schemas/schema/{schema.pk}/change/")
    assert page.status_code == 200
    # The fields are shown as editable JSON (not a JSON string of JSON).
    assert "&quot;name&quot;: &quot;dep_time&quot;" in page.content.decode()
    assert "v1 (" in page.content.decode()
    response = browser.post(f"/admin/schemas/schema/{schema.pk}/change/", form(rules=[]))
    assert response.status_code == 302
    schema.refresh_from_db()
    assert schema.version == 2 and schema.rules.count() == 0


def test_a_bad_definition_is_shown_on_the_form_and_nothing_is_saved(browser):
    make_schema()
    bad_rules = [{"name": "r", "expression": "nope >"}]
    response = browser.post(f"/admin/schemas/schema/{Schema.objects.get().pk}/change/", form(rules=bad_rules))
    assert response.status_code == 200
    assert "rule &#x27;r&#x27;: Not a valid SQL expression" in response.content.decode()
    assert Schema.objects.get().version == 1
