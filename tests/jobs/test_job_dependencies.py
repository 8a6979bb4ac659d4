from functools import cached_property

import pytest

from jobs.models import Job, JobDependency
from tests.api_base import AccessTests, CreateTests, DeleteTests, ListTests, assert_error_body
from tests.jobs.factories import make_job


class TestJobDependenciesAPI(ListTests, CreateTests, DeleteTests, AccessTests):
    """/jobs/{id}/dependencies/: the upstream jobs of one job (no update: delete and add again)."""

    model = JobDependency
    paginated = False
    bad_payload = ({"upstream": "ghost"}, "upstream")

    def writer_permissions(self):
        return ["jobs.change_job"]  # a job's dependencies are part of the job

    @cached_property
    def job(self):
        return make_job("downstream")

    @property
    def endpoint(self):
        return f"/api/v1/jobs/{self.job.pk}/dependencies/"

    def rows(self, body):
        return body["upstream"]

    def make_object(self, index):
        return JobDependency.objects.create(upstream=make_job(f"up_{index}"), downstream=self.job)

    def create_payload(self, index):
        return {"upstream": make_job(f"new_up_{index}").name, "condition": "always"}


@pytest.fixture
def chain(db):
    """extract -> transform (on_success)."""
    extract, transform = make_job("extract"), make_job("transform")
    JobDependency.objects.create(upstream=extract, downstream=transform)
    return extract, transform


def test_dependencies_show_upstream_and_downstream(reader_client, chain):
    extract, transform = chain
    body = reader_client.get(f"/api/v1/jobs/{extract.pk}/dependencies").json()
    assert body["upstream"] == []
    assert [(d["upstream"], d["downstream"], d["condition"]) for d in body["downstream"]] == [
        ("extract", "transform", "on_success")
    ]
    body = reader_client.get(f"/api/v1/jobs/{transform.pk}/dependencies").json()
    assert [d["upstream"] for d in body["upstream"]] == ["extract"]


def test_a_dependency_can_be_added_and_removed_by_sub_route(admin_client, chain):
    extract, transform = chain
    load = make_job("load")
    response = admin_client.post(
        f"/api/v1/jobs/{load.pk}/dependencies",
        {"upstream": "transform", "condition": "always"},
        format="json",
    )
    assert response.status_code == 201, response.content
    link = JobDependency.objects.get(downstream=load)
    assert (link.upstream, link.condition) == (transform, "always")
    response = admin_client.delete(f"/api/v1/jobs/{load.pk}/dependencies/{link.pk}")
    assert response.status_code == 204
    assert not JobDependency.objects.filter(downstream=load).exists()


def test_a_cycle_across_jobs_is_refused(admin_client, chain):
    extract, _ = chain
    response = admin_client.post(
        f"/api/v1/jobs/{extract.pk}/dependencies", {"upstream": "transform"}, format="json"
    )
    assert_error_body(response, 400, "cycle")
    assert JobDependency.objects.count() == 1


def test_a_job_cannot_depend_on_itself(admin_client, chain):
    extract, _ = chain
    response = admin_client.post(
        f"/api/v1/jobs/{extract.pk}/dependencies", {"upstream": "extract"}, format="json"
    )
    assert_error_body(response, 400, "upstream")


def test_an_unknown_upstream_is_a_400(admin_client, chain):
    extract, _ = chain
    response = admin_client.post(
        f"/api/v1/jobs/{extract.pk}/dependencies", {"upstream": "ghost"}, format="json"
    )
    assert_error_body(response, 400, "upstream")


def test_a_duplicate_dependency_is_a_409(admin_client, chain):
    _, transform = chain
    response = admin_client.post(
        f"/api/v1/jobs/{transform.pk}/dependencies", {"upstream": "extract"}, format="json"
    )
    assert_error_body(response, 409)


def test_depends_on_in_the_job_payload_replaces_upstreams(admin_client, chain):
    extract, transform = chain
    make_job("other")
    response = admin_client.patch(
        f"/api/v1/jobs/{transform.pk}/",
        {"depends_on": [{"job": "other", "condition": "on_failure"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [(d["job"], d["condition"]) for d in response.json()["depends_on"]] == [("other", "on_failure")]


def test_depends_on_in_the_payload_refuses_a_cycle(admin_client, chain):
    extract, _ = chain
    response = admin_client.patch(
        f"/api/v1/jobs/{extract.pk}/", {"depends_on": [{"job": "transform"}]}, format="json"
    )
    assert_error_body(response, 400, "cycle")
    assert not JobDependency.objects.filter(downstream=extract).exists()


def test_deleting_a_job_others_depend_on_is_a_409_naming_them(admin_client, chain):
    extract, _ = chain
    response = admin_client.delete(f"/api/v1/jobs/{extract.pk}/")
    assert_error_body(response, 409)
    assert response.json()["error"]["details"]["dependents"] == ["transform"]
    assert "transform" in response.json()["error"]["message"]
    assert Job.objects.filter(pk=extract.pk).exists()


def test_deleting_a_downstream_job_removes_its_links(admin_client, chain):
    _, transform = chain
    assert admin_client.delete(f"/api/v1/jobs/{transform.pk}/").status_code == 204
    assert not JobDependency.objects.exists()


def test_adding_a_dependency_needs_the_change_permission(reader_client, chain):
    _, transform = chain
    load = make_job("load")
    response = reader_client.post(
        f"/api/v1/jobs/{load.pk}/dependencies", {"upstream": "transform"}, format="json"
    )
    assert_error_body(response, 403)


def test_a_patched_depends_on_without_a_condition_runs_on_success(admin_client, chain):
    _, transform = chain
    make_job("other")
    response = admin_client.patch(
        f"/api/v1/jobs/{transform.pk}/", {"depends_on": [{"job": "other"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [(d["job"], d["condition"]) for d in response.json()["depends_on"]] == [("other", "on_success")]
