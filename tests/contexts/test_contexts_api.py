"""/api/v1/contexts: CRUD through the shared API test base, plus what is
particular to contexts (one default, delete protection, filters)."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from contexts.models import Context
from tests.api_base import APICRUDTests, assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import PASSWORD, add_credential, add_parameter, make_context
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db


class TestContextsAPI(APICRUDTests):
    endpoint = "/api/v1/contexts/"
    model = Context
    update_payload = {"description": "changed"}
    bad_payload = ({"name": "has spaces"}, "name")

    def make_object(self, index):
        context = make_context(f"ctx_{index}")
        add_parameter(context, "token", "secret", PASSWORD)
        add_credential(context)
        return context

    def create_payload(self, index):
        return {"name": f"new_{index}", "description": "d", "is_default": False}

    @pytest.fixture
    def writer_client(self, db):
        # These contexts hold a credential, and deleting a context deletes its
        # credentials: that needs delete_credential too
        # (tests/security/test_context_delete_permission.py).
        return client_for(make_user("writer", *self.writer_permissions(), "contexts.delete_credential"))


def test_a_created_context_comes_back_in_the_contract_shape(admin_client):
    response = admin_client.post(
        "/api/v1/contexts", {"name": "dev", "description": "", "is_default": False}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "dev"
    assert body["is_default"] is False
    assert body["environment"] == {}
    assert body["parameters"] == [] and body["credentials"] == []


def test_a_duplicate_name_is_a_400_naming_the_field(admin_client):
    make_context("dev")
    response = admin_client.post("/api/v1/contexts", {"name": "dev"}, format="json")
    assert_error_body(response, 400, "name")
    assert Context.objects.count() == 1


def test_marking_a_context_default_takes_the_mark_from_the_previous_one(admin_client):
    old = make_context("old", is_default=True)
    response = admin_client.post("/api/v1/contexts", {"name": "new", "is_default": True}, format="json")
    assert response.status_code == 201, response.content
    old.refresh_from_db()
    assert old.is_default is False
    assert list(Context.objects.filter(is_default=True).values_list("name", flat=True)) == ["new"]


def test_the_detail_shows_parameters_and_credentials_without_secret_values(admin_client):
    context = make_context("dev")
    add_parameter(context, "min_delay", "integer", 60)
    add_parameter(context, "api_token", "secret", PASSWORD)
    add_credential(context)
    response = admin_client.get(f"/api/v1/contexts/{context.pk}")
    assert response.status_code == 200
    assert PASSWORD not in response.content.decode()
    body = response.json()
    assert body["parameters"] == [
        {"name": "api_token", "type": "secret", "value_set": True, "description": ""},
        {"name": "min_delay", "type": "integer", "value": 60, "value_set": True, "description": ""},
    ]
    assert body["credentials"][0]["secrets_set"] == ["password"]


def test_deleting_a_context_used_as_a_job_default_is_a_409_naming_the_jobs(admin_client):
    context = make_context("dev")
    make_job("nightly", default_context=context)
    make_job("hourly", default_context=context)
    response = admin_client.delete(f"/api/v1/contexts/{context.pk}")
    assert_error_body(response, 409)
    error = response.json()["error"]
    assert error["details"] == {"jobs": ["hourly", "nightly"]}
    assert "hourly, nightly" in error["message"]
    assert Context.objects.filter(pk=context.pk).exists()


def test_contexts_filter_by_exact_name(reader_client):
    make_context("dev")
    make_context("dev2")
    body = reader_client.get("/api/v1/contexts", {"name": "dev"}).json()
    assert [c["name"] for c in body["results"]] == ["dev"]


def test_a_context_restricted_to_groups_is_hidden_from_other_users(reader_client, admin_client):
    Group.objects.create(name="finance")
    response = admin_client.post(
        "/api/v1/contexts", {"name": "prod", "allowed_groups": ["finance"]}, format="json"
    )
    assert response.status_code == 201, response.content
    context = Context.objects.get(name="prod")
    assert_error_body(reader_client.get(f"/api/v1/contexts/{context.pk}"), 404)
    assert_error_body(reader_client.get(f"/api/v1/contexts/{context.pk}/credentials"), 404)
    assert reader_client.get("/api/v1/contexts").json()["count"] == 0


def test_changes_are_audited_without_secret_values(admin_client):
    context = make_context("dev")
    credentials = f"/api/v1/contexts/{context.pk}/credentials"
    payload = {
        "name": "w",
        "kind": "postgres",
        "config": {"host": "h", "database": "d"},
        "secrets": {"password": PASSWORD},
    }
    credential_id = admin_client.post(credentials, payload, format="json").json()["id"]
    admin_client.patch(
        f"{credentials}/{credential_id}", {"secrets": {"password": PASSWORD + "2"}}, format="json"
    )
    admin_client.put(
        f"/api/v1/contexts/{context.pk}/parameters", [{"name": "t", "type": "secret", "value": PASSWORD}]
    )
    events = list(AuditEvent.objects.order_by("id").values_list("action", "object_type", "before", "after"))
    assert [(action, object_type) for action, object_type, *_ in events] == [
        ("create", "contexts.credential"),
        ("update", "contexts.credential"),
        ("update", "contexts.context"),
    ]
    assert events[0][3]["secrets_set"] == ["password"]
    assert PASSWORD not in str(events)
