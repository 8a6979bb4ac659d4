"""Expressions cannot read files, reach URLs or crash a process.

Every attack here once worked: a subquery over a Polars table function in any
expression field read the project's `.env` at save time (the 400 listed its
first line as "valid columns") and fetched URLs from the web process; an
operator could pass the same as a start-time parameter; a 100 kB expression
segfaulted the worker. Each must now be a clear 4xx (or run safely) with
nothing opened, connected or written.
"""

import time

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from contexts.models import Context, Parameter
from execution.engine import expressions
from execution.engine.graph import validate_components
from execution.models import Execution
from jobs.models import Job
from monitoring import setup
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.security.canaries import FifoCanary, ListenerCanary

ENV_LINE = "SECRET_KEY=do-not-show-this-line"


@pytest.fixture
def canaries(data_root):
    """A named pipe and a loopback listener, plus a file holding a secret line."""
    fifo, listener = FifoCanary(data_root), ListenerCanary(data_root)
    (data_root / "dot.env").write_text(f"{ENV_LINE}\n")
    yield {"fifo": str(fifo.path), "url": listener.url, "env": str(data_root / "dot.env")}
    read, connections = fifo.someone_read(), listener.connections()
    listener.close()
    assert not read, "an expression opened the canary file"
    assert connections == 0, "an expression connected to the canary listener"


def attacks(where: dict) -> list[str]:
    """Ways to reach a file or URL from an expression; `where` names the targets."""
    fifo, url, env = where["fifo"], where["url"], where["env"]
    return [
        f"a IN (SELECT nonexistent FROM read_csv('{env}'))",
        f"a IN (SELECT x FROM read_csv('{fifo}'))",
        f"a IN (SELECT x FROM read_csv('{url}'))",
        f"(SELECT count(*) FROM read_parquet('{fifo}')) > 0",
        f"read_csv('{fifo}') IS NULL",
        f"scan_ndjson('{url}') IS NULL",
        f"EXISTS (SELECT 1 FROM read_json('{fifo}'))",
        f"a = 1 UNION SELECT x FROM read_csv('{fifo}')",
        f"a = 1; SELECT * FROM read_csv('{fifo}')",
        f"a IN (SELECT * FROM data JOIN read_csv('{fifo}') USING (a))",
        f"a = (SELECT max(x) FROM read_csv('{url}') AS t)",
    ]


def aggregate_attacks(where: dict) -> list[str]:
    fifo, url = where["fifo"], where["url"]
    return [
        f"count(*) + (SELECT count(*) FROM read_csv('{fifo}'))",
        f"max((SELECT x FROM read_csv('{url}')))",
        f"sum(a) FILTER (WHERE a IN (SELECT x FROM read_csv('{fifo}')))",
        "count(*) FROM data",
    ]


@pytest.mark.parametrize("kind", [expressions.CONDITION, expressions.SCALAR])
def test_the_compiler_refuses_every_way_to_a_file_or_url(canaries, kind):
    for text in attacks(canaries):
        with pytest.raises(expressions.ExpressionError) as refused:
            expressions.Expression(text, kind)
        assert ENV_LINE not in str(refused.value)


def test_aggregates_and_metrics_refuse_them_too(canaries):
    for text in aggregate_attacks(canaries) + attacks(canaries):
        with pytest.raises(expressions.ExpressionError):
            expressions.Expression(text, expressions.AGGREGATE)


def job_with(field: str, text: str) -> list[dict]:
    """A valid job whose one expression field holds `text`."""
    rows = {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}}
    transform = {
        "where": {"name": "t", "type": "filter", "config": {"where": text}},
        "derive": {"name": "t", "type": "derive", "config": {"columns": {"b": text}}},
        "aggregate": {"name": "t", "type": "aggregate", "config": {"aggregates": {"n": text}}},
        "metric": {"name": "t", "type": "metric", "config": {"name": "m", "value": text}},
    }[field]
    transform["inputs"] = ["rows"]
    components = [rows, transform]
    if field != "metric":
        components.append({"name": "out", "type": "csv_sink", "inputs": ["t"], "config": {"path": "o.csv"}})
    return components


FIELD_PATHS = {
    "where": "config.where",
    "derive": "config.columns.b",
    "aggregate": "config.aggregates.n",
    "metric": "config.value",
}


def editor_client():
    setup.ensure_roles()
    editor = make_user("editor")
    editor.groups.add(Group.objects.get(name="editor"))
    return client_for(editor)


