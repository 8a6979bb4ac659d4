"""Synchronous validation and inference do bounded work per request.

The attack: three concurrent 10 MB uploads of a 1M-column CSV to
`/schemas/{id}/validate` by a viewer took 23-40 s each and made
`/health/live` take 26 s. Now columns, values (rows x columns) and time are
limited, each a 413 naming its setting; wide files are refused from their
header line, before anything parses them.
"""

import json
import statistics
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from monitoring import setup
from schemas import views
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.schemas.factories import make_schema
from tests.security.servers import WebServer

pytestmark = pytest.mark.django_db

MILLION_COLUMNS = 1_000_000
PROBES = 150


def wide_csv(columns: int = MILLION_COLUMNS) -> bytes:
    """A header of `columns` names and one row: about 10 MB for a million."""
    return (",".join(f"c{n}" for n in range(columns)) + "\n" + ",".join("1" * columns) + "\n").encode()


def upload(name: str, content: bytes) -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv")}


@pytest.fixture
def viewer(db):
    setup.ensure_roles()
    user = make_user(f"viewer-{uuid.uuid4().hex[:6]}")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)


def assert_limit(response, setting: str):
    assert_error_body(response, 413)
    message = response.json()["error"]["message"]
    assert setting in message, message
    assert "validate component" in message, message  # says how to validate bigger data


def test_a_million_column_csv_is_refused_before_it_is_parsed(viewer_client):
    schema = make_schema("flights")
    started = time.monotonic()
    response = viewer_client.post(
        f"/api/v1/schemas/{schema.pk}/validate", upload("wide.csv", wide_csv()), format="multipart"
    )
    assert_limit(response, "ETL_VALIDATE_MAX_COLUMNS")
    assert "1,000,000 columns" in response.json()["error"]["message"]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "url", ["/api/v1/schemas/validate", "/api/v1/schemas/infer"], ids=["validate-many", "infer"]
)
def test_the_other_routes_refuse_a_wide_csv_too(viewer_client, url):
    make_schema("flights")
    body = {**upload("wide.csv", wide_csv(5_000)), "schemas": "flights"}
    assert_limit(viewer_client.post(url, body, format="multipart"), "ETL_VALIDATE_MAX_COLUMNS")


def test_a_quoted_header_counts_its_columns_exactly(viewer_client, settings):
    settings.ETL_VALIDATE_MAX_COLUMNS = 2
    schema = make_schema("flights")
    content = b'"carrier, the airline",flight\nAA,1\n'
    response = viewer_client.post(
        f"/api/v1/schemas/{schema.pk}/validate", upload("quoted.csv", content), format="multipart"
    )
    # Two columns, though the header holds three commas.
    assert response.status_code == 200, response.content


def test_json_records_with_too_many_keys_are_refused(viewer_client, settings):
    settings.ETL_VALIDATE_MAX_COLUMNS = 10
    schema = make_schema("flights")
    records = [{f"k{n}": n for n in range(11)}]
    response = viewer_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": records})
    assert_limit(response, "ETL_VALIDATE_MAX_COLUMNS")


def test_many_tiny_records_against_a_wide_schema_are_refused_before_any_validation(viewer_client, settings):
    settings.ETL_VALIDATE_MAX_VALUES = 1_000
    schema = make_schema("flights")  # four fields: 251 empty records are 1,004 values
    response = viewer_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": [{}] * 251})
    assert_limit(response, "ETL_VALIDATE_MAX_VALUES")
    ok = viewer_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": [{}] * 250})
    assert ok.status_code == 200, ok.content


def test_validate_many_counts_the_values_of_every_schema(viewer_client, settings):
    settings.ETL_VALIDATE_MAX_VALUES = 1_000
    make_schema("flights")
    make_schema("flights_copy")
    body = {"schemas": ["flights", "flights_copy"], "records": [{}] * 200}  # 2 x 4 x 200 = 1,600
    assert_limit(viewer_client.post("/api/v1/schemas/validate", body), "ETL_VALIDATE_MAX_VALUES")


@pytest.mark.parametrize("route", ["validate", "infer"])
def test_work_past_the_time_limit_is_a_413(viewer_client, settings, route):
    settings.ETL_VALIDATE_TIME_LIMIT_SECONDS = 0
    schema = make_schema("flights")
    url = f"/api/v1/schemas/{schema.pk}/validate" if route == "validate" else "/api/v1/schemas/infer"
    response = viewer_client.post(url, {"records": [{"carrier": "AA"}]})
    assert_limit(response, "ETL_VALIDATE_TIME_LIMIT_SECONDS")


