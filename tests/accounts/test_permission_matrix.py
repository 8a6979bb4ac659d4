"""The permission matrix: every API route x every role (and anonymous, and an
API key per scope) -> allowed or refused.

Generated from the URL configuration: a route without an entry in ROUTES
fails `test_every_route_has_an_entry`, so nothing new is left unprotected by
accident. Allowed means "not 401/403" (the request may still be a 400 or 404
for the made-up ids); refused means 401 for anonymous, 403 otherwise.
"""

import re

import pytest
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from accounts.models import ApiKey
from monitoring.setup import ensure_roles
from tests.conftest import make_user

LEVELS = ["anon", "user", "viewer", "operator", "editor", "admin"]

# (method, path) -> the least role that may call it. "user" = any logged-in user.
ROUTES = {
    ("GET", "/api/docs/"): "user",
    ("GET", "/api/redoc/"): "user",
    ("GET", "/api/v1/audit/"): "admin",
    ("GET", "/api/v1/audit/{pk}/"): "admin",
    ("GET", "/api/v1/auth/api-keys/"): "user",
    ("POST", "/api/v1/auth/api-keys/"): "user",
    ("DELETE", "/api/v1/auth/api-keys/{id}/"): "user",
    ("GET", "/api/v1/auth/api-keys/{id}/"): "user",
    ("POST", "/api/v1/auth/api-keys/{id}/revoke/"): "user",
    ("POST", "/api/v1/auth/jwt/"): "anon",
    ("POST", "/api/v1/auth/jwt/logout/"): "anon",
    ("POST", "/api/v1/auth/jwt/refresh/"): "anon",
    ("POST", "/api/v1/auth/jwt/verify/"): "anon",
    ("POST", "/api/v1/auth/token"): "anon",
    ("DELETE", "/api/v1/auth/token/rotate"): "user",
    ("POST", "/api/v1/auth/token/rotate"): "user",
    ("GET", "/api/v1/component-types/"): "user",
    ("GET", "/api/v1/component-types/{type}/"): "user",
    ("GET", "/api/v1/contexts/"): "user",
    ("POST", "/api/v1/contexts/"): "editor",
    ("DELETE", "/api/v1/contexts/{pk}/"): "editor",
    ("GET", "/api/v1/contexts/{pk}/"): "user",
    ("PATCH", "/api/v1/contexts/{pk}/"): "editor",
    ("PUT", "/api/v1/contexts/{pk}/"): "editor",
    ("POST", "/api/v1/contexts/{pk}/clone/"): "editor",
    ("GET", "/api/v1/contexts/{context_pk}/credentials/"): "user",
    ("POST", "/api/v1/contexts/{context_pk}/credentials/"): "admin",
    ("DELETE", "/api/v1/contexts/{context_pk}/credentials/{credential_id}/"): "admin",
    ("GET", "/api/v1/contexts/{context_pk}/credentials/{credential_id}/"): "user",
    ("PATCH", "/api/v1/contexts/{context_pk}/credentials/{credential_id}/"): "admin",
    ("PUT", "/api/v1/contexts/{context_pk}/credentials/{credential_id}/"): "admin",
    ("POST", "/api/v1/contexts/{context_pk}/credentials/{credential_id}/test/"): "admin",
    ("GET", "/api/v1/contexts/{pk}/environment/"): "user",
    ("PUT", "/api/v1/contexts/{pk}/environment/"): "editor",
    ("GET", "/api/v1/contexts/{pk}/parameters/"): "user",
    ("PUT", "/api/v1/contexts/{pk}/parameters/"): "editor",
    ("GET", "/api/v1/health/"): "user",
    ("GET", "/api/v1/health/components/"): "user",
    ("GET", "/api/v1/health/database/"): "user",
    ("GET", "/api/v1/health/detailed/"): "user",
    ("GET", "/api/v1/health/external/"): "user",
    ("GET", "/api/v1/health/jobs/"): "user",
    ("GET", "/api/v1/health/live/"): "anon",
    ("GET", "/api/v1/health/ready/"): "anon",
    ("GET", "/api/v1/info/"): "user",
    ("GET", "/api/v1/info/capabilities/"): "user",
    ("GET", "/api/v1/info/features/"): "user",
    ("GET", "/api/v1/info/version/"): "user",
    ("GET", "/api/v1/jobs/"): "user",
    ("POST", "/api/v1/jobs/"): "editor",
    ("GET", "/api/v1/jobs/{job_id}/errors/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/{execution_id}/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/{execution_id}/errors/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/{execution_id}/logs/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/{execution_id}/metrics/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/executions/{execution_id}/rejects/{component}.csv"): "user",
    ("GET", "/api/v1/jobs/{job_id}/health/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/logs/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/metrics/"): "user",
    ("POST", "/api/v1/jobs/{job_id}/pause/"): "operator",
    ("GET", "/api/v1/jobs/{job_id}/performance/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/progress/"): "user",
    ("POST", "/api/v1/jobs/{job_id}/restart/"): "operator",
    ("POST", "/api/v1/jobs/{job_id}/resume/"): "operator",
    ("POST", "/api/v1/jobs/{job_id}/start/"): "operator",
    ("GET", "/api/v1/jobs/{job_id}/statistics/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/status/"): "user",
    ("GET", "/api/v1/jobs/{job_id}/state/"): "user",
    ("PUT", "/api/v1/jobs/{job_id}/state/"): "editor",
    ("DELETE", "/api/v1/jobs/{job_id}/state/"): "editor",
    ("POST", "/api/v1/jobs/{job_id}/backfill/"): "operator",
    ("GET", "/api/v1/backfills/"): "user",
    ("GET", "/api/v1/backfills/{backfill_id}/"): "user",
    ("POST", "/api/v1/backfills/{backfill_id}/stop/"): "operator",
    ("POST", "/api/v1/backfills/{backfill_id}/rerun/"): "operator",
    ("POST", "/api/v1/jobs/{job_id}/stop/"): "operator",
    ("GET", "/api/v1/jobs/{job_id}/timeline/"): "user",
    ("DELETE", "/api/v1/jobs/{pk}/"): "editor",
    ("GET", "/api/v1/jobs/{pk}/"): "user",
    ("PATCH", "/api/v1/jobs/{pk}/"): "editor",
    ("PUT", "/api/v1/jobs/{pk}/"): "editor",
    ("GET", "/api/v1/jobs/{pk}/components/"): "user",
    ("PUT", "/api/v1/jobs/{pk}/components/"): "editor",
    ("GET", "/api/v1/jobs/{pk}/config/"): "user",
    ("PUT", "/api/v1/jobs/{pk}/config/"): "editor",
    ("POST", "/api/v1/jobs/apply/"): "editor",
    ("POST", "/api/v1/jobs/preview/"): "editor",
    ("GET", "/api/v1/jobs/{pk}/export/"): "user",
    ("POST", "/api/v1/jobs/{pk}/preview/"): "editor",
    ("GET", "/api/v1/jobs/{job_pk}/versions/"): "user",
    ("GET", "/api/v1/jobs/{job_pk}/versions/{version}/"): "user",
    ("POST", "/api/v1/jobs/{job_pk}/versions/{version}/restore/"): "editor",
    ("GET", "/api/v1/jobs/{job_pk}/dependencies/"): "user",
    ("POST", "/api/v1/jobs/{job_pk}/dependencies/"): "editor",
    ("DELETE", "/api/v1/jobs/{job_pk}/dependencies/{dependency_id}/"): "editor",
    ("GET", "/api/v1/metrics/components/"): "user",
    ("GET", "/api/v1/metrics/custom/"): "user",
    ("POST", "/api/v1/metrics/custom/"): "operator",
    ("GET", "/api/v1/metrics/executions/"): "user",
    ("GET", "/api/v1/metrics/jobs/"): "user",
    ("GET", "/api/v1/metrics/performance/"): "user",
    ("GET", "/api/v1/metrics/performance/cpu/"): "user",
    ("GET", "/api/v1/metrics/performance/custom/"): "user",
    ("GET", "/api/v1/metrics/performance/disk/"): "user",
    ("GET", "/api/v1/metrics/performance/memory/"): "user",
    ("GET", "/api/v1/metrics/performance/network/"): "user",
    ("GET", "/api/v1/metrics/system/"): "user",
    ("GET", "/api/v1/notifications/channels/"): "user",
    ("POST", "/api/v1/notifications/channels/"): "admin",
    ("DELETE", "/api/v1/notifications/channels/{pk}/"): "admin",
    ("GET", "/api/v1/notifications/channels/{pk}/"): "user",
    ("PATCH", "/api/v1/notifications/channels/{pk}/"): "admin",
    ("PUT", "/api/v1/notifications/channels/{pk}/"): "admin",
    ("POST", "/api/v1/notifications/channels/{pk}/test/"): "admin",
    ("GET", "/api/v1/notifications/deliveries/"): "user",
    ("GET", "/api/v1/notifications/deliveries/{pk}/"): "user",
    ("GET", "/api/v1/notifications/rules/"): "user",
    ("POST", "/api/v1/notifications/rules/"): "editor",
    ("DELETE", "/api/v1/notifications/rules/{pk}/"): "editor",
    ("GET", "/api/v1/notifications/rules/{pk}/"): "user",
    ("PATCH", "/api/v1/notifications/rules/{pk}/"): "editor",
    ("PUT", "/api/v1/notifications/rules/{pk}/"): "editor",
    ("GET", "/api/v1/schema/"): "user",
    ("GET", "/api/v1/schemas/"): "user",
    ("POST", "/api/v1/schemas/"): "editor",
    ("POST", "/api/v1/schemas/import/"): "editor",
    ("POST", "/api/v1/schemas/infer/"): "user",
    ("POST", "/api/v1/schemas/validate/"): "user",
    ("DELETE", "/api/v1/schemas/{pk}/"): "editor",
    ("GET", "/api/v1/schemas/{pk}/"): "user",
    ("PATCH", "/api/v1/schemas/{pk}/"): "editor",
    ("PUT", "/api/v1/schemas/{pk}/"): "editor",
    ("GET", "/api/v1/schemas/{pk}/documentation/"): "user",
    ("GET", "/api/v1/schemas/{pk}/examples/"): "user",
    ("GET", "/api/v1/schemas/{pk}/json-schema/"): "user",
    ("GET", "/api/v1/schemas/{pk}/openapi/"): "user",
    ("POST", "/api/v1/schemas/{pk}/validate/"): "user",
    ("GET", "/api/v1/schemas/{pk}/validation-rules/"): "user",
    ("PUT", "/api/v1/schemas/{pk}/validation-rules/"): "editor",
    ("GET", "/api/v1/schemas/{pk}/versions/"): "user",
    ("GET", "/api/v1/setup/configuration/"): "admin",
    ("PUT", "/api/v1/setup/configuration/"): "admin",
    ("POST", "/api/v1/setup/configure/"): "admin",
    ("POST", "/api/v1/setup/initialize/"): "admin",
    ("GET", "/api/v1/setup/status/"): "admin",
}

