"""Schemathesis against the served OpenAPI schema (`/api/v1/schema/`), in-process
through the real WSGI application, authenticated as an admin with a Token.

Every operation gets a bounded number of generated requests, valid ones
(positive) and invalid ones (negative), with generated ids and with the ids of
seeded objects; each response must not be a 5xx and must match the documented
status codes, content type and body schema.

One test walks every operation and reports all failing operations at the end
(with a curl command to reproduce each), rather than one test per operation:
schemathesis's lazy pytest loader does not work with this pytest, and a module
level loader would build the schema at collection time for every test run.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from accounts.models import ApiKey
from etlsite.configuration import clear_cache as clear_configuration_cache
from execution.models import Execution, ExecutionLog, State
from jobs.models import JobDependency
from tests.contexts.factories import add_credential, add_parameter, make_context
from tests.jobs.factories import make_job
from tests.schemas.factories import make_schema

EXAMPLES_PER_OPERATION = 16

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

# Health checks answer a documented 503 when what they check fails (the
# readiness probe while no worker runs, /health/jobs while a job's last run
# failed): that is their design, not a crash.
CHECKS_WITHOUT_5XX = [check for check in CHECKS if check is not schemathesis.checks.not_a_server_error]

# Execution control documents its 409s and executions their nullable fields
# (both found by this fuzzer; the two tests at the end keep them so).
CONTROL_ROUTES = [
    f"/api/v1/jobs/{{job_id}}/{action}/" for action in ("start", "stop", "pause", "resume", "restart")
]
EXECUTION_NULLABLE_FIELDS = ("duration_seconds", "started_by")

EXCLUDED = {
    # Rotating (POST) or deleting (DELETE) the admin's own token logs the fuzzer out mid-run.
    ("POST", "/api/v1/auth/token/rotate"),
    ("DELETE", "/api/v1/auth/token/rotate"),
}


@pytest.fixture
def wsgi_app():
    """The real WSGI application, minus the per-request connection closing
    (as Django's test client does): the test's transaction must survive."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(admin_user, data_root, settings, wsgi_app):
    # The fuzzer sends far more requests than a person: keep it clear of the rate limits.
    settings.ETL_THROTTLE_RATES = {scope: "100000/minute" for scope in ("anon", "user", "api_key", "login")}
    seeded = seed_objects(admin_user)
    token = Token.objects.create(user=admin_user).key
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app, headers=headers)
    schema.config.update(headers=headers)
    return schema, seeded


def seed_objects(admin_user) -> dict:
    """One object of each kind, with the values of every path parameter that
    names one: generated ids rarely hit a real row, these always do."""
    context = make_context("dev")
    add_parameter(context, "min_delay", "integer", 30)
    credential = add_credential(context)
    job = make_job("fuzz_job", default_context=context)
    downstream = make_job("fuzz_downstream")
    dependency = JobDependency.objects.create(upstream=job, downstream=downstream)
    schema = make_schema("flights")
    execution = Execution.objects.create(
        job=job, state=State.FAILED, error={"component": "out", "message": "disk full"}
    )
    ExecutionLog.objects.create(execution=execution, level="error", component="out", message="disk full")
    api_key, _ = ApiKey.objects.create_key(name="ci", owner=admin_user, scopes=["read"])
    return {
        "/api/v1/jobs/": {"id": job.pk, "job_id": job.pk, "execution_id": execution.pk},
        "/api/v1/jobs/{id}/dependencies/": {"id": downstream.pk, "dependency_id": dependency.pk},
        "/api/v1/contexts/": {"id": context.pk, "credential_id": credential.pk},
        "/api/v1/schemas/": {"id": schema.pk},
        "/api/v1/auth/api-keys/": {"id": api_key.prefix},
        "/api/v1/component-types/": {"type": "csv_source"},
    }


def real_path_parameters(path: str, seeded: dict) -> dict | None:
    """The seeded values for `path`'s parameters (the longest matching prefix wins)."""
    prefixes = [prefix for prefix in seeded if path.startswith(prefix)]
    if "{" not in path or not prefixes:
        return None
    values = seeded[max(prefixes, key=len)]
    names = [part[1:-1] for part in path.replace(".csv", "").split("/") if part.startswith("{")]
    return {name: values[name] for name in names if name in values} or None


def call_and_validate(case) -> None:
    response = case.call()
    health_503 = case.operation.path.startswith("/api/v1/health/") and response.status_code == 503
    case.validate_response(response, checks=CHECKS_WITHOUT_5XX if health_503 else CHECKS)


def fuzz(operation, seeded: dict) -> None:
    strategies = [
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    ]
    real = real_path_parameters(operation.path, seeded)
    if real:
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters=real)
            for mode in schemathesis.GenerationMode
        ]
    cases = st.one_of(strategies)

    # No shrinking: each example is an HTTP request, and the report below
    # already carries the failing request.
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        # The same cases on every run (CI must not flake); ETL_FUZZ_RANDOM=1 explores new ones.
        derandomize=os.environ.get("ETL_FUZZ_RANDOM") != "1",
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case):
        # Each request runs in a savepoint rolled back afterwards: it sees the
        # seeded objects only, and a generated PUT /setup/configuration (say,
        # a 1/day rate limit) or a failed write cannot spoil the next request.
        with transaction.atomic():
            try:
                call_and_validate(case)
            finally:
                transaction.set_rollback(True)
                clear_configuration_cache()

    run()


@pytest.mark.django_db
def test_every_operation_answers_as_documented(api_schema):
    api_schema, seeded = api_schema
    failures = []
    tested = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        tested += 1
        try:
            fuzz(operation, seeded)
        except (
            Exception,
            BaseExceptionGroup,
        ) as error:  # collect every operation's failure, then report them together
            failures.append(f"--- {operation.method.upper()} {operation.path}\n{error}")
    assert tested > 100, f"only {tested} operations in the schema"
    assert not failures, f"{len(failures)} of {tested} operations failed:\n\n" + "\n\n".join(failures)


@pytest.mark.django_db
def test_execution_control_documents_its_conflicts(api_schema):
    api_schema, _ = api_schema
    for path in CONTROL_ROUTES:
        responses = api_schema.raw_schema["paths"][path]["post"]["responses"]
        assert "409" in responses, f"POST {path} documents {sorted(responses)}"


@pytest.mark.django_db
def test_execution_fields_that_can_be_null_are_documented_nullable(admin_client):
    served = admin_client.get("/api/v1/schema/?format=json").json()
    fields = served["components"]["schemas"]["Execution"]["properties"]
    assert all(fields[name].get("nullable") for name in EXECUTION_NULLABLE_FIELDS), {
        name: fields[name] for name in EXECUTION_NULLABLE_FIELDS
    }


@pytest.mark.django_db
def test_a_saved_schema_version_answers_as_documented(api_schema, admin_user):
    """`GET /schemas/{id}/?version=N` once answered a different shape than the
    documented Schema (no created_at/updated_at): found by a random fuzzing run."""
    api_schema, seeded = api_schema
    operation = api_schema["/api/v1/schemas/{id}/"]["GET"]
    headers = {"Authorization": f"Token {Token.objects.get(user=admin_user).key}"}
    for version, status in ((1, 200), (99, 404)):  # a saved version, and a missing one
        case = operation.Case(
            path_parameters=seeded["/api/v1/schemas/"], query={"version": version}, headers=headers
        )
        response = case.call()
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CHECKS)
