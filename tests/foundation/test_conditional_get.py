"""Reads clients poll answer a conditional GET with 304 Not Modified, and say they must be revalidated."""

import pytest

from execution.models import Execution, State
from jobs.models import JobDependency
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(db):
    job = make_job("polled")
    Execution.objects.create(job=job, state=State.SUCCEEDED)
    return job


POLLED = ["/api/v1/jobs/", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/executions", "/api/v1/jobs/{id}/status"]


@pytest.mark.parametrize("route", POLLED)
def test_an_unchanged_answer_is_a_304_without_a_body(reader_client, job, route):
    url = route.format(id=job.pk)
    first = reader_client.get(url)
    assert first.status_code == 200, first.content
    assert first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    again = reader_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


@pytest.mark.parametrize("route", POLLED)
def test_a_change_gives_a_full_answer_with_a_new_etag(reader_client, job, route):
    url = route.format(id=job.pk)
    etag = reader_client.get(url)["ETag"]
    Execution.objects.create(job=job, state=State.QUEUED)  # what status and history show
    JobDependency.objects.create(upstream=make_job("first"), downstream=job)  # what list and detail show
    changed = reader_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_etag_belongs_to_the_callers_answer(reader_client, admin_client, job):
    """Each caller's answer has its own ETag: a job hidden from one user changes that user's list only."""
    hidden = make_job("restricted")
    hidden.allowed_groups.create(name="insiders")
    etag = admin_client.get("/api/v1/jobs/")["ETag"]
    assert reader_client.get("/api/v1/jobs/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert admin_client.get("/api/v1/jobs/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_writes_carry_no_cache_headers_and_errors_are_never_a_304(reader_client, admin_client, job):
    write = admin_client.post("/api/v1/jobs/", {}, format="json")
    assert write.status_code == 400
    assert "Cache-Control" not in write and "ETag" not in write
    assert reader_client.get("/api/v1/jobs/999999", HTTP_IF_NONE_MATCH="*").status_code == 404
