"""/api/v1/contexts/{id}/credentials and /credentials/{cred_id}: secrets go in,
only their names come out."""

from functools import cached_property

import pytest

from contexts.models import Credential
from tests.api_base import (
    AccessTests,
    CreateTests,
    DeleteTests,
    ListTests,
    RetrieveTests,
    UpdateTests,
    assert_error_body,
)
from tests.conftest import client_for, make_user
from tests.contexts.factories import PASSWORD, add_credential, make_context

pytestmark = pytest.mark.django_db

WAREHOUSE = {
    "name": "warehouse",
    "kind": "postgres",
    "config": {"host": "127.0.0.1", "port": 5432, "database": "dw", "user": "etl"},
    "secrets": {"password": PASSWORD},
}


class TestCredentialsAPI(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, AccessTests):
    model = Credential
    paginated = False
    update_payload = {"description": "changed"}
    bad_payload = ({"name": "x", "kind": "bogus"}, "kind")

    @cached_property
    def parent(self):
        return make_context("parent")

    @property
    def endpoint(self):
        return f"/api/v1/contexts/{self.parent.pk}/credentials/"

    def make_object(self, index):
        return add_credential(self.parent, f"cred_{index}")

    def create_payload(self, index):
        return {**WAREHOUSE, "name": f"new_{index}"}


@pytest.fixture
def context():
    return make_context("dev")


def url(context, credential=None):
    base = f"/api/v1/contexts/{context.pk}/credentials"
    return f"{base}/{credential.pk}" if credential else base


def test_adding_a_credential_returns_which_secrets_are_set_never_their_values(admin_client, context):
    response = admin_client.post(url(context), WAREHOUSE, format="json")
    assert response.status_code == 201, response.content
    assert PASSWORD not in response.content.decode()
    body = response.json()
    assert body["secrets_set"] == ["password"]
    assert body["config"] == WAREHOUSE["config"]
    assert "secrets" not in body
    assert Credential.objects.get().plain_secrets() == {"password": PASSWORD}


