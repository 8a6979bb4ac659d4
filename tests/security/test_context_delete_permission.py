"""Issue 15, item 10: deleting a context deletes its credentials, so it needs the
credential-delete permission (`contexts.delete_credential`) as well as
`contexts.delete_context`. Without it: 403 saying why, nothing deleted. The
same in the Django admin."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEvent
from contexts.models import Context, Credential
from monitoring.setup import ensure_roles
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import add_credential, make_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roles(db):
    ensure_roles()


@pytest.fixture
def prod():
    context = make_context("prod")
    add_credential(context, name="warehouse")
    return context


def editor(staff: bool = False):
    user = make_user("ed")
    user.groups.add(Group.objects.get(name="editor"))
    user.is_staff = staff
    user.save()
    return user


def delete(client, context):
    return client.delete(f"/api/v1/contexts/{context.pk}")


def test_an_editor_cannot_delete_a_context_with_credentials_and_is_told_why(prod):
    response = delete(client_for(editor()), prod)
    assert_error_body(response, 403)
    message = response.json()["error"]["message"]
    assert "warehouse" in message and "delete_credential" in message
    assert Context.objects.filter(pk=prod.pk).exists()
    assert Credential.objects.filter(context=prod).count() == 1
    assert not AuditEvent.objects.filter(action="delete").exists()


def test_an_editor_deletes_a_context_without_credentials(db):
    context = make_context("scratch")
    assert delete(client_for(editor()), context).status_code == 204
    assert not Context.objects.filter(pk=context.pk).exists()


@pytest.mark.parametrize("who", ["admin", "both permissions"])
def test_with_the_credential_delete_permission_the_context_and_its_credentials_go(prod, who):
    if who == "admin":
        user = make_user("root", superuser=True)
    else:
        user = make_user("holder", "contexts.delete_context", "contexts.delete_credential")
    assert delete(client_for(user), prod).status_code == 204
    assert not Context.objects.exists() and not Credential.objects.exists()
    assert AuditEvent.objects.filter(action="delete", object_type="contexts.context").count() == 1


@pytest.mark.parametrize(("scopes", "status"), [(["write"], 403), (["admin"], 204)])
def test_an_api_key_needs_the_admin_scope_as_for_deleting_credentials(prod, scopes, status):
    _, key = ApiKey.objects.create_key(name="k", owner=make_user("root", superuser=True), scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = delete(client, prod)
    assert response.status_code == status, response.content
    assert Credential.objects.filter(context=prod).exists() == (status == 403)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_refuses_an_editor_deleting_a_context_with_credentials(prod):
    client = signed_in(editor(staff=True))
    page = client.get(f"/admin/contexts/context/{prod.pk}/delete/")
    assert "credential" in {str(name) for name in page.context["perms_lacking"]}
    assert client.post(f"/admin/contexts/context/{prod.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        "/admin/contexts/context/",
        {"action": "delete_selected", "_selected_action": [prod.pk], "post": "yes"},
    )
    assert Credential.objects.filter(context=prod).count() == 1
    assert Context.objects.filter(pk=prod.pk).exists()


def test_the_admin_lets_the_admin_role_delete_it(prod):
    user = make_user("boss")
    user.groups.add(Group.objects.get(name="admin"))
    user.is_staff = True
    user.save()
    response = signed_in(user).post(f"/admin/contexts/context/{prod.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Context.objects.exists() and not Credential.objects.exists()
