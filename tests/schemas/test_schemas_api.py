"""CRUD on /api/v1/schemas: the shared API test base plus what is special to schemas."""

from jobs.models import Job
from schemas.models import Schema, SchemaVersion
from tests.api_base import APICRUDTests, assert_error_body
from tests.schemas.factories import FLIGHT_FIELDS, flight_payload, make_schema


class TestSchemasAPI(APICRUDTests):
    endpoint = "/api/v1/schemas/"
    model = Schema
    update_payload = {"description": "changed"}
    bad_payload = ({"name": "bad", "fields": [{"name": "a", "constraints": {"pattern": "(["}}]}, "pattern")

    def make_object(self, index):
        return make_schema(f"schema_{index}")

    def create_payload(self, index):
        return flight_payload(f"new_{index}")


def test_a_created_schema_comes_back_as_the_contract_shape(admin_client):
    response = admin_client.post("/api/v1/schemas", flight_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "flights"
    assert body["version"] == 1
    assert body["fields"][0] == {**FLIGHT_FIELDS[0], "description": ""}
    assert [f["name"] for f in body["fields"]] == ["carrier", "flight", "dep_time", "arr_time"]
    assert body["rules"][0]["expression"] == "arr_time IS NULL OR dep_time IS NOT NULL"


def test_every_change_is_a_new_version_and_old_versions_stay_readable(admin_client):
    schema = make_schema()
    url = f"/api/v1/schemas/{schema.pk}"
    changed = flight_payload()
    changed["fields"] = [*FLIGHT_FIELDS, {"name": "origin", "type": "string"}]
    assert admin_client.put(url, changed, format="json").json()["version"] == 2
    assert admin_client.patch(url, {"description": "now with origin"}, format="json").json()["version"] == 3
    # An unchanged PUT is not a change.
    current = admin_client.get(url).json()
    assert (
        admin_client.put(url, {k: current[k] for k in ("name", "description", "fields", "rules")}).json()[
            "version"
        ]
        == 3
    )

    versions = admin_client.get(f"{url}/versions").json()
    assert [v["version"] for v in versions["results"]] == [3, 2, 1]
    first = admin_client.get(url, {"version": 1}).json()
    assert first["version"] == 1 and first["current_version"] == 3
    # A saved version has the shape of the schema itself (as documented: one Schema).
    latest, saved_latest = admin_client.get(url).json(), admin_client.get(url, {"version": 3}).json()
    assert list(first) == list(latest) == list(saved_latest)
    assert latest["current_version"] == latest["version"] == 3
    assert {k: v for k, v in saved_latest.items() if k != "updated_at"} == {
        k: v for k, v in latest.items() if k != "updated_at"
    }
    assert [f["name"] for f in first["fields"]] == ["carrier", "flight", "dep_time", "arr_time"]
    assert_error_body(admin_client.get(url, {"version": 9}), 404)
    assert_error_body(admin_client.get(url, {"version": "x"}), 400, "version")


def test_a_duplicate_name_is_a_400_on_name(admin_client):
    make_schema("taken")
    response = admin_client.post("/api/v1/schemas/", flight_payload("taken"), format="json")
    assert_error_body(response, 400, "name")
    assert Schema.objects.count() == 1


def test_bad_definitions_are_refused_naming_the_field_or_rule_and_nothing_is_saved(admin_client):
    cases = [
        ([{"name": "n", "type": "integer", "constraints": {"minimum": 5, "maximum": 1}}], [], "field 'n'"),
        ([{"name": "n", "type": "integer", "constraints": {"enum": ["a"]}}], [], "field 'n'"),
        ([{"name": "n", "type": "integer", "examples": ["x"]}], [], "field 'n': example #1"),
        ([{"name": "n", "type": "integer"}], [{"name": "r", "expression": "n >"}], "rule 'r'"),
        ([{"name": "n", "type": "weird"}], [], "type"),
        ([{"name": "n", "colour": "red"}], [], "colour"),
        ([], [], "fields"),
    ]
    for fields, rules, named in cases:
        response = admin_client.post("/api/v1/schemas/", {"name": "s", "fields": fields, "rules": rules})
        assert_error_body(response, 400, named)
    assert Schema.objects.count() == 0
    assert SchemaVersion.objects.count() == 0


def test_a_bad_update_changes_nothing(admin_client):
    schema = make_schema()
    response = admin_client.patch(
        f"/api/v1/schemas/{schema.pk}", {"rules": [{"name": "r", "expression": "nope = 1"}]}, format="json"
    )
    assert_error_body(response, 400, "rule 'r'")
    schema.refresh_from_db()
    assert schema.version == 1
    assert schema.rules.get().name == "times"


def test_schemas_filter_by_exact_name_and_field(admin_client):
    make_schema("alpha")
    make_schema("beta", fields=[{"name": "other"}], rules=[])
    assert [s["name"] for s in admin_client.get("/api/v1/schemas/?name=alpha").json()["results"]] == ["alpha"]
    assert [s["name"] for s in admin_client.get("/api/v1/schemas/?field=other").json()["results"]] == ["beta"]


def _job_using(schema_name: str, job_name: str = "loads") -> Job:
    job = Job.objects.create(name=job_name)
    job.replace_components(
        [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"carrier": "AA"}]}},
            {"name": "check", "type": "validate", "inputs": ["rows"], "config": {"schema": schema_name}},
        ]
    )
    return job


def test_deleting_a_schema_a_job_uses_is_a_409_naming_the_job(admin_client):
    schema = make_schema()
    _job_using("flights", "nightly_load")
    response = admin_client.delete(f"/api/v1/schemas/{schema.pk}")
    assert_error_body(response, 409)
    assert "nightly_load" in response.json()["error"]["message"]
    assert response.json()["error"]["details"] == {"jobs": ["nightly_load"]}
    assert Schema.objects.filter(pk=schema.pk).exists()


def test_renaming_a_schema_a_job_uses_is_a_409(admin_client):
    schema = make_schema()
    _job_using("flights")
    response = admin_client.patch(f"/api/v1/schemas/{schema.pk}", {"name": "renamed"}, format="json")
    assert_error_body(response, 409)
    schema.refresh_from_db()
    assert schema.name == "flights"
