"""A change and its audit event are saved together or not at all, and deeply
nested JSON is refused before any work.

The attack: a job whose inline rows nested 600-900 levels was saved, then
the audit snapshot hit Python's recursion limit: a 500, the job committed,
no AuditEvent. A 10,000-level body was a 500 as well.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.views import APIView

from accounts import audit
from accounts.models import AuditEvent
from jobs.models import Job
from tests.api_base import assert_error_body
from tests.conftest import client_for
from tests.jobs.factories import make_job, pipeline
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db


def nested(levels: int):
    """A value `levels` arrays deep: [[[...[1]...]]]."""
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def job_with_rows_nested(levels: int, name: str = "deep") -> dict:
    components = pipeline()
    components[0]["config"]["rows"] = [{"a": 1, "payload": nested(levels)}]
    return {"name": name, "components": components}


def deep_body(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def failing_audit(monkeypatch):
    """The audit write fails after the change was made (a full disk, a bug)."""

    def fail(*args, **kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(audit.AuditEvent.objects, "create", fail)


def test_when_the_audit_fails_the_created_job_is_not_kept(admin_client, failing_audit):
    response = admin_client.post("/api/v1/jobs/", {"name": "half_saved", "components": pipeline()})
    assert_error_body(response, 500)
    assert not Job.objects.filter(name="half_saved").exists()


def test_when_the_audit_fails_an_update_is_rolled_back(admin_client, failing_audit):
    job = make_job("kept", description="before")
    response = admin_client.patch(f"/api/v1/jobs/{job.pk}/", {"description": "after"})
    assert_error_body(response, 500)
    job.refresh_from_db()
    assert job.description == "before"


def test_when_the_audit_fails_a_delete_is_rolled_back(admin_client, failing_audit):
    schema = make_schema("flights")
    assert_error_body(admin_client.delete(f"/api/v1/schemas/{schema.pk}/"), 500)
    assert schema.__class__.objects.filter(pk=schema.pk).exists()


def test_when_the_audit_fails_a_custom_action_is_rolled_back_too(admin_client, failing_audit):
    job = make_job("kept", config={"batch_size": 100})
    response = admin_client.put(f"/api/v1/jobs/{job.pk}/config", {"batch_size": 7})
    assert_error_body(response, 500)
    job.refresh_from_db()
    assert job.config == {"batch_size": 100}


def test_a_job_nested_deeper_than_python_recurses_is_saved_with_its_audit_event(admin_client, settings):
    # Past the parser's depth limit only to reach the audit snapshot with it.
    settings.ETL_JSON_MAX_DEPTH = 1000
    response = admin_client.post("/api/v1/jobs/", job_with_rows_nested(600))
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="create", object_id=str(response.json()["id"]))
    assert audit.CUT in json.dumps(event.after)


def test_a_snapshot_cuts_what_lies_deeper_than_its_limit():
    job = make_job("deep", components=job_with_rows_nested(900)["components"])
    picture = json.dumps(audit.snapshot(job))
    assert audit.CUT in picture
    assert picture.count("[") < audit.SNAPSHOT_MAX_DEPTH + 10


def test_a_body_nested_ten_thousand_levels_is_a_400_naming_the_limit(admin_client):
    response = admin_client.post("/api/v1/jobs/", deep_body(10_000), content_type="application/json")
    assert_error_body(response, 400)
    assert "64 levels" in response.json()["error"]["message"]
    assert "ETL_JSON_MAX_DEPTH" in response.json()["error"]["message"]


def test_a_job_nested_past_the_limit_is_refused_and_nothing_is_saved(admin_client):
    response = admin_client.post("/api/v1/jobs/", job_with_rows_nested(600))
    assert_error_body(response, 400)
    assert "64 levels" in response.json()["error"]["message"]
    assert not Job.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


def test_nesting_up_to_the_limit_is_parsed_and_one_level_more_is_not(admin_client, settings):
    schema = make_schema("flights")
    url = f"/api/v1/schemas/{schema.pk}/validate"
    # {"records": [{"carrier": [[...]]}]}: three levels around the nested value.
    at_limit = {"records": [{"carrier": nested(settings.ETL_JSON_MAX_DEPTH - 3)}]}
    assert admin_client.post(url, at_limit).status_code == 200
    one_more = {"records": [{"carrier": nested(settings.ETL_JSON_MAX_DEPTH - 2)}]}
    assert_error_body(admin_client.post(url, one_more), 400)


def test_brackets_inside_strings_do_not_count_as_nesting(admin_client):
    schema = make_schema("flights")
    text = '\\"' + "[" * 500 + '{"'
    response = admin_client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": [{"carrier": text}]})
    assert response.status_code == 200, response.content


def test_an_uploaded_json_file_nested_too_deep_is_a_400(admin_client):
    schema = make_schema("flights")
    upload = SimpleUploadedFile("deep.json", deep_body(10_000).encode(), content_type="application/json")
    response = admin_client.post(
        f"/api/v1/schemas/{schema.pk}/validate", {"file": upload}, format="multipart"
    )
    assert_error_body(response, 400)
    assert "'deep.json'" in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_only_requests_that_may_change_something_open_a_transaction(monkeypatch, django_user_model):
    # On SQLite a transaction holds the one write lock from its start: a GET,
    # a validation or a login (a slow password check) must not take it.
    in_transaction = {}
    initial = APIView.initial

    def spy(view, request, *args, **kwargs):
        in_transaction[f"{request.method} {request.path}"] = connection.in_atomic_block
        return initial(view, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", spy)
    admin = django_user_model.objects.create_superuser("root", password="a-long-password")
    schema = make_schema("flights")
    client = client_for(admin)
    client.get("/api/v1/jobs/")
    client.post(f"/api/v1/schemas/{schema.pk}/validate", {"records": []})
    client.post("/api/v1/jobs/", {"name": "new", "components": pipeline()})
    client_for(None).post("/api/v1/auth/token", {"username": "root", "password": "a-long-password"})
    assert in_transaction == {
        "GET /api/v1/jobs/": False,
        f"POST /api/v1/schemas/{schema.pk}/validate": False,
        "POST /api/v1/jobs/": True,
        "POST /api/v1/auth/token": False,
    }


def test_a_page_form_and_its_audit_event_are_saved_together(request, data_root):
    from django.contrib.auth.models import Group
    from django.test import Client

    from execution.models import Execution
    from monitoring import setup
    from tests.conftest import make_user

    setup.ensure_roles()
    operator = make_user("page_operator")
    operator.groups.add(Group.objects.get(name="operator"))
    browser = Client(raise_request_exception=False)
    browser.force_login(operator)
    job = make_job("from_the_page")
    request.getfixturevalue("failing_audit")  # after the login, which writes its own event
    response = browser.post(f"/jobs/{job.pk}/start/", {"context": "", "parameters": ""})
    assert response.status_code == 500
    assert not Execution.objects.exists()