@pytest.mark.django_db
@pytest.mark.parametrize("field", list(FIELD_PATHS))
def test_saving_a_job_with_an_attack_is_a_400_naming_component_and_field(canaries, field):
    client = editor_client()
    texts = attacks(canaries) if field in ("where", "derive") else aggregate_attacks(canaries)
    for index, text in enumerate(texts):
        started = time.monotonic()
        response = client.post(
            "/api/v1/jobs", {"name": f"j{index}", "components": job_with(field, text)}, format="json"
        )
        assert time.monotonic() - started < 5
        assert_error_body(response, 400, FIELD_PATHS[field])
        assert "'t'" in response.json()["error"]["message"]
        assert ENV_LINE not in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_schema_rule_with_an_attack_is_a_400_naming_the_rule(canaries, admin_client):
    for index, text in enumerate(attacks(canaries)):
        response = admin_client.post(
            "/api/v1/schemas",
            {
                "name": f"s{index}",
                "fields": [{"name": "a", "type": "integer"}],
                "rules": [{"name": "sneaky", "expression": text}],
            },
            format="json",
        )
        assert_error_body(response, 400, "sneaky")
        assert ENV_LINE not in response.content.decode()


def operator_client():
    setup.ensure_roles()
    operator = make_user("operator")
    operator.groups.add(Group.objects.get(name="operator"))
    return client_for(operator)


def job_with_parameter(where: str) -> Job:
    context = Context.objects.create(name="dev")
    Parameter.objects.create(context=context, name="cond", type="string", value="a > 0")
    job = Job.objects.create(name="param_job", default_context=context)
    job.replace_components(job_with("where", where))
    return job


@pytest.mark.django_db
def test_an_operator_cannot_pass_an_expression_as_a_parameter(canaries):
    job = job_with_parameter("${cond}")
    client = operator_client()
    for text in attacks(canaries):
        response = client.post(f"/api/v1/jobs/{job.pk}/start", {"parameters": {"cond": text}}, format="json")
        assert_error_body(response, 400, "components.t.config.where")
        assert "is a value, never SQL text" in response.json()["error"]["message"]
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_a_parameter_inside_an_expression_stays_one_literal_value(canaries, data_root):
    job = job_with_parameter("a > 0 OR lower('x') = ${cond}")
    hostile = f"x' OR a IN (SELECT x FROM read_csv('{canaries['fifo']}')) OR 'x"
    call_command("runjob", job.name, "--param", f"cond={hostile}")
    # The whole text was compared as one string; the row passed through `a > 0`.
    assert (data_root / "o.csv").read_text() == "a\n1\n"


@pytest.mark.django_db
def test_a_text_parameter_compared_with_a_number_is_refused_at_start(canaries, data_root):
    job = job_with_parameter("a > ${cond}")
    with pytest.raises(CommandError) as refused:
        call_command(
            "runjob", job.name, "--param", f"cond=0 OR a IN (SELECT x FROM read_csv('{canaries['fifo']}'))"
        )
    assert "components.t.config.where" in str(refused.value)
    assert "column 'a' (a whole number) and text cannot be compared" in str(refused.value)
    assert not (data_root / "o.csv").exists()


@pytest.mark.parametrize("terms", [7_000, 20_000])
def test_a_huge_expression_is_refused_quickly_naming_the_limit(terms):
    text = " OR ".join(f"a = {n}" for n in range(terms))
    started = time.monotonic()
    problems = validate_components(job_with("where", text))
    assert time.monotonic() - started < 1
    assert [(p.component, p.field) for p in problems] == [("t", "config.where")]
    assert f"the limit is {expressions.MAX_LENGTH:,}" in problems[0].message


def test_deep_nesting_is_refused_before_the_parser_recurses():
    text = "(" * 4_000 + "a > 1" + ")" * 4_000
    assert "nests parentheses 4000 deep" in validate_components(job_with("where", text))[0].message


def test_many_short_tokens_are_refused_naming_the_token_limit():
    text = "a IN (" + ",".join("1" for _ in range(4_000)) + ")"
    assert len(text) < expressions.MAX_LENGTH
    message = validate_components(job_with("where", text))[0].message
    assert f"the limit is {expressions.MAX_TOKENS:,}" in message


def test_a_long_chain_just_under_the_limits_compiles_and_runs():
    import polars as pl

    text = " OR ".join(f"a = {n}" for n in range(900))
    assert len(text) < expressions.MAX_LENGTH
    expression = expressions.Expression(text, expressions.CONDITION)
    frame = pl.DataFrame({"a": [1, 5_000]})
    assert frame.filter(expression.polars(frame.schema))["a"].to_list() == [1]


@pytest.mark.django_db
def test_a_huge_start_time_parameter_is_a_literal_not_a_crash(data_root):
    job = job_with_parameter("lower('x') <> ${cond} AND a > 0")
    call_command("runjob", job.name, "--param", "cond=" + " OR ".join(f"a = {n}" for n in range(20_000)))
    assert (data_root / "o.csv").read_text() == "a\n1\n"


def test_no_module_hands_text_to_a_polars_sql_engine():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in ("accounts", "contexts", "etlsite", "execution", "jobs", "monitoring", "schemas")
        for path in (root / folder).rglob("*.py")
        if any(call in path.read_text() for call in ("pl.sql_expr(", "SQLContext(", "pl.sql("))
    ]
    assert offenders == []
