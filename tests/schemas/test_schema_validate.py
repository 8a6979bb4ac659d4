"""POST /api/v1/schemas/{id}/validate: JSON records or an uploaded file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from schemas.models import Schema
from tests.api_base import assert_error_body
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

RECORDS = [
    {"carrier": "AA", "flight": 1, "dep_time": 900, "arr_time": 1100},
    {"carrier": "DL", "flight": 2, "dep_time": None, "arr_time": None},
    {"carrier": "x1", "flight": 3, "dep_time": 900, "arr_time": 1000},
    {"carrier": "UA", "flight": 4, "dep_time": None, "arr_time": 1000},
]


def url(schema):
    return f"/api/v1/schemas/{schema.pk}/validate"


def test_it_counts_valid_and_invalid_records_and_lists_the_errors(reader_client):
    schema = make_schema()
    response = reader_client.post(url(schema), {"records": RECORDS}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["valid"], body["invalid"], body["errors_total"]) == (2, 2, 2)
    assert body["errors"] == [
        {
            "row": 3,
            "field": "carrier",
            "rule": "pattern",
            "message": "'x1' does not match ^[A-Z0-9]{2}$",
            "severity": "error",
        },
        {
            "row": 4,
            "field": None,
            "rule": "times",
            "message": "arrival without departure",
            "severity": "error",
        },
    ]


def test_json_types_are_kept_so_a_quoted_number_is_a_type_error(reader_client):
    schema = make_schema()
    body = reader_client.post(
        url(schema), {"records": [{"carrier": "AA", "flight": "7"}]}, format="json"
    ).json()
    assert body["errors"][0]["field"] == "flight" and body["errors"][0]["rule"] == "type"


def test_errors_are_capped_by_limit_with_the_full_total(reader_client):
    schema = make_schema()
    records = [{"carrier": "bad"}] * 30
    body = reader_client.post(f"{url(schema)}?limit=5", {"records": records}, format="json").json()
    assert body["errors_total"] == 30
    assert body["errors_shown"] == 5
    assert [e["row"] for e in body["errors"]] == [1, 2, 3, 4, 5]


def test_a_csv_upload_is_parsed_and_validated(reader_client):
    schema = make_schema()
    csv = b"carrier,flight,dep_time,arr_time\nAA,1,900,1100\nAA,x,900,\nBB,3,,1000\n"
    response = reader_client.post(
        url(schema), {"file": SimpleUploadedFile("flights.csv", csv, "text/csv")}, format="multipart"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["valid"], body["invalid"]) == (1, 2)
    assert [(e["row"], e["field"], e["rule"]) for e in body["errors"]] == [
        (2, "flight", "type"),
        (3, None, "times"),
    ]


def test_an_ndjson_upload_is_validated_with_json_types(reader_client):
    schema = make_schema()
    ndjson = b'{"carrier": "AA", "flight": 1}\n\n{"carrier": "AA", "flight": "1"}\n'
    upload = SimpleUploadedFile("rows.ndjson", ndjson, "application/x-ndjson")
    body = reader_client.post(url(schema), {"file": upload}, format="multipart").json()
    assert (body["valid"], body["invalid"]) == (1, 1)


def test_a_version_can_be_chosen(reader_client):
    schema = make_schema()
    schema.save_definition(fields=[{"name": "carrier", "type": "string"}], rules=[])
    records = {"records": [{"carrier": "lowercase is fine in v2"}]}
    assert reader_client.post(url(schema), records, format="json").json()["invalid"] == 0
    assert reader_client.post(f"{url(schema)}?version=1", records, format="json").json()["invalid"] == 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "records"),
        ({"records": "nope"}, "records"),
        ({"records": [1, 2]}, "record 1 is not a JSON object"),
    ],
)
def test_bad_json_input_is_a_400(reader_client, body, named):
    schema = make_schema()
    assert_error_body(reader_client.post(url(schema), body, format="json"), 400, named)


def test_a_bad_limit_is_a_400(reader_client):
    schema = make_schema()
    response = reader_client.post(f"{url(schema)}?limit=5000", {"records": []}, format="json")
    assert_error_body(response, 400, "limit")


def test_a_file_that_is_not_csv_or_json_is_refused(reader_client):
    schema = make_schema()
    upload = SimpleUploadedFile("report.xlsx", b"PK\x03\x04 binary", "application/vnd.ms-excel")
    response = reader_client.post(url(schema), {"file": upload}, format="multipart")
    assert_error_body(response, 415)
    assert "CSV" in response.json()["error"]["message"]

    binary = SimpleUploadedFile("sneaky.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "text/csv")
    assert_error_body(reader_client.post(url(schema), {"file": binary}, format="multipart"), 415)

    broken = SimpleUploadedFile("rows.json", b'[{"carrier": ', "application/json")
    assert_error_body(reader_client.post(url(schema), {"file": broken}, format="multipart"), 400, "not JSON")


def test_a_50_mb_upload_gets_a_413_naming_the_limit(reader_client):
    schema = make_schema()
    big = SimpleUploadedFile("big.csv", b"carrier\n" + b"AA\n" * (50 * 1024 * 1024 // 3), "text/csv")
    response = reader_client.post(url(schema), {"file": big}, format="multipart")
    assert_error_body(response, 413)
    message = response.json()["error"]["message"]
    assert "limit is 20 MB" in message and "ETL_UPLOAD_MAX_BYTES" in message
    assert Schema.objects.get().version == 1


def test_anonymous_validation_is_a_401(anon_client):
    schema = make_schema()
    assert_error_body(anon_client.post(url(schema), {"records": RECORDS}, format="json"), 401)


def test_an_unknown_schema_is_a_404(reader_client):
    assert_error_body(reader_client.post("/api/v1/schemas/999/validate", {"records": []}, format="json"), 404)