def test_the_time_limit_is_checked_between_slices(viewer_client, settings, monkeypatch):
    schema = make_schema("flights")
    monkeypatch.setattr(views, "SLICE_VALUES", 4)
    monkeypatch.setattr(views, "SLICE_MIN_ROWS", 1)
    checks = []
    monkeypatch.setattr(views.TimeBudget, "check", lambda budget: checks.append(1))
    viewer_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": [{"carrier": "AA"}] * 5})
    assert len(checks) == 5  # one slice per record: four fields each


def test_sliced_validation_gives_the_same_answer_as_one_pass(viewer_client, monkeypatch):
    schema = make_schema("flights")
    records = [{"carrier": "AA" if n % 3 else "bad", "flight": n + 1} for n in range(30)]
    url = f"/api/v1/schemas/{schema.pk}/validate?limit=7"
    whole = viewer_client.post(url, {"records": records}).json()
    monkeypatch.setattr(views, "SLICE_VALUES", 16)
    monkeypatch.setattr(views, "SLICE_MIN_ROWS", 1)
    sliced = viewer_client.post(url, {"records": records}).json()
    assert sliced == whole
    assert whole["errors_total"] == 10 and whole["errors_shown"] == 7
    assert [problem["row"] for problem in sliced["errors"]] == [1, 4, 7, 10, 13, 16, 19]

    csv_rows = "carrier,flight\n" + "".join(f"{r['carrier']},{r['flight']}\n" for r in records)
    csv_sliced = viewer_client.post(url, upload("f.csv", csv_rows.encode()), format="multipart").json()
    assert [problem["row"] for problem in csv_sliced["errors"]] == [1, 4, 7, 10, 13, 16, 19]


def test_a_unique_field_is_checked_across_all_rows_whatever_the_slices(viewer_client, monkeypatch):
    code = {"name": "code", "type": "string", "constraints": {"unique": True}}
    schema = make_schema("codes", fields=[code], rules=[])
    monkeypatch.setattr(views, "SLICE_VALUES", 1)
    monkeypatch.setattr(views, "SLICE_MIN_ROWS", 1)
    records = [{"code": "A"}, {"code": "B"}, {"code": "A"}]
    body = viewer_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": records}).json()
    assert body["invalid"] == 1 and body["errors"][0]["row"] == 3


def test_a_schema_with_more_fields_than_the_limit_cannot_be_imported(admin_client, settings):
    settings.ETL_VALIDATE_MAX_COLUMNS = 3
    document = {"name": "wide", "fields": [{"name": f"f{n}", "type": "string"} for n in range(4)]}
    response = admin_client.post("/api/v1/schemas/import", {"schema": document})
    assert_error_body(response, 400, "fields")
    assert "ETL_VALIDATE_MAX_COLUMNS" in response.json()["error"]["message"]


# --- against a real server ---------------------------------------------------------


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
def test_health_live_stays_fast_while_three_million_column_uploads_run(tmp_path, viewer):
    schema = make_schema("flights")
    token = Token.objects.create(user=viewer).key
    body, content_type = multipart("wide.csv", wide_csv())
    assert len(body) > 9_000_000

    with WebServer(tmp_path / "gunicorn.log") as server:

        def upload_wide() -> tuple[int, str, float]:
            request = urllib.request.Request(
                f"{server.url}/api/v1/schemas/{schema.pk}/validate",
                data=body,
                headers={"Authorization": f"Token {token}", "Content-Type": content_type},
            )
            started = time.monotonic()
            try:
                urllib.request.urlopen(request, timeout=120)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)["error"]["message"], time.monotonic() - started
            return 200, "", time.monotonic() - started

        def probe_live() -> float:
            started = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/api/v1/health/live", timeout=60) as answer:
                assert answer.status == 200
            return time.monotonic() - started

        # Three clients upload without pause while the probe polls: every probe
        # is answered while uploads are being read and refused.
        stop = threading.Event()

        def keep_uploading() -> list:
            answers = [upload_wide()]
            while not stop.is_set():
                answers.append(upload_wide())
            return answers

        with ThreadPoolExecutor(max_workers=3) as pool:
            clients = [pool.submit(keep_uploading) for _ in range(3)]
            try:
                latencies = [probe_live() for _ in range(PROBES)]
            finally:
                stop.set()
            answers = [answer for client in clients for answer in client.result()]

    assert all(status == 413 and "ETL_VALIDATE_MAX_COLUMNS" in message for status, message, _ in answers), (
        answers
    )
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    slowest = sorted(latencies)[-3:]
    seconds = [round(answer[2], 2) for answer in answers]
    assert p99 < 1.0, (
        f"/health/live p99 {p99:.2f} s (slowest {slowest}); {len(answers)} uploads took {seconds}"
    )