# POSTs that save nothing: a read scope is enough.
READ_ONLY_POSTS = {("POST", "/api/v1/schemas/infer/"), ("POST", "/api/v1/schemas/validate/"),
                   ("POST", "/api/v1/schemas/{pk}/validate/")}  # fmt: skip

# Scoped credentials: which scope a route needs.
ADMIN_SCOPED = {("POST", "/api/v1/auth/api-keys/"), ("DELETE", "/api/v1/auth/api-keys/{id}/"),
                ("POST", "/api/v1/auth/api-keys/{id}/revoke/")}  # fmt: skip


# The API's own documentation: any authenticated credential may read it.
DOCUMENTATION = {("GET", "/api/docs/"), ("GET", "/api/redoc/"), ("GET", "/api/v1/schema/")}


def needed_scope(method: str, path: str) -> str | None:
    level = ROUTES[(method, path)]
    if level == "anon" or (method, path) in DOCUMENTATION:
        return None
    if level == "admin" or (method, path) in ADMIN_SCOPED:
        return "admin"
    if method == "GET" or (method, path) in READ_ONLY_POSTS:
        return "read"
    if level == "operator" and re.search(r"/(start|stop|pause|resume|restart|backfill|rerun)/$", path):
        return "execute"
    return "write"


def api_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, _, method, _ in EndpointEnumerator().get_api_endpoints()}


