"""POST /api/v1/schemas/validate: one payload against several schemas."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/v1/schemas/validate"


def test_it_returns_a_result_per_schema(reader_client):
    strict = make_schema("strict")
    loose = make_schema("loose", fields=[{"name": "carrier", "type": "string"}], rules=[])
    records = [{"carrier": "AA"}, {"carrier": "lower"}]
    response = reader_client.post(
        ENDPOINT, {"schemas": ["strict", loose.pk], "records": records}, format="json"
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["schema"]["name"], r["valid"], r["invalid"]) for r in results] == [
        ("strict", 1, 1),
        ("loose", 2, 0),
    ]
    assert results[0]["schema"] == {"id": strict.pk, "name": "strict", "version": 1}


def test_a_file_can_be_checked_against_schemas_named_in_the_form(reader_client):
    make_schema("strict")
    make_schema("loose", fields=[{"name": "carrier", "type": "string"}], rules=[])
    upload = SimpleUploadedFile("rows.csv", b"carrier\nAA\nlower\n", "text/csv")
    response = reader_client.post(ENDPOINT, {"file": upload, "schemas": "strict,loose"}, format="multipart")
    assert response.status_code == 200, response.content
    assert [r["invalid"] for r in response.json()["results"]] == [1, 0]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"records": []}, "schemas"),
        ({"schemas": [], "records": []}, "schemas"),
        ({"schemas": ["missing"], "records": []}, "No schema 'missing'"),
        ({"schemas": ["strict"]}, "records"),
    ],
)
def test_bad_input_is_a_400(reader_client, body, named):
    make_schema("strict")
    assert_error_body(reader_client.post(ENDPOINT, body, format="json"), 400, named)


def test_anonymous_is_a_401(anon_client):
    make_schema("strict")
    response = anon_client.post(ENDPOINT, {"schemas": ["strict"], "records": []}, format="json")
    assert_error_body(response, 401)
