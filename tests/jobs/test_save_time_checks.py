"""What can be known when a job is saved is checked then, not at run time:
paths outside the data roots, expression types against declared columns,
unknown component types (with a suggestion); and placeholders are accepted in
any string field, their values checked when the run starts."""

import pytest

from contexts.models import Context
from execution.models import Execution
from jobs.models import Job
from tests.api_base import assert_error_body
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def save(client, components, **fields):
    return client.post("/api/v1/jobs", {"name": "j", "components": components, **fields}, format="json")


def rows(**config):
    return {
        "name": "rows",
        "type": "inline_source",
        "config": {"rows": [{"a": 1, "day": "2021-01-05"}], **config},
    }


def csv_in(columns=None, path="in.csv"):
    config = {"path": path}
    if columns:
        config["columns"] = columns
    return {"name": "rows", "type": "csv_source", "config": config}


def step(kind, config, inputs=("rows",), name="t"):
    return {"name": name, "type": kind, "inputs": list(inputs), "config": config}


def out(inputs=("t",), **config):
    return {
        "name": "out",
        "type": "csv_sink",
        "inputs": list(inputs),
        "config": {"path": "out.csv", **config},
    }


@pytest.mark.parametrize("path", ["/etc/passwd", "../secrets.csv", "data/../../x.csv"])
def test_a_literal_path_outside_the_data_roots_is_a_400_at_save(admin_client, data_root, path):
    response = save(admin_client, [csv_in(path=path), out(inputs=["rows"])])
    assert_error_body(response, 400, "config.path")
    assert "component 'rows'" in response.json()["error"]["message"]
    assert not Job.objects.exists()


def test_a_path_inside_a_data_root_is_fine_relative_or_absolute(admin_client, data_root):
    response = save(
        admin_client, [csv_in(path=str(data_root / "in.csv")), out(inputs=["rows"], path="o.csv")]
    )
    assert response.status_code == 201, response.content


def test_a_substituted_path_outside_the_roots_is_a_400_at_start(admin_client, data_root):
    context = Context.objects.create(name="dev", environment={"DIR": "/etc"})
    response = save(
        admin_client, [csv_in(path="${env.DIR}/passwd"), out(inputs=["rows"])], default_context="dev"
    )
    assert response.status_code == 201, response.content
    start = admin_client.post(
        f"/api/v1/jobs/{response.json()['id']}/start", {"context": context.name}, format="json"
    )
    assert_error_body(start, 400, "components.rows.config.path")
    assert not Execution.objects.exists()


def test_a_placeholder_inside_a_table_name_is_accepted_and_checked_at_start(admin_client, data_root):
    Context.objects.create(name="bad", environment={"OUT_TABLE": "x;drop table y"})
    Context.objects.create(name="good", environment={"OUT_TABLE": "results"})
    sink = {
        "name": "out",
        "type": "sqlite_sink",
        "inputs": ["rows"],
        "config": {"path": "out.sqlite3", "table": "main.${env.OUT_TABLE}"},
    }
    response = save(admin_client, [rows(), sink])
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    refused = admin_client.post(f"/api/v1/jobs/{job_id}/start", {"context": "bad"}, format="json")
    assert_error_body(refused, 400, "components.out.config.table")
    started = admin_client.post(f"/api/v1/jobs/{job_id}/start", {"context": "good"}, format="json")
    assert started.status_code == 202, started.content
    assert run_queued(started.json()["id"]).state == "succeeded"


@pytest.mark.parametrize(
    ("components", "field", "wording"),
    [
        (
            [csv_in({"day": "date"}), step("filter", {"where": "day >= '2021-13-01'"}), out()],
            "config.where",
            "'2021-13-01' is not a date",
        ),
        (
            [csv_in({"carrier": "string"}), step("filter", {"where": "carrier > 3"}), out()],
            "config.where",
            "column 'carrier' (text) and a whole number cannot be compared",
        ),
        ([rows(), step("filter", {"where": "aa > 0"}), out()], "config.where", "Did you mean 'a'?"),
        (
            [
                rows(),
                step("derive", {"columns": {"b": "a * 2"}}),
                step("filter", {"where": "b || 'x' = 'y'"}, ["t"], "u"),
                out(["u"]),
            ],
            "config.where",
            None,
        ),
        (
            [
                rows(),
                step("select", {"rename": {"a": "n"}}),
                step("filter", {"where": "a > 0"}, ["t"], "u"),
                out(["u"]),
            ],
            "config.where",
            "Unknown column 'a'",
        ),
        (
            [rows(), step("derive", {"columns": {"hours": "a / 60.0", "late": "hours > 'x'"}}), out()],
            "config.columns.late",
            "column 'hours' (a number) and text cannot be compared",
        ),
        (
            [rows(), step("aggregate", {"aggregates": {"n": "sum(day)"}}), out()],
            "config.aggregates.n",
            "sum needs a whole number or a number, not column 'day' (text)",
        ),
    ],
)
def test_expressions_are_checked_against_the_declared_columns(
    admin_client, data_root, components, field, wording
):
    response = save(admin_client, components)
    if wording is None:
        assert response.status_code == 201, response.content
        return
    assert_error_body(response, 400, field)
    assert wording in response.json()["error"]["message"]


def test_a_date_filter_on_a_declared_date_column_saves_and_runs(admin_client, data_root):
    (data_root / "in.csv").write_text("day,n\n2020-12-31,1\n2021-01-02,2\n")
    response = save(
        admin_client, [csv_in({"day": "date"}), step("filter", {"where": "day >= '2021-01-01'"}), out()]
    )
    assert response.status_code == 201, response.content
    started = admin_client.post(f"/api/v1/jobs/{response.json()['id']}/start", {}, format="json")
    assert run_queued(started.json()["id"]).state == "succeeded"
    assert (data_root / "out.csv").read_text() == "day,n\n2021-01-02,2\n"


def test_an_unknown_component_type_suggests_the_closest_one(admin_client, data_root):
    response = save(admin_client, [{"name": "rows", "type": "csv_sorce", "config": {"path": "in.csv"}}])
    assert_error_body(response, 400, "type")
    assert "Did you mean 'csv_source'?" in response.json()["error"]["message"]