def concrete(path: str) -> str:
    path = re.sub(r"\{component\}", "rows", path)
    path = re.sub(r"\{type\}", "filter", path)
    return re.sub(r"\{[a-z_]+\}", "999999", path)


def call(client, method, path):
    return getattr(client, method.lower())(concrete(path), {}, format="json")


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.ETL_THROTTLE_RATES = {scope: "100000/minute" for scope in settings.ETL_THROTTLE_RATES}


def test_every_route_has_an_entry():
    missing = sorted(api_routes() - set(ROUTES))
    assert not missing, f"Add these routes to ROUTES with their least role: {missing}"
    stale = sorted(set(ROUTES) - api_routes())
    assert not stale, f"Routes in ROUTES that no longer exist: {stale}"


def client_for_level(level: str) -> APIClient:
    client = APIClient()
    if level == "anon":
        return client
    user = make_user(f"u_{level}")
    if level != "user":
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=level))
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("level", LEVELS)
def test_each_role_gets_exactly_its_routes(level):
    ensure_roles()
    client = client_for_level(level)
    wrong = []
    for (method, path), needed in sorted(ROUTES.items()):
        status = call(client, method, path).status_code
        allowed = LEVELS.index(level) >= LEVELS.index(needed)
        refused = status in (401, 403)
        if allowed == refused or (refused and status != (401 if level == "anon" else 403)):
            wrong.append(f"{method} {path} -> {status} (needs {needed})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["read", "write", "execute", "admin"])
def test_each_api_key_scope_gets_exactly_its_routes(scope):
    owner = make_user("keyowner", superuser=True)
    _, key = ApiKey.objects.create_key(name=scope, owner=owner, scopes=[scope])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    wrong = []
    for (method, path), _ in sorted(ROUTES.items()):
        needed = needed_scope(method, path)
        status = call(client, method, path).status_code
        allowed = needed is None or scope in (needed, "admin")
        if allowed == (status in (401, 403)):
            wrong.append(f"{method} {path} -> {status} (needs scope {needed})")
    assert not wrong, "\n".join(wrong)
