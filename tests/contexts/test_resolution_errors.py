"""resolve_run_inputs refuses incomplete inputs before any data moves, naming
what is missing and which component field uses it."""

import pytest

from contexts.resolution import RunInputError, resolve_run_inputs
from tests.contexts.factories import add_credential, add_parameter, make_context
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db


def sink_job(name="load", connection="warehouse", table="public.t", **fields):
    return make_job(
        name,
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {
                "name": "out",
                "type": "postgres_sink",
                "inputs": ["rows"],
                "config": {"connection": connection, "table": table},
            },
        ],
        **fields,
    )


def details_of(job, **kwargs) -> dict:
    with pytest.raises(RunInputError) as caught:
        resolve_run_inputs(job, **kwargs)
    return caught.value.details


def test_an_unknown_context_name_is_an_error_listing_the_known_ones():
    make_context("dev")
    details = details_of(sink_job(), context_name="prod")
    assert "No context named 'prod'" in details["context"][0]
    assert "dev" in details["context"][0]


def test_a_missing_parameter_names_it_and_the_component_field():
    add_credential(make_context("dev", is_default=True))
    details = details_of(sink_job(table="${schema}.t"))
    assert details == {"components.out.config.table": ["Parameter 'schema' is not defined in context 'dev'."]}


def test_a_missing_environment_value_names_it_and_the_component_field():
    add_credential(make_context("dev", is_default=True, environment={"OTHER": "x"}))
    details = details_of(sink_job(table="${env.SCHEMA}.t"))
    assert details == {
        "components.out.config.table": ["Environment value 'SCHEMA' is not set in context 'dev'."]
    }


def test_a_parameter_without_a_value_asks_for_one_at_start():
    context = make_context("dev", is_default=True)
    add_parameter(context, "schema", "string", None)
    details = details_of(sink_job(table="${schema}.t"))
    assert "has no value in context 'dev'" in details["components.out.config.table"][0]


def test_a_missing_credential_names_the_component_and_lists_the_known_ones():
    context = make_context("dev", is_default=True)
    add_credential(context, "other")
    details = details_of(sink_job(connection="warehouse"))
    assert details == {
        "components.out.config.connection": [
            "Context 'dev' has no credential 'warehouse'; its credentials: other."
        ]
    }


def test_a_credential_of_the_wrong_kind_is_refused():
    context = make_context("dev", is_default=True)
    add_credential(context, "warehouse", kind="mysql")
    details = details_of(sink_job())
    assert (
        "is a mysql credential; postgres_sink needs postgres"
        in details["components.out.config.connection"][0]
    )


def test_a_connection_without_any_context_says_a_context_is_needed():
    details = details_of(sink_job())
    assert "needs a context" in details["components.out.config.connection"][0]


def test_an_override_of_an_unknown_parameter_is_an_error():
    context = make_context("dev", is_default=True)
    add_credential(context)
    add_parameter(context, "min_delay", "integer", 60)
    details = details_of(sink_job(), overrides={"max_delay": 5})
    assert details == {
        "parameters.max_delay": ["Context 'dev' has no parameter 'max_delay'; its parameters: min_delay."]
    }


def test_an_override_of_the_wrong_type_is_an_error():
    context = make_context("dev", is_default=True)
    add_credential(context)
    add_parameter(context, "min_delay", "integer", 60)
    details = details_of(sink_job(), overrides={"min_delay": "soon"})
    assert details == {"parameters.min_delay": ["Expected a whole number, got 'soon'. (integer parameter)"]}


def test_the_job_default_context_is_preferred_over_the_global_default():
    make_context("global", is_default=True)
    own = make_context("own")
    details = details_of(sink_job(default_context=own))
    assert "Context 'own' has no credential" in details["components.out.config.connection"][0]


def test_a_named_context_wins_over_the_job_default():
    own = make_context("own")
    make_context("chosen")
    details = details_of(sink_job(default_context=own), context_name="chosen")
    assert "Context 'chosen' has no credential" in details["components.out.config.connection"][0]
