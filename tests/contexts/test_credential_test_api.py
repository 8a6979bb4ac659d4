"""POST /api/v1/contexts/{id}/credentials/{cred_id}/test really connects."""

import pytest

from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import PASSWORD, add_credential, make_context

pytestmark = pytest.mark.django_db


def route_for(credential):
    return f"/api/v1/contexts/{credential.context_id}/credentials/{credential.pk}/test"


@pytest.mark.postgres
def test_a_working_postgres_credential_reports_ok(admin_client, pg_target):
    target = pg_target["connection"]
    config = {key: target[key] for key in ("host", "port", "database", "user")}
    credential = add_credential(
        make_context(), "warehouse", "postgres", config, secrets={"password": target["password"] or "x"}
    )
    response = admin_client.post(route_for(credential))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True, body
    assert f"{target['host']}:{target['port']}/{target['database']}" in body["message"]


@pytest.mark.mysql
def test_a_wrong_mysql_password_reports_the_driver_error_without_the_password(admin_client, mysql_target):
    target = mysql_target["connection"]
    config = {key: target[key] for key in ("host", "port", "database", "user")}
    config["user"] = "nobody_here"
    credential = add_credential(make_context(), "mart", "mysql", config, secrets={"password": PASSWORD})
    response = admin_client.post(route_for(credential))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is False
    assert "nobody_here" in body["message"]  # the driver's own words come through
    assert PASSWORD not in response.content.decode()


def test_a_sqlite_file_outside_the_data_roots_is_refused(admin_client, data_root):
    credential = add_credential(make_context(), "local", "sqlite", {"database": "/etc/passwd"}, secrets={})
    body = admin_client.post(route_for(credential)).json()
    assert body["ok"] is False
    assert "outside the data roots" in body["message"]


def test_a_sqlite_file_inside_the_data_roots_reports_ok(admin_client, data_root):
    import sqlite3

    sqlite3.connect(data_root / "local.db").close()
    credential = add_credential(make_context(), "local", "sqlite", {"database": "local.db"}, secrets={})
    body = admin_client.post(route_for(credential)).json()
    assert body["ok"] is True, body


def test_kinds_that_cannot_be_tested_are_a_400(admin_client):
    credential = add_credential(
        make_context(), "api", "http", {"url": "https://example.com"}, secrets={"token": "t"}
    )
    assert_error_body(admin_client.post(route_for(credential)), 400, "kind")


def test_testing_needs_the_change_credential_permission(reader_client, anon_client):
    credential = add_credential(make_context())
    assert_error_body(reader_client.post(route_for(credential)), 403)
    assert_error_body(anon_client.post(route_for(credential)), 401)
    allowed = client_for(make_user("tester", "contexts.change_credential"))
    assert allowed.post(route_for(credential)).status_code == 200
