"""Bad input against the API: every case answers a clear 4xx with the uniform
error body (never a 5xx), and changes nothing.

The corpus: malformed JSON, wrong types, huge strings and bodies, unicode edge
cases (RTL override, emoji, NUL, lone surrogates), SQL injection in names,
table names, expressions and filters, and path traversal in file paths.
"""

import json

import pytest
from django.db import connection

from jobs.models import Job
from schemas.models import Schema
from tests.execution.conftest import run_queued
from tests.jobs.factories import make_job, pipeline

pytestmark = pytest.mark.django_db


INJECTIONS = [
    "x'; DROP TABLE jobs_job; --",
    'x"; DROP TABLE jobs_job; --',
    "' OR '1'='1",
    "1; SELECT pg_sleep(5)",
    "x) UNION SELECT password FROM auth_user --",
]
# Each is a JSON string as a client could send it (lone surrogates cannot be
# encoded as UTF-8, so they only arrive as \u escapes).
UNICODE_EDGES = {
    "nul": '"a\\u0000b"',
    "lone_high_surrogate": '"a\\ud800b"',
    "lone_low_surrogate": '"a\\udc00b"',
}


def assert_error_body(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["message"]
    return error


def post_raw(client, url, body: str, content_type="application/json"):
    return client.generic("POST", url, body.encode("utf-8", "surrogatepass"), content_type=content_type)


def job_payload(name="ok_job", components=None, **extra):
    return {"name": name, "components": pipeline() if components is None else components, **extra}


# --- malformed JSON and wrong types -----------------------------------------------


@pytest.mark.parametrize(
    "body",
    ['{"name": "x"', "{'name': 'x'}", '{"name": "x",}', "[1, 2", "\x00\x01\x02", "", "null", "42"],
    ids=[
        "truncated",
        "single_quotes",
        "trailing_comma",
        "unclosed_list",
        "binary",
        "empty",
        "null",
        "number",
    ],
)
def test_malformed_json_is_a_400_and_creates_nothing(admin_client, body):
    response = post_raw(admin_client, "/api/v1/jobs/", body)
    assert_error_body(response, 400)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": ["a"]},
        {"name": {"a": 1}},
        {"name": "ok", "components": "rows"},
        {"name": "ok", "components": [42]},
        {"name": "ok", "config": {"batch_size": "many"}},
        {"name": "ok", "config": {"batch_size": -1}},
        {"name": "ok", "config": {"timeout_seconds": 1e308}},
        {"name": "ok", "config": {"schedule": "every day at noon"}},
        {"name": "ok", "config": {"timezone": "Mars/Olympus"}},
        {"name": "ok", "config": ["batch_size", 1]},
        {"name": "ok", "depends_on": [{"job": "nope"}]},
        {"name": "ok", "default_context": 3.5},
    ],
    ids=lambda payload: json.dumps(payload)[:40],
)
def test_wrong_types_are_a_400_naming_the_field(admin_client, payload):
    error = assert_error_body(admin_client.post("/api/v1/jobs/", payload, format="json"), 400)
    assert error["details"]
    assert not Job.objects.exists()


def test_a_job_config_with_a_wrong_type_leaves_the_job_unchanged(admin_client):
    job = make_job("kept", config={"batch_size": 10})
    response = admin_client.put(f"/api/v1/jobs/{job.pk}/config", {"batch_size": "ten"}, format="json")
    error = assert_error_body(response, 400)
    assert "batch_size" in json.dumps(error["details"])
    job.refresh_from_db()
    assert job.config == {"batch_size": 10}


# --- huge strings and bodies ------------------------------------------------------


def test_a_huge_name_is_a_400(admin_client):
    response = admin_client.post("/api/v1/jobs/", job_payload(name="a" * 1_000_000), format="json")
    error = assert_error_body(response, 400)
    assert "name" in error["details"]
    assert not Job.objects.exists()


