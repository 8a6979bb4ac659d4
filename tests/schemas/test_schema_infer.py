"""POST /api/v1/schemas/infer: a draft schema from a sample file; nothing saved."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from schemas.models import Schema
from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db

ENDPOINT = "/api/v1/schemas/infer"
CSV = (
    b"carrier,flight,delay,cancelled,day,departed,at\n"
    b"AA,1,1.5,true,2024-01-02,2024-01-02T09:00:00,09:00\n"
    b"DL,2,,false,2024-01-03,2024-01-03 10:30:00,10:30:15\n"
)


def test_it_infers_types_from_a_csv_sample_and_the_draft_accepts_the_sample(reader_client, admin_client):
    upload = SimpleUploadedFile("flights_2024.csv", CSV, "text/csv")
    response = reader_client.post(ENDPOINT, {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    draft = response.json()
    assert draft["name"] == "flights_2024"
    assert [(f["name"], f["type"], f["nullable"]) for f in draft["fields"]] == [
        ("carrier", "string", False),
        ("flight", "integer", False),
        ("delay", "number", True),
        ("cancelled", "boolean", False),
        ("day", "date", False),
        ("departed", "datetime", False),
        ("at", "time", False),
    ]
    assert draft["fields"][1]["examples"] == [1, 2]
    assert Schema.objects.count() == 0

    created = admin_client.post("/api/v1/schemas/", draft, format="json")
    assert created.status_code == 201, created.content
    upload = SimpleUploadedFile("flights_2024.csv", CSV, "text/csv")
    result = admin_client.post(
        f"/api/v1/schemas/{created.json()['id']}/validate", {"file": upload}, format="multipart"
    ).json()
    assert (result["valid"], result["invalid"]) == (2, 0)


def test_it_infers_from_json_records_with_their_json_types(reader_client):
    records = [{"id": 1, "score": 2.5, "tag": "a", "when": "2024-01-01"}, {"id": 2, "score": 3}]
    draft = reader_client.post(f"{ENDPOINT}?name=scores", {"records": records}, format="json").json()
    assert draft["name"] == "scores"
    assert [(f["name"], f["type"], f["required"], f["nullable"]) for f in draft["fields"]] == [
        ("id", "integer", True, False),
        ("score", "number", True, False),
        ("tag", "string", False, True),
        ("when", "date", False, True),
    ]


def test_bad_samples_are_refused(reader_client):
    assert_error_body(reader_client.post(ENDPOINT, {"records": []}, format="json"), 400, "records")
    upload = SimpleUploadedFile("notes.pdf", b"%PDF-1.4", "application/pdf")
    assert_error_body(reader_client.post(ENDPOINT, {"file": upload}, format="multipart"), 415)
    empty = SimpleUploadedFile("empty.csv", b"", "text/csv")
    assert_error_body(reader_client.post(ENDPOINT, {"file": empty}, format="multipart"), 400, "empty")


def test_anonymous_is_a_401(anon_client):
    assert_error_body(anon_client.post(ENDPOINT, {"records": [{"a": 1}]}, format="json"), 401)
