"""Fixtures for the reliability tests."""

import pytest

from contexts.models import Context, Credential


@pytest.fixture
def warehouse(pg_target, db):
    """`pg_target` plus a context `warehouse_ctx` holding a `warehouse` credential for it."""
    context = Context.objects.create(name="warehouse_ctx")
    connection = pg_target["connection"]
    credential = Credential(
        context=context,
        name="warehouse",
        kind=Credential.Kind.POSTGRES,
        config={key: connection[key] for key in ("host", "port", "database", "user")},
    )
    if connection["password"]:
        credential.update_secrets({"password": connection["password"]})
    credential.save()
    return pg_target | {"context": context}
