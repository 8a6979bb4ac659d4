import pytest
from jsonschema import Draft202012Validator

from tests.api_base import assert_error_body

DESIGN_TYPES = {
    "csv_source", "json_source", "parquet_source", "postgres_source", "mysql_source", "sqlite_source",
    "inline_source", "filter", "derive", "select", "dedupe", "aggregate", "join", "sort", "limit", "union",
    "validate", "metric",
    "csv_sink", "json_sink", "parquet_sink", "postgres_sink", "mysql_sink", "sqlite_sink",
}  # fmt: skip


@pytest.mark.django_db
def test_the_catalogue_lists_every_type_of_the_design(reader_client):
    body = reader_client.get("/api/v1/component-types/").json()
    assert {spec["type"] for spec in body["results"]} >= DESIGN_TYPES
    assert body["count"] == len(body["results"])


@pytest.mark.django_db
def test_a_type_shows_a_valid_config_schema_its_example_satisfies(reader_client):
    spec = reader_client.get("/api/v1/component-types/filter").json()
    assert spec["kind"] == "transform"
    Draft202012Validator.check_schema(spec["config_schema"])
    assert not list(Draft202012Validator(spec["config_schema"]).iter_errors(spec["example"]))


@pytest.mark.django_db
def test_the_catalogue_filters_by_kind(reader_client):
    body = reader_client.get("/api/v1/component-types/?kind=sink").json()
    assert body["results"] and {spec["kind"] for spec in body["results"]} == {"sink"}


@pytest.mark.django_db
def test_an_unknown_type_is_a_404(reader_client):
    assert_error_body(reader_client.get("/api/v1/component-types/teleport"), 404)


def test_the_catalogue_needs_authentication(anon_client):
    assert_error_body(anon_client.get("/api/v1/component-types/"), 401)
