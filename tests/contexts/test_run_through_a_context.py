"""A job runs with what a context resolves to: parameters, environment values
and a stored credential, against a real PostgreSQL database; secrets never
reach an error message."""

import pytest

from contexts.resolution import RunInputError, redact, resolve_run_inputs
from execution.engine.errors import EngineError
from execution.engine.runner import RunContext, run_job
from tests.contexts.factories import add_credential, add_parameter, make_context
from tests.jobs.factories import make_job

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SECRET_TOKEN = "tok-9f8e7d6c5b4a"


def store_target_as_credential(context, pg_target):
    """The pg_target database as a credential of the context (secrets encrypted)."""
    target = pg_target["connection"]
    config = {key: target[key] for key in ("host", "port", "database", "user")}
    return add_credential(
        context, "warehouse", "postgres", config, secrets={"password": target["password"] or "unused"}
    )


def run(resolved, tmp_path):
    context = RunContext(
        data_roots=[str(tmp_path)],
        connections=resolved.connections,
        batch_size=50_000,
        values=resolved.values,
    )
    return run_job(resolved.components, context)


def test_a_job_reads_and_writes_postgres_through_a_stored_credential(pg_target, tmp_path):
    schema = pg_target["schema"]
    pg_target["conn"].execute(f'CREATE TABLE "{schema}".flights (carrier text, delay int)')
    pg_target["conn"].execute(f"INSERT INTO \"{schema}\".flights VALUES ('AA', 5), ('DL', 90), ('UA', 120)")
    context = make_context("dev", environment={"SCHEMA": schema})
    add_parameter(context, "min_delay", "integer", 60)
    store_target_as_credential(context, pg_target)
    job = make_job(
        "late_flights",
        default_context=context,
        components=[
            {
                "name": "flights",
                "type": "postgres_source",
                "config": {"connection": "warehouse", "table": "${env.SCHEMA}.flights"},
            },
            {
                "name": "late",
                "type": "filter",
                "inputs": ["flights"],
                "config": {"where": "delay >= ${min_delay}"},
            },
            {
                "name": "out",
                "type": "postgres_sink",
                "inputs": ["late"],
                "config": {
                    "connection": "warehouse",
                    "table": "${env.SCHEMA}.late_flights",
                    "mode": "replace",
                },
            },
        ],
    )

    resolved = resolve_run_inputs(job, overrides={"min_delay": "100"})
    assert resolved.context.name == "dev"
    assert resolved.parameters == {"min_delay": 100}
    assert resolved.connections["warehouse"]["user"] == pg_target["connection"]["user"]
    run(resolved, tmp_path)

    rows = pg_target["conn"].execute(f'SELECT carrier, delay FROM "{schema}".late_flights').fetchall()
    assert rows == [("UA", 120)]


def test_a_secret_parameter_in_a_query_is_refused_before_the_run(pg_target, tmp_path):
    context = make_context("dev", is_default=True)
    add_parameter(context, "api_token", "secret", SECRET_TOKEN)
    store_target_as_credential(context, pg_target)
    # A driver echoes the failing query line, so a secret in a query would leak.
    job = make_job(
        "leaky",
        components=[
            {
                "name": "tokens",
                "type": "postgres_source",
                "config": {"connection": "warehouse", "query": "SELECT nope, '${api_token}' AS token"},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["tokens"], "config": {"path": "out.csv"}},
        ],
    )
    with pytest.raises(RunInputError) as refused:
        resolve_run_inputs(job)
    assert list(refused.value.details) == ["components.tokens.config.query"]
    assert SECRET_TOKEN not in str(refused.value)
    assert not (tmp_path / "out.csv").exists()


def test_a_driver_message_that_echoes_a_credential_secret_is_redacted(pg_target, tmp_path):
    context = make_context("dev", is_default=True)
    store_target_as_credential(context, pg_target)
    job = make_job(
        "leaky",
        components=[
            {
                "name": "tokens",
                "type": "postgres_source",
                "config": {"connection": "warehouse", "query": f"SELECT nope, '{SECRET_TOKEN}' AS token"},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["tokens"], "config": {"path": "out.csv"}},
        ],
    )
    resolved = resolve_run_inputs(job)
    with pytest.raises(EngineError) as caught:
        run(resolved, tmp_path)
    raw = str(caught.value)
    assert SECRET_TOKEN[:10] in raw  # the driver's message really echoes the query line...
    masked = redact(raw, [*resolved.secrets, SECRET_TOKEN])
    assert SECRET_TOKEN[:4] not in masked  # ...and redact masks it
    assert "'***" in masked
