"""GET /api/v1/jobs/{id}/versions, GET .../versions/{n}, POST .../versions/{n}/restore:
every save that changes a job keeps a version; executions name theirs."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from execution.control import start_execution
from jobs.models import Job, JobDependency, JobVersion
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user
from tests.contexts.factories import make_context
from tests.jobs.factories import make_job, pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return make_user("editor", "jobs.add_job", "jobs.change_job", "jobs.delete_job")


@pytest.fixture
def editor_client(editor):
    return client_for(editor)


@pytest.fixture
def created(editor_client, data_root):
    response = editor_client.post(
        "/api/v1/jobs", {"name": "nightly", "components": pipeline()}, format="json"
    )
    assert response.status_code == 201, response.content
    return Job.objects.get(pk=response.json()["id"])


def saved(components: list[dict]) -> list[dict]:
    """Components as a job stores them (every one with its inputs)."""
    return [{"inputs": [], **component} for component in components]


def versions(client, job) -> list[dict]:
    response = client.get(f"/api/v1/jobs/{job.pk}/versions")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_every_kind_of_save_makes_a_version_with_who_and_what_changed(editor_client, created, data_root):
    url = f"/api/v1/jobs/{created.pk}"
    editor_client.patch(url, {"description": "every night"}, format="json")
    editor_client.put(f"{url}/config", {"batch_size": 500}, format="json")
    changed = pipeline("a > 1") + [
        {"name": "copy", "type": "csv_sink", "inputs": ["positive"], "config": {"path": "copy.csv"}}
    ]
    editor_client.put(f"{url}/components", changed, format="json")
    upstream = make_job("extract")
    editor_client.post(f"{url}/dependencies", {"upstream": "extract"}, format="json")
    link = JobDependency.objects.get(upstream=upstream)
    editor_client.delete(f"{url}/dependencies/{link.pk}")

    listed = versions(editor_client, created)
    assert [v["version"] for v in listed] == [6, 5, 4, 3, 2, 1]
    assert {v["created_by"] for v in listed} == {"editor"}
    assert {v["via"] for v in listed} == {"api"}
    assert [v["summary"] for v in reversed(listed)] == [
        "first version, 3 components",
        "description",
        "config: batch_size",
        "components: added copy (csv_sink), changed positive (config)",
        "dependencies",
        "dependencies",
    ]
    assert set(listed[0]) == {"version", "created_at", "created_by", "via", "summary"}


def test_a_save_that_changes_nothing_makes_no_version(editor_client, created):
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"description": ""}, format="json")
    editor_client.put(f"/api/v1/jobs/{created.pk}/components", pipeline(), format="json")
    assert len(versions(editor_client, created)) == 1


def test_a_version_shows_the_job_as_it_was(editor_client, created):
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"description": "changed"}, format="json")
    response = editor_client.get(f"/api/v1/jobs/{created.pk}/versions/1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 1
    assert body["name"] == "nightly"
    assert body["description"] == ""
    assert body["components"] == saved(pipeline())
    assert body["depends_on"] == []
    assert body["config"] == {}
    assert editor_client.get(f"/api/v1/jobs/{created.pk}/versions/2").json()["description"] == "changed"


def test_restore_brings_a_version_back_as_a_new_audited_version(editor_client, created):
    editor_client.put(f"/api/v1/jobs/{created.pk}/components", pipeline("a > 5"), format="json")
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"name": "renamed"}, format="json")
    response = editor_client.post(f"/api/v1/jobs/{created.pk}/versions/1/restore")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 4
    assert body["via"] == "restore"
    assert body["summary"].startswith("restored version 1: renamed renamed → nightly")
    job = Job.objects.get(pk=created.pk)
    assert job.name == "nightly"
    assert job.component_dicts() == saved(pipeline())
    event = AuditEvent.objects.get(action="restore", object_id=str(job.pk))
    assert event.username == "editor"
    assert event.before["name"] == "renamed" and event.after["name"] == "nightly"


def test_restoring_a_version_that_does_not_exist_is_a_400_and_changes_nothing(editor_client, created):
    response = editor_client.post(f"/api/v1/jobs/{created.pk}/versions/9/restore")
    assert_error_body(response, 400, "version")
    assert "no version 9" in response.json()["error"]["message"]
    assert JobVersion.objects.filter(job=created).count() == 1
    assert not AuditEvent.objects.filter(action="restore").exists()
    assert_error_body(editor_client.get(f"/api/v1/jobs/{created.pk}/versions/9"), 404)


def test_restoring_a_version_whose_context_is_gone_is_a_400_naming_the_field(editor_client, created):
    dev = make_context("dev")
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"default_context": "dev"}, format="json")
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"default_context": None}, format="json")
    dev.delete()
    response = editor_client.post(f"/api/v1/jobs/{created.pk}/versions/2/restore")
    assert_error_body(response, 400, "default_context")
    assert JobVersion.objects.filter(job=created).count() == 3


def test_an_execution_records_the_version_it_ran_and_the_api_shows_it(editor_client, created):
    execution, _ = start_execution(created)
    assert execution.job_version == 1
    editor_client.patch(f"/api/v1/jobs/{created.pk}", {"description": "v2"}, format="json")
    body = editor_client.get(f"/api/v1/jobs/{created.pk}/executions/{execution.pk}").json()
    assert body["job_version"] == 1


def test_a_job_saved_without_a_version_gets_one_when_it_starts(db, data_root):
    job = make_job("written_straight_to_the_database")
    execution, _ = start_execution(job)
    version = JobVersion.objects.get(job=job)
    assert (execution.job_version, version.via, version.created_by_name) == (1, "start", "")


def test_versions_name_no_upstream_job_the_reader_may_not_see(editor_client, created):
    hidden = make_job("hush_up")
    hidden.allowed_groups.add(Group.objects.create(name="finance"))
    JobDependency.objects.create(upstream=hidden, downstream=created)
    admin = make_user("boss", superuser=True)
    client_for(admin).patch(f"/api/v1/jobs/{created.pk}", {"description": "x"}, format="json")
    assert client_for(admin).get(f"/api/v1/jobs/{created.pk}/versions/2").json()["depends_on"] == [
        {"job": "hush_up", "condition": "on_success"}
    ]
    assert "hush" not in editor_client.get(f"/api/v1/jobs/{created.pk}/versions/2").content.decode()


def test_restore_needs_the_permission_to_edit_jobs_and_history_a_signed_in_user(
    reader_client, anon_client, created
):
    assert len(versions(reader_client, created)) == 1
    assert_error_body(reader_client.post(f"/api/v1/jobs/{created.pk}/versions/1/restore"), 403)
    assert_error_body(anon_client.get(f"/api/v1/jobs/{created.pk}/versions"), 401)
    assert_error_body(anon_client.post(f"/api/v1/jobs/{created.pk}/versions/1/restore"), 401)


def test_a_hidden_jobs_history_answers_404(editor_client, created):
    created.allowed_groups.add(Group.objects.create(name="finance"))
    assert_error_body(editor_client.get(f"/api/v1/jobs/{created.pk}/versions"), 404)
    assert_error_body(editor_client.get(f"/api/v1/jobs/{created.pk}/versions/1"), 404)
    assert_error_body(editor_client.post(f"/api/v1/jobs/{created.pk}/versions/1/restore"), 404)
