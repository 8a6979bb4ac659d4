"""A credential test waits on a database that may not answer (up to 10 s):
it must not hold a transaction meanwhile, which on SQLite is the database's
one write lock (every other write, even a throttle count, would wait)."""

from django.db import connection

from accounts.models import AuditEvent
from contexts import views as context_views
from tests.conftest import client_for, make_user
from tests.contexts.factories import add_credential, make_context


def test_a_credential_test_waits_on_the_network_outside_any_transaction(monkeypatch, transactional_db):
    admin_user = make_user("root", superuser=True)
    seen = {}

    def check(credential):
        seen["in_transaction"] = connection.in_atomic_block
        return {"ok": False, "message": "no answer", "seconds": 10.0}

    monkeypatch.setattr(context_views, "check_credential", check)
    credential = add_credential(make_context("dev"))
    response = client_for(admin_user).post(
        f"/api/v1/contexts/{credential.context_id}/credentials/{credential.pk}/test"
    )
    assert response.status_code == 200, response.content
    assert seen == {"in_transaction": False}
    assert AuditEvent.objects.filter(action="credential_test").count() == 1
