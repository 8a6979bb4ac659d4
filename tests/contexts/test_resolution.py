"""resolve_run_inputs: what a run gets from its context when everything is there."""

import pytest

from contexts.resolution import resolve_run_inputs
from tests.contexts.factories import PASSWORD, add_credential, add_parameter, make_context
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db


def job_with(config: dict, type_name="csv_sink"):
    return make_job(
        "j",
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {"name": "out", "type": type_name, "inputs": ["rows"], "config": config},
        ],
    )


def test_a_job_without_placeholders_or_connections_runs_without_a_context():
    resolved = resolve_run_inputs(job_with({"path": "out.csv"}))
    assert resolved.context is None
    assert resolved.components[1]["config"] == {"path": "out.csv"}
    assert resolved.connections == {} and resolved.parameters == {} and resolved.secrets == []


def test_parameters_and_environment_are_substituted_and_overrides_win():
    context = make_context("dev", is_default=True, environment={"OUT_DIR": "exports"})
    add_parameter(context, "day", "date", "2024-05-01")
    add_parameter(context, "header", "boolean", True)
    job = job_with({"path": "${env.OUT_DIR}/${day}.csv", "header": "${header}"})
    resolved = resolve_run_inputs(job, overrides={"day": "2024-06-30", "header": "false"})
    assert resolved.components[1]["config"] == {"path": "exports/2024-06-30.csv", "header": False}
    assert resolved.parameters == {"day": "2024-06-30", "header": False}


def test_connections_come_from_credentials_and_every_secret_is_listed_for_redaction():
    context = make_context("dev", is_default=True)
    add_credential(context, "warehouse", config={"host": "db", "database": "dw", "user": "etl"})
    add_credential(context, "unused", secrets={"password": "other-pw"})
    add_parameter(context, "token", "secret", "tok-1")
    resolved = resolve_run_inputs(job_with({"connection": "warehouse", "table": "t"}, "postgres_sink"))
    assert resolved.connections == {
        "warehouse": {
            "kind": "postgres",
            "host": "db",
            "port": 5432,
            "database": "dw",
            "user": "etl",
            "password": PASSWORD,
            "options": {},
        }
    }
    assert resolved.parameters == {"token": "***"}
    assert sorted(resolved.secrets) == sorted([PASSWORD, "other-pw", "tok-1"])


def test_a_connection_name_may_itself_come_from_a_parameter():
    context = make_context("dev", is_default=True)
    add_credential(context, "warehouse_eu")
    add_parameter(context, "target", "string", "warehouse_eu")
    resolved = resolve_run_inputs(job_with({"connection": "${target}", "table": "t"}, "postgres_sink"))
    assert list(resolved.connections) == ["warehouse_eu"]
