"""The admin's component editor without a browser: the cards as the server renders
them, the config forms generated from each type's JSON Schema, the fragments
the editor's script asks for, and problems placed next to their field."""

import pytest

from jobs.config_forms import config_fields
from jobs.models import Job
from monitoring import setup
from tests.conftest import make_user
from tests.jobs.factories import make_job
from tests.ui.conftest import signed_in
from tests.ui.test_job_admin import add_job_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(admin_user):
    return signed_in(admin_user)


def by_key(fields):
    return {field.key: field for field in fields}


def test_each_schema_shape_gets_its_widget():
    fields = by_key(
        config_fields("csv_source", {"path": "a.csv", "header": "${has_header}", "null_values": ["", "NA"]})
    )
    assert (fields["path"].kind, fields["path"].required, fields["path"].value) == ("text", True, "a.csv")
    assert fields["delimiter"].default == ","
    # A placeholder stays possible where a boolean or a choice is expected.
    assert (fields["header"].kind, fields["header"].value) == ("boolean", "${has_header}")
    assert "${has_header}" in fields["header"].choices
    assert fields["encoding"].kind == "choice" and fields["encoding"].choices == ["utf8", "latin-1"]
    # One NULL marker is the empty string, which one-per-line cannot show: JSON then.
    assert fields["null_values"].kind == "json"
    assert fields["columns"].kind == "map"
    aggregate = by_key(config_fields("aggregate", {"group_by": ["carrier"], "aggregates": {"n": "count(*)"}}))
    assert (aggregate["group_by"].kind, aggregate["group_by"].value) == ("lines", "carrier")
    assert (aggregate["aggregates"].kind, aggregate["aggregates"].value) == ("map", [("n", "count(*)")])
    assert by_key(config_fields("filter", {}))["where"].kind == "textarea"
    assert by_key(config_fields("limit", {"n": 5}))["n"].value == "5"
    assert by_key(config_fields("inline_source", {"rows": [{"a": 1}]}))["rows"].kind == "json"


def test_keys_the_schema_does_not_know_are_shown_with_an_error_not_dropped():
    fields = by_key(config_fields("filter", {"where": "a > 1", "wher": "typo"}))
    assert fields["wher"].kind == "json" and "Unknown field" in fields["wher"].error


def test_the_add_page_has_the_editor_with_types_grouped_by_kind(admin_session):
    page = admin_session.get("/admin/jobs/job/add/").content.decode()
    assert '<optgroup label="sources">' in page and '<optgroup label="transforms">' in page
    assert 'id="component-graph"' in page and "etlsite/component-editor.js" in page
    assert 'data-ports="{&quot;validate&quot;: [&quot;rejects&quot;]}"' in page


def test_a_saved_job_shows_its_config_in_the_generated_form(admin_session, demo_job):
    page = admin_session.get(f"/admin/jobs/job/{demo_job.pk}/change/").content.decode()
    assert 'data-config-key="where" data-config-kind="text">dep_time IS NOT NULL</textarea>' in page
    assert 'value="avg_arr_delay"' in page  # a row of the aggregates map
    assert '<option value="flights" selected>flights</option>' in page  # departed's input
    assert page.count('class="node kind-') == 4


def test_a_problem_is_put_next_to_its_component_and_field(admin_session, data_root):
    setup.copy_sample_data()
    components = setup.demo_components()
    components[1]["config"]["where"] = "read_csv('x')"
    response = admin_session.post("/admin/jobs/job/add/", add_job_form("broken", components))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-error-for="where"' in page
    assert "config.where: read_csv() is a table function" in page
    assert not Job.objects.filter(name="broken").exists()


def test_the_config_form_fragment_follows_the_type(admin_session):
    response = admin_session.post(
        "/admin/jobs/job/editor/config-form/",
        {
            "type": "json_source",
            "config": {"path": "in.csv", "delimiter": ";"},
            "keep_known": True,
            "prefix": "p",
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    page = response.content.decode()
    # `path` is kept (json_source has it), `delimiter` is not.
    assert 'id="p-cfg-path" data-config-key="path" data-config-kind="text" value="in.csv"' in page
    assert "delimiter" not in page
    assert '<option value="ndjson">ndjson</option>' in page


def test_the_graph_fragment_draws_unsaved_components(admin_session):
    components = [
        {"name": "a", "type": "inline_source", "inputs": []},
        {"name": "b", "type": "validate", "inputs": ["a"]},
        {"name": "c", "type": "csv_sink", "inputs": ["b.rejects"]},
    ]
    response = admin_session.post(
        "/admin/jobs/job/editor/graph/", {"components": components}, content_type="application/json"
    )
    page = response.content.decode()
    assert page.count('class="node kind-') == 3 and 'class="edge rejects"' in page
    assert "<style" not in page


def test_the_fragments_need_a_post_and_an_editor(admin_session, db):
    assert admin_session.get("/admin/jobs/job/editor/graph/").status_code == 405
    assert (
        admin_session.post(
            "/admin/jobs/job/editor/graph/", "not json", content_type="application/json"
        ).status_code
        == 400
    )
    staff = make_user("staff_reader")
    staff.is_staff = True
    staff.save()
    response = signed_in(staff).post(
        "/admin/jobs/job/editor/graph/", {"components": []}, content_type="application/json"
    )
    assert response.status_code == 403


def test_inputs_offer_the_other_components_and_their_rejects_ports(admin_session, db):
    job = make_job(
        "checked",
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {"name": "valid", "type": "validate", "inputs": ["rows"], "config": {"schema": "s"}},
            {"name": "bad", "type": "csv_sink", "inputs": ["valid.rejects"], "config": {"path": "bad.csv"}},
        ],
    )
    page = admin_session.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert '<option value="valid.rejects" selected>valid.rejects</option>' in page
    assert '<option value="valid.rejects">valid.rejects</option>' in page  # offered to rows
