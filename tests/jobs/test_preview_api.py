"""POST /api/v1/jobs/{id}/preview and POST /api/v1/jobs/preview: the first rows a
component gives, without writing anything."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from jobs.models import Job
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import add_parameter, make_context
from tests.jobs.factories import make_job
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db


def flights_job(name="flights_by_carrier", **fields):
    """csv file -> filter (a parameter) -> aggregate -> csv sink, plus a metric."""
    return make_job(
        name,
        components=[
            {"name": "flights", "type": "csv_source", "config": {"path": "flights.csv"}},
            {
                "name": "late",
                "type": "filter",
                "inputs": ["flights"],
                "config": {"where": "delay > ${min_delay}"},
            },
            {
                "name": "by_carrier",
                "type": "aggregate",
                "inputs": ["late"],
                "config": {"group_by": ["carrier"], "aggregates": {"n": "count(*)"}},
            },
            {
                "name": "out",
                "type": "csv_sink",
                "inputs": ["by_carrier"],
                "config": {"path": "out/by_carrier.csv"},
            },
            {
                "name": "late_total",
                "type": "metric",
                "inputs": ["late"],
                "config": {"name": "late", "value": "count(*)"},
            },
        ],
        **fields,
    )


@pytest.fixture
def flights(data_root):
    lines = ["carrier,delay,day"] + [
        f"{'AA' if n % 3 else 'DL'},{n},2026-01-{1 + n % 28:02d}" for n in range(500)
    ]
    (data_root / "flights.csv").write_text("\n".join(lines) + "\n")
    context = make_context("dev")
    add_parameter(context, "min_delay", "integer", 10)
    return flights_job(default_context=context)


@pytest.fixture
def editor_client(db):
    return client_for(make_user("editor", "jobs.change_job"))


def preview(client, job, **body):
    return client.post(f"/api/v1/jobs/{job.pk}/preview", body, format="json")


def test_a_source_previews_its_first_rows_with_column_types(editor_client, flights):
    response = preview(editor_client, flights, component="flights", limit=5)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["component"] == "flights"
    assert body["columns"] == [
        {"name": "carrier", "type": "string"},
        {"name": "delay", "type": "integer"},
        {"name": "day", "type": "date"},
    ]
    assert body["rows"] == [
        {"carrier": "DL", "delay": 0, "day": "2026-01-01"},
        {"carrier": "AA", "delay": 1, "day": "2026-01-02"},
        {"carrier": "AA", "delay": 2, "day": "2026-01-03"},
        {"carrier": "DL", "delay": 3, "day": "2026-01-04"},
        {"carrier": "AA", "delay": 4, "day": "2026-01-05"},
    ]


def test_a_transform_runs_on_the_first_rows_of_each_source_with_the_contexts_values(editor_client, flights):
    # The first 100 rows (the default limit) have delays 0..99; the context's min_delay is 10: 11..99 pass.
    body = preview(editor_client, flights, component="by_carrier").json()
    assert body["columns"] == [{"name": "carrier", "type": "string"}, {"name": "n", "type": "integer"}]
    assert body["rows"] == [{"carrier": "AA", "n": 59}, {"carrier": "DL", "n": 30}]
    overridden = preview(editor_client, flights, component="by_carrier", parameters={"min_delay": 90}).json()
    assert overridden["rows"] == [{"carrier": "AA", "n": 6}, {"carrier": "DL", "n": 3}]


def test_previewing_a_sink_shows_what_would_reach_it_and_writes_nothing(editor_client, flights, data_root):
    before = AuditEvent.objects.count()
    body = preview(editor_client, flights, component="out").json()
    assert body["rows"] == [{"carrier": "AA", "n": 59}, {"carrier": "DL", "n": 30}]
    assert not (data_root / "out").exists()
    assert AuditEvent.objects.count() == before


def test_the_rejects_of_a_validate_component_can_be_previewed(editor_client, data_root):
    make_schema(
        "codes",
        fields=[{"name": "carrier", "type": "string", "constraints": {"pattern": "^[A-Z]{2}$"}}],
        rules=[],
    )
    job = make_job(
        "checked",
        components=[
            {
                "name": "rows",
                "type": "inline_source",
                "config": {"rows": [{"carrier": "AA"}, {"carrier": "x1"}]},
            },
            {"name": "checked", "type": "validate", "inputs": ["rows"], "config": {"schema": "codes"}},
        ],
    )
    assert preview(editor_client, job, component="checked").json()["rows"] == [{"carrier": "AA"}]
    rejects = preview(editor_client, job, component="checked.rejects").json()
    assert [row["carrier"] for row in rejects["rows"]] == ["x1"]
    assert "_reject_reason" in [column["name"] for column in rejects["columns"]]


def test_an_unsaved_job_is_previewed_up_to_a_component_even_if_later_ones_are_unfinished(editor_client, db):
    job = {
        "name": "draft",
        "components": [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": -2}, {"a": 3}]}},
            {"name": "positive", "type": "filter", "inputs": ["rows"], "config": {"where": "a > 0"}},
            {"name": "unfinished", "type": "csv_sink", "inputs": ["positive"], "config": {}},
        ],
    }
    response = editor_client.post(
        "/api/v1/jobs/preview", {"job": job, "component": "positive"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == [{"a": 1}, {"a": 3}]
    assert not Job.objects.exists()


def test_an_unsaved_edit_of_a_saved_job_can_be_previewed_under_its_taken_name(editor_client, flights):
    job = {"name": flights.name, "default_context": "dev", "components": flights.component_dicts()}
    job["components"][1]["config"]["where"] = "delay < 3"
    response = editor_client.post("/api/v1/jobs/preview", {"job": job, "component": "late"}, format="json")
    assert response.status_code == 200, response.content
    assert [row["delay"] for row in response.json()["rows"]] == [0, 1, 2]


def test_an_unknown_component_is_a_400_naming_it(editor_client, flights):
    response = preview(editor_client, flights, component="nowhere")
    assert_error_body(response, 400, "component")
    assert "nowhere" in response.json()["error"]["message"]
    assert "flights, late" in response.json()["error"]["message"]


def test_a_component_with_an_invalid_config_is_a_400_naming_it_and_the_field(editor_client, db):
    job = {
        "components": [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {"name": "bad", "type": "filter", "inputs": ["rows"], "config": {"where": "SELECT 1"}},
        ]
    }
    response = editor_client.post("/api/v1/jobs/preview", {"job": job, "component": "bad"}, format="json")
    assert_error_body(response, 400, "components.bad.config.where")


def test_a_limit_over_the_maximum_is_a_400(editor_client, flights, settings):
    settings.ETL_PREVIEW_MAX_ROWS = 50
    response = preview(editor_client, flights, component="flights", limit=51)
    assert_error_body(response, 400, "limit")
    assert "from 1 to 50" in response.json()["error"]["message"]
    assert preview(editor_client, flights, component="flights", limit=50).status_code == 200


def test_a_preview_past_its_time_limit_is_a_408(editor_client, flights, settings):
    settings.ETL_PREVIEW_TIME_LIMIT_SECONDS = 0
    response = preview(editor_client, flights, component="by_carrier")
    assert_error_body(response, 408)
    assert "ETL_PREVIEW_TIME_LIMIT_SECONDS" in response.json()["error"]["message"]


def test_expressions_are_compiled_so_a_parameter_cannot_change_their_structure(editor_client, flights):
    response = preview(editor_client, flights, component="late", parameters={"min_delay": "1 OR 1=1"})
    assert_error_body(response, 400, "parameters.min_delay")


def test_a_secret_parameter_outside_a_secret_field_is_refused(editor_client, flights):
    secrets = make_context("vault")
    add_parameter(secrets, "min_delay", "secret", "10")
    response = preview(editor_client, flights, component="late", context="vault")
    assert_error_body(response, 400, "components.late.config.where")
    assert "secret" in response.json()["error"]["message"]


def test_a_failing_component_is_a_400_naming_it_with_the_file(editor_client, data_root):
    (data_root / "bad.csv").write_text("a,b\n1,2\n3\n")
    job = make_job(
        "bad_file", components=[{"name": "rows", "type": "csv_source", "config": {"path": "bad.csv"}}]
    )
    response = preview(editor_client, job, component="rows")
    assert_error_body(response, 400, "components.rows")


def test_a_hidden_context_answers_like_a_missing_one(editor_client, flights):
    make_context("hushctx").allowed_groups.add(Group.objects.create(name="finance"))
    hidden = preview(editor_client, flights, component="flights", context="hushctx").json()["error"]
    missing = preview(editor_client, flights, component="flights", context="nowhere").json()["error"]
    assert hidden["details"]["context"] == [missing["details"]["context"][0].replace("nowhere", "hushctx")]
    assert "hushctx" not in missing["message"]


def test_previews_need_the_permission_to_edit_jobs(reader_client, anon_client, flights):
    draft = {"job": {"components": flights.component_dicts()}, "component": "flights"}
    assert_error_body(preview(reader_client, flights, component="flights"), 403)
    assert_error_body(reader_client.post("/api/v1/jobs/preview", draft, format="json"), 403)
    assert_error_body(preview(anon_client, flights, component="flights"), 401)
    assert_error_body(anon_client.post("/api/v1/jobs/preview", draft, format="json"), 401)


def test_a_job_hidden_by_grants_answers_404(editor_client, flights):
    flights.allowed_groups.add(Group.objects.create(name="finance"))
    assert_error_body(preview(editor_client, flights, component="flights"), 404)
