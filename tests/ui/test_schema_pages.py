import pytest

from schemas.models import Schema
from tests.jobs.factories import make_job


@pytest.fixture
def flights_schema(db):
    schema = Schema(name="flights", description="One <b>row</b> per flight.")
    schema.save_definition(
        fields=[
            {
                "name": "carrier",
                "type": "string",
                "required": True,
                "nullable": False,
                "description": "IATA code",
                "constraints": {"pattern": "^[A-Z0-9]{2}$", "max_length": 2},
                "examples": ["AA"],
            },
            {"name": "arr_delay", "type": "integer", "constraints": {"minimum": -120}},
        ],
        rules=[
            {
                "name": "times",
                "expression": "arr_time IS NULL OR dep_time IS NOT NULL",
                "message": "arrival without departure",
                "severity": "error",
            }
        ],
    )
    return schema


def test_pages_need_a_signed_in_user(client, flights_schema):
    for url in ("/schemas/", f"/schemas/{flights_schema.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_list_shows_each_schema_with_its_field_count(viewer_session, flights_schema):
    response = viewer_session.get("/schemas/")
    page = response.content.decode()
    assert response.status_code == 200 and "<title>Schemas · etlsite</title>" in page
    assert f'href="/schemas/{flights_schema.pk}/"' in page and '<td class="num">2</td>' in page


def test_the_documentation_shows_fields_constraints_and_rules_escaped(viewer_session, flights_schema):
    response = viewer_session.get(f"/schemas/{flights_schema.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Schema flights (version 1) · etlsite</title>" in page
    assert "One &lt;b&gt;row&lt;/b&gt; per flight." in page
    assert "matches <code>^[A-Z0-9]{2}$</code>" in page and "max length <code>2</code>" in page
    assert "minimum <code>-120</code>" in page and "IATA code" in page
    assert "<code>arr_time IS NULL OR dep_time IS NOT NULL</code>" in page
    assert f'href="/api/v1/schemas/{flights_schema.pk}/json-schema"' in page


def test_an_older_version_can_be_read(viewer_session, flights_schema):
    flights_schema.save_definition(fields=[{"name": "carrier", "type": "string"}])
    latest = viewer_session.get(f"/schemas/{flights_schema.pk}/")
    assert [f["name"] for f in latest.context["fields"]] == ["carrier"]
    first = viewer_session.get(f"/schemas/{flights_schema.pk}/?version=1")
    assert [f["name"] for f in first.context["fields"]] == ["carrier", "arr_delay"]
    assert viewer_session.get(f"/schemas/{flights_schema.pk}/?version=9").status_code == 404
    assert viewer_session.get(f"/schemas/{flights_schema.pk}/?version=x").status_code == 404


def test_it_lists_only_visible_jobs_that_validate_with_it(viewer_session, flights_schema):
    from django.contrib.auth.models import Group

    components = [
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"carrier": "AA"}]}},
        {"name": "checked", "type": "validate", "inputs": ["rows"], "config": {"schema": "flights"}},
        {"name": "out", "type": "csv_sink", "inputs": ["checked"], "config": {"path": "out.csv"}},
    ]
    make_job("public_check", components=components)
    make_job("secret_check", components=components).allowed_groups.add(Group.objects.create(name="finance"))
    response = viewer_session.get(f"/schemas/{flights_schema.pk}/")
    assert [job.name for job in response.context["used_by"]] == ["public_check"]
    assert "secret_check" not in response.content.decode()


def test_an_unknown_schema_is_not_found(viewer_session, db):
    assert viewer_session.get("/schemas/999/").status_code == 404
