"""GET /api/v1/jobs/{id}/export and POST /api/v1/jobs/apply {"documents", "dry_run"}."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from contexts.models import Context
from jobs.models import Job, JobVersion
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import make_context
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db

EDITOR_PERMISSIONS = ("jobs.add_job", "jobs.change_job", "contexts.add_context", "contexts.change_context")
NEW_JOB = {
    "kind": "job",
    "name": "fresh",
    "components": [{"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}}],
}


@pytest.fixture
def editor_client(db):
    return client_for(make_user("editor", *EDITOR_PERMISSIONS))


def apply(client, *documents, dry_run=False):
    return client.post(
        "/api/v1/jobs/apply", {"documents": list(documents), "dry_run": dry_run}, format="json"
    )


def test_export_answers_the_jobs_file(editor_client, data_root):
    job = make_job("nightly", default_context=make_context("dev"))
    response = editor_client.get(f"/api/v1/jobs/{job.pk}/export")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["file"] == "jobs/nightly.yaml"
    assert body["content"].startswith("kind: job\nname: nightly\ndescription: ''\ndefault_context: dev\n")


def test_an_exported_job_applied_elsewhere_comes_back_the_same(editor_client, data_root):
    job = make_job("nightly", description="x", config={"max_retries": 2})
    exported = editor_client.get(f"/api/v1/jobs/{job.pk}/export").json()
    job.delete()
    response = apply(editor_client, exported)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "plan": [{"kind": "job", "name": "nightly", "action": "create", "file": "jobs/nightly.yaml"}],
        "dry_run": False,
    }
    again = Job.objects.get(name="nightly")
    assert editor_client.get(f"/api/v1/jobs/{again.pk}/export").json() == exported
    assert JobVersion.objects.get(job=again).via == "apply"
    assert AuditEvent.objects.get(action="create", object_repr="nightly").username == "editor"


def test_the_plan_says_create_update_or_unchanged_per_object(editor_client, data_root):
    make_context("dev")
    context = {"kind": "context", "name": "dev"}
    changed = {"kind": "context", "name": "dev", "description": "now described"}
    plan = apply(editor_client, context, NEW_JOB, dry_run=True).json()["plan"]
    assert [(s["kind"], s["name"], s["action"]) for s in plan] == [
        ("context", "dev", "unchanged"),
        ("job", "fresh", "create"),
    ]
    assert not Job.objects.exists()
    plan = apply(editor_client, changed, NEW_JOB).json()["plan"]
    assert [s["action"] for s in plan] == ["update", "create"]
    assert Context.objects.get(name="dev").description == "now described"


def test_documents_may_be_yaml_texts_with_file_names(editor_client, data_root):
    text = (
        "kind: job\nname: fresh\ncomponents:\n- {name: rows, type: inline_source, config: {rows: [{a: 1}]}}\n"
    )
    response = apply(editor_client, {"file": "jobs/fresh.yaml", "content": text})
    assert response.json()["plan"][0]["file"] == "jobs/fresh.yaml"
    assert Job.objects.filter(name="fresh").exists()


def test_a_yaml_syntax_error_is_a_400_naming_the_file_and_line(editor_client, db):
    response = apply(editor_client, NEW_JOB, {"file": "jobs/broken.yaml", "content": "kind: job\nname: [x\n"})
    assert_error_body(response, 400, "jobs/broken.yaml")
    assert "line 3" in response.json()["error"]["message"]
    assert not Job.objects.exists()


def test_an_unknown_component_type_is_a_400_naming_the_document_component_and_field(editor_client, db):
    bad = {**NEW_JOB, "components": [{"name": "rows", "type": "inline_sauce", "config": {}}]}
    response = apply(editor_client, {"kind": "context", "name": "staging"}, bad)
    assert_error_body(response, 400, "components.rows.type")
    assert response.json()["error"]["details"]["documents[1]"]["components.rows.type"]
    assert not Context.objects.exists()


def test_a_context_that_does_not_exist_or_is_hidden_is_a_400(editor_client, db):
    make_context("hushctx").allowed_groups.add(Group.objects.create(name="finance"))
    for name in ("nowhere", "hushctx"):
        response = apply(editor_client, {**NEW_JOB, "default_context": name})
        assert_error_body(response, 400, "default_context")
        assert response.json()["error"]["details"]["documents[0]"]["default_context"] == [
            f"No context named '{name}'."
        ]
    assert not Job.objects.exists()


def test_applying_needs_the_permission_for_each_object(db, data_root):
    jobs_only = client_for(make_user("jobs_editor", "jobs.add_job", "jobs.change_job"))
    response = apply(jobs_only, {"kind": "context", "name": "staging"}, NEW_JOB)
    assert_error_body(response, 403)
    assert "contexts.add_context" in response.json()["error"]["message"]
    assert not Job.objects.exists()


def test_credentials_in_a_file_need_the_credential_permissions(editor_client, db):
    document = {
        "kind": "context",
        "name": "dev",
        "credentials": [
            {"name": "warehouse", "kind": "postgres", "config": {"host": "db", "database": "dw"}}
        ],
    }
    assert_error_body(apply(editor_client, document), 403)
    admin = client_for(make_user("boss", superuser=True))
    assert apply(admin, document).status_code == 200
    assert Context.objects.get(name="dev").credentials.get().secrets_set == []


def test_readers_and_anonymous_users_may_not_apply_or_export_hidden_jobs(
    reader_client, anon_client, editor_client, data_root
):
    assert_error_body(apply(reader_client, NEW_JOB), 403)
    assert_error_body(apply(anon_client, NEW_JOB), 401)
    job = make_job("hush")
    assert reader_client.get(f"/api/v1/jobs/{job.pk}/export").status_code == 200
    assert_error_body(anon_client.get(f"/api/v1/jobs/{job.pk}/export"), 401)
    job.allowed_groups.add(Group.objects.create(name="finance"))
    assert_error_body(editor_client.get(f"/api/v1/jobs/{job.pk}/export"), 404)
    assert not Job.objects.filter(name="fresh").exists()


def test_a_hidden_jobs_name_is_taken_without_saying_whose(editor_client, data_root):
    make_job("fresh").allowed_groups.add(Group.objects.create(name="finance"))
    response = apply(editor_client, NEW_JOB)
    assert_error_body(response, 400, "name")
    assert "including any you may not see" in response.json()["error"]["message"]