def test_a_json_body_over_the_upload_limit_is_a_413(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = admin_client.post("/api/v1/jobs/", job_payload(description="d" * 200_000), format="json")
    error = assert_error_body(response, 413)
    assert "ETL_UPLOAD_MAX_BYTES" in error["message"]
    assert not Job.objects.exists()


def test_json_records_between_django_s_default_cap_and_the_upload_limit_are_read(admin_client):
    make_schema_with_one_field()
    records = [{"code": "x" * 100}] * 30_000  # ~3.4 MB: over Django's 2.5 MB default
    response = admin_client.post(
        f"/api/v1/schemas/{Schema.objects.get().pk}/validate", {"records": records}, format="json"
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["valid"] == 30_000


def test_an_upload_over_the_limit_is_a_413_before_it_is_read(admin_client, settings):
    settings.ETL_UPLOAD_MAX_BYTES = 10_000
    response = admin_client.post(
        "/api/v1/schemas/infer", {"records": [{"a": "x" * 100}] * 200}, format="json"
    )
    error = assert_error_body(response, 413)
    assert "ETL_UPLOAD_MAX_BYTES" in error["message"]


# --- unicode edge cases -------------------------------------------------------------


@pytest.mark.parametrize("name", ["\u202eevil", "emoji_\U0001f680", "ﾊﾝｶｸ", "a\u200bb", "Ⅻ"])
def test_names_outside_the_allowed_characters_are_a_400(admin_client, name):
    error = assert_error_body(admin_client.post("/api/v1/jobs/", job_payload(name=name), format="json"), 400)
    assert "name" in error["details"]


@pytest.mark.parametrize("value", ["مرحبا \u202eRTL", "🚀 emoji 👩‍👩‍👧", "日本語", "e\u0301"])
def test_free_text_keeps_any_printable_unicode(admin_client, value):
    response = admin_client.post("/api/v1/jobs/", job_payload(description=value), format="json")
    assert response.status_code == 201, response.content
    assert admin_client.get(f"/api/v1/jobs/{response.json()['id']}").json()["description"] == value


EDGE = "@@EDGE@@"
EDGE_PLACES = {
    "name": ("/api/v1/jobs/", {"name": EDGE}),
    "description": ("/api/v1/jobs/", {"name": "u1", "description": EDGE}),
    "component_config": (
        "/api/v1/jobs/",
        {
            "name": "u2",
            "components": [{"name": "rows", "type": "inline_source", "config": {"rows": [{"a": EDGE}]}}],
        },
    ),
    "context_description": ("/api/v1/contexts/", {"name": "c1", "description": EDGE}),
    "schema_field": ("/api/v1/schemas/", {"name": "s1", "fields": [{"name": EDGE, "type": "string"}]}),
}


@pytest.mark.parametrize("edge", sorted(UNICODE_EDGES))
@pytest.mark.parametrize("where", sorted(EDGE_PLACES))
def test_nul_and_lone_surrogates_are_a_400_wherever_they_appear(admin_client, edge, where):
    url, payload = EDGE_PLACES[where]
    body = json.dumps(payload).replace(json.dumps(EDGE), UNICODE_EDGES[edge])
    assert_error_body(post_raw(admin_client, url, body), 400)
    assert not Job.objects.exists()
    assert not Schema.objects.exists()


def test_nul_in_records_to_validate_is_a_clear_answer(admin_client):
    make_schema_with_one_field()
    schema_id = Schema.objects.get().pk
    body = '{"records": [{"code": "a\\u0000b"}]}'
    response = post_raw(admin_client, f"/api/v1/schemas/{schema_id}/validate", body)
    assert response.status_code in (200, 400), response.content[:300]


def make_schema_with_one_field():
    schema = Schema(name="codes")
    schema.save_definition(fields=[{"name": "code", "type": "string"}], rules=[])


# --- SQL injection ----------------------------------------------------------------------


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_in_names_is_refused_and_runs_nothing(admin_client, text):
    before = tables()
    error = assert_error_body(admin_client.post("/api/v1/jobs/", job_payload(name=text), format="json"), 400)
    assert "name" in error["details"]
    assert tables() == before


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_in_a_sink_table_name_is_refused_naming_the_component(admin_client, text):
    components = [
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
        {"name": "out", "type": "sqlite_sink", "inputs": ["rows"], "config": {"path": "x.db", "table": text}},
    ]
    error = assert_error_body(
        admin_client.post("/api/v1/jobs/", job_payload(components=components), format="json"), 400
    )
    assert {"component": "out", "field": "config.table"}.items() <= error["details"]["components"][0].items()


@pytest.mark.parametrize(
    "where",
    [
        "a > 0; DROP TABLE jobs_job",
        "a > 0 UNION SELECT 1",
        "(SELECT password FROM auth_user) = 'x'",
        "__import__('os').system('id')",
    ],
)
def test_sql_in_a_filter_expression_is_refused_naming_the_component(admin_client, where):
    before = tables()
    response = admin_client.post(
        "/api/v1/jobs/", job_payload(components=pipeline(where=where)), format="json"
    )
    error = assert_error_body(response, 400)
    assert error["details"]["components"][0]["component"] == "positive"
    assert tables() == before


@pytest.mark.parametrize("text", INJECTIONS + ["%", "_", "\\", "name__contains"])
@pytest.mark.parametrize("param", ["name", "search", "name__icontains", "ordering", "q"])
def test_sql_in_list_filters_finds_nothing_and_breaks_nothing(admin_client, param, text):
    make_job("kept")
    response = admin_client.get("/api/v1/jobs/", {param: text})
    if response.status_code == 200:
        names = [job["name"] for job in response.json()["results"]]
        assert names in ([], ["kept"])
    else:
        assert_error_body(response, 400)
    assert Job.objects.filter(name="kept").exists()


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_in_execution_history_filters_is_a_400_or_nothing(admin_client, text):
    job = make_job("kept")
    for param in ("state", "trigger", "context", "queued_after", "started_before", "attempt", "parent"):
        response = admin_client.get(f"/api/v1/jobs/{job.pk}/executions", {param: text})
        if response.status_code != 200:
            assert_error_body(response, 400)
        else:
            assert response.json()["count"] == 0


# --- path traversal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["../secrets.csv", "../../etc/passwd", "/etc/passwd", "sub/../../x.csv", "..\\..\\x.csv", "\x00.csv"],
)
def test_file_paths_outside_the_data_roots_cannot_be_started(admin_client, data_root, path):
    components = [
        {"name": "rows", "type": "csv_source", "config": {"path": path}},
        {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
    ]
    created = admin_client.post("/api/v1/jobs/", job_payload(components=components), format="json")
    if created.status_code != 201:
        assert_error_body(created, 400)
        return
    started = admin_client.post(f"/api/v1/jobs/{created.json()['id']}/start", {}, format="json")
    if started.status_code == 202:
        execution = run_queued(started.json()["id"])
        assert execution.state == "failed"
        assert execution.error["component"] == "rows"
        assert "data root" in execution.error["message"] or "'..'" in execution.error["message"]
    else:
        error = assert_error_body(started, 400)
        assert "rows" in json.dumps(error["details"])
    assert not (data_root / "out.csv").exists()


# --- regressions found by the fuzzer -------------------------------------------------------


def test_an_api_key_without_a_name_is_a_400(admin_client):
    error = assert_error_body(
        admin_client.post("/api/v1/auth/api-keys/", {"scopes": ["read"]}, format="json"), 400
    )
    assert "name" in error["details"]


@pytest.mark.parametrize("route", ["verify/", "refresh/", "logout/"])
def test_a_bad_jwt_is_a_401_with_a_readable_message(anon_client, route):
    body = {"token": "not-a-jwt"} if route == "verify/" else {"refresh": "not-a-jwt"}
    error = assert_error_body(anon_client.post(f"/api/v1/auth/jwt/{route}", body, format="json"), 401)
    assert error["message"] == "Token is invalid"


def test_the_component_type_catalogue_pages_like_every_list(admin_client):
    everything = admin_client.get("/api/v1/component-types/").json()
    page = admin_client.get("/api/v1/component-types/", {"page_size": 5, "page": 2}).json()
    assert page["count"] == everything["count"] > 10
    assert page["results"] == everything["results"][5:10]
    assert page["next"] and page["previous"]


def test_api_keys_are_audited_by_their_public_id(admin_client):
    created = admin_client.post("/api/v1/auth/api-keys/", {"name": "ci", "scopes": ["read"]}, format="json")
    assert created.status_code == 201, created.content[:300]
    prefix = created.json()["id"]
    assert admin_client.post(f"/api/v1/auth/api-keys/{prefix}/revoke").status_code == 200
    events = admin_client.get("/api/v1/audit/", {"object_id": prefix}).json()["results"]
    assert {event["action"] for event in events} == {"api_key_create", "api_key_revoke"}


# Offsets PostgreSQL refuses (beyond ±15:59), and values that overflow once in UTC.
ODD_DATE_TIMES = ["2026-01-01T00:00:00+19:52", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]


@pytest.mark.parametrize("value", ODD_DATE_TIMES)
@pytest.mark.parametrize(
    "url, param",
    [
        ("/api/v1/jobs/", "created_at__gte"),
        ("/api/v1/contexts/", "updated_at__lte"),
        ("/api/v1/schemas/", "updated_at__gte"),
        ("/api/v1/audit/", "since"),
    ],
)
def test_odd_date_time_filters_are_a_200_or_a_400(admin_client, url, param, value):
    response = admin_client.get(url, {param: value})
    if response.status_code != 200:
        assert_error_body(response, 400)


@pytest.mark.parametrize("param", ["queued_after", "finished_before"])
def test_odd_date_time_filters_on_execution_history_are_a_200_or_a_400(admin_client, param):
    job = make_job("kept")
    response = admin_client.get(f"/api/v1/jobs/{job.pk}/executions", {param: ODD_DATE_TIMES[0]})
    if response.status_code != 200:
        assert_error_body(response, 400)