def test_listing_and_reading_credentials_never_shows_a_secret(reader_client, context):
    credential = add_credential(context)
    for path in (url(context), url(context, credential), f"/api/v1/contexts/{context.pk}"):
        response = reader_client.get(path)
        assert response.status_code == 200, path
        assert PASSWORD not in response.content.decode()
        assert credential.encrypted_secrets["password"] not in response.content.decode()
    assert reader_client.get(url(context)).json()[0]["secrets_set"] == ["password"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "oracle"}, "kind"),
        ({"name": "has space"}, "name"),
        ({"config": {"host": "h"}}, "config.database"),
        ({"config": {"host": "h", "database": "d", "password": "x"}}, "config.password"),
        ({"config": {"host": "h", "database": "d", "port": "5432x"}}, "config.port"),
        ({"config": {"host": "h", "database": "d", "colour": "red"}}, "config.colour"),
        ({"secrets": {"token": "x"}}, "secrets.token"),
        ({"secrets": {"password": ""}}, "secrets.password"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_credentials_are_a_400_naming_the_field_and_save_nothing(admin_client, context, change, field):
    response = admin_client.post(url(context), {**WAREHOUSE, **change}, format="json")
    assert_error_body(response, 400, field)
    assert not Credential.objects.exists()


def test_a_duplicate_name_in_the_same_context_is_a_400(admin_client, context):
    add_credential(context, "warehouse")
    response = admin_client.post(url(context), WAREHOUSE, format="json")
    assert_error_body(response, 400, "name")
    assert Credential.objects.count() == 1


def test_the_same_name_in_another_context_is_fine(admin_client, context):
    add_credential(make_context("prod"), "warehouse")
    assert admin_client.post(url(context), WAREHOUSE, format="json").status_code == 201


def test_an_update_without_secrets_keeps_them(admin_client, context):
    credential = add_credential(context)
    payload = {"name": "warehouse", "kind": "postgres", "config": {"host": "db2", "database": "dw"}}
    response = admin_client.put(url(context, credential), payload, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["secrets_set"] == ["password"]
    credential.refresh_from_db()
    assert credential.config == {"host": "db2", "database": "dw"}
    assert credential.plain_secrets() == {"password": PASSWORD}


def test_a_get_body_can_be_put_back_unchanged(admin_client, context):
    credential = add_credential(context)
    body = admin_client.get(url(context, credential)).json()
    assert admin_client.put(url(context, credential), body, format="json").status_code == 200
    credential.refresh_from_db()
    assert credential.plain_secrets() == {"password": PASSWORD}


def test_a_new_secret_value_replaces_the_stored_one(admin_client, context):
    credential = add_credential(context)
    response = admin_client.patch(
        url(context, credential), {"secrets": {"password": "new-one"}}, format="json"
    )
    assert response.status_code == 200, response.content
    credential.refresh_from_db()
    assert credential.plain_secrets() == {"password": "new-one"}


def test_an_explicit_null_clears_a_secret(admin_client, context):
    credential = add_credential(context)
    response = admin_client.patch(url(context, credential), {"secrets": {"password": None}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["secrets_set"] == []
    credential.refresh_from_db()
    assert credential.encrypted_secrets == {}


def test_changing_to_a_kind_that_takes_no_secrets_asks_to_clear_them(admin_client, context):
    credential = add_credential(context)
    response = admin_client.patch(
        url(context, credential), {"kind": "sqlite", "config": {"database": "x.db"}}, format="json"
    )
    assert_error_body(response, 400, "secrets.password")
    credential.refresh_from_db()
    assert credential.kind == "postgres"


def test_deleting_a_credential(admin_client, context):
    credential = add_credential(context)
    assert admin_client.delete(url(context, credential)).status_code == 204
    assert not Credential.objects.exists()


def test_a_credential_of_another_context_is_a_404(admin_client, context):
    other = add_credential(make_context("prod"))
    assert_error_body(admin_client.get(url(context, other)), 404)
    assert_error_body(admin_client.delete(url(context, other)), 404)
    assert Credential.objects.filter(pk=other.pk).exists()


def test_users_without_credential_permissions_get_403_and_change_nothing(reader_client, context):
    credential = add_credential(context)
    # May edit contexts, but not credentials.
    editor = client_for(make_user("editor", "contexts.add_context", "contexts.change_context"))
    for client in (reader_client, editor):
        assert_error_body(client.post(url(context), {**WAREHOUSE, "name": "other"}, format="json"), 403)
        assert_error_body(
            client.patch(url(context, credential), {"secrets": {"password": None}}, format="json"), 403
        )
        assert_error_body(client.delete(url(context, credential)), 403)
    credential.refresh_from_db()
    assert Credential.objects.count() == 1
    assert credential.plain_secrets() == {"password": PASSWORD}


def test_a_user_with_credential_permissions_may_manage_them(context):
    client = client_for(
        make_user(
            "keeper", "contexts.add_credential", "contexts.change_credential", "contexts.delete_credential"
        )
    )
    response = client.post(url(context), WAREHOUSE, format="json")
    assert response.status_code == 201, response.content
    credential = Credential.objects.get()
    assert client.patch(url(context, credential), {"description": "x"}, format="json").status_code == 200
    assert client.delete(url(context, credential)).status_code == 204


def test_anonymous_requests_get_401(anon_client, context):
    credential = add_credential(context)
    assert_error_body(anon_client.get(url(context)), 401)
    assert_error_body(anon_client.post(url(context), WAREHOUSE, format="json"), 401)
    assert_error_body(anon_client.put(url(context, credential), WAREHOUSE, format="json"), 401)
    assert_error_body(anon_client.delete(url(context, credential)), 401)


def test_no_log_line_contains_a_secret(admin_client, context, caplog):
    caplog.set_level("DEBUG")
    response = admin_client.post(url(context), WAREHOUSE, format="json")
    credential = Credential.objects.get(pk=response.json()["id"])
    admin_client.patch(url(context, credential), {"secrets": {"password": PASSWORD + "2"}}, format="json")
    admin_client.post(url(context), {**WAREHOUSE, "kind": "oracle"}, format="json")
    admin_client.post(f"{url(context, credential)}/test")  # fails: no server named dw for user etl
    assert caplog.records  # something was logged, so the check below means something
    assert PASSWORD not in caplog.text
