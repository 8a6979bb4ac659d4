"""Reads clients poll answer a conditional GET with 304 Not Modified, and say they must be revalidated."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.serializers import Serializer

from contexts.models import Context
from etlsite.configuration import apply_changes, validate_changes
from execution.models import Execution, State
from jobs.models import Job, JobDependency
from tests.jobs.factories import make_job, pipeline

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


# --- the validator is computed before the answer: what must change it, and what it skips ---

JOB_ROUTES = ["/api/v1/jobs/", "/api/v1/jobs/{id}"]
RUN_ROUTES = ["/api/v1/jobs/{id}/executions", "/api/v1/jobs/{id}/status"]


def etag_after(client, url, change):
    """The ETag before and after `change()`, and whether the old one still gets a 304."""
    before = client.get(url)["ETag"]
    change()
    after = client.get(url, HTTP_IF_NONE_MATCH=before)
    return before, after


@pytest.mark.parametrize("route", POLLED)
def test_the_etag_is_weak_and_a_strong_spelling_of_it_matches_too(reader_client, job, route):
    """It stands for the data the answer shows, not its bytes (RFC 9110 8.8.1): W/ ...
    If-None-Match compares weakly, If-Match strongly (a weak tag never passes it)."""
    url = route.format(id=job.pk)
    etag = reader_client.get(url)["ETag"]
    assert etag.startswith('W/"')
    assert reader_client.get(url, HTTP_IF_NONE_MATCH=etag.removeprefix("W/")).status_code == 304
    assert reader_client.get(url, HTTP_IF_MATCH=etag).status_code == 412


@pytest.mark.parametrize("route", POLLED)
def test_a_304_reads_no_row_in_full_and_serializes_nothing(reader_client, job, route, monkeypatch):
    url = route.format(id=job.pk)
    etag = reader_client.get(url)["ETag"]

    def refuse(*args, **kwargs):
        raise AssertionError("serialized for a 304")

    monkeypatch.setattr(Serializer, "to_representation", refuse)
    with CaptureQueriesContext(connection) as queries:
        assert reader_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # Components and runs are only aggregated, never read row by row.
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if ("jobs_component" in q["sql"] or "execution_execution" in q["sql"]) and "MAX(" not in q["sql"]
    ]
    assert not reads, reads


@pytest.mark.parametrize("route", JOB_ROUTES)
def test_job_answers_change_their_etag_with_what_they_show(reader_client, admin_user, job, route):
    url = route.format(id=job.pk)
    context = Context.objects.create(name="ctx")
    upstream = make_job("first")
    changes = [
        lambda: Job.objects.get(pk=job.pk).save(),  # a rename, a new description or config
        lambda: job.replace_components(pipeline("a > 1")),  # as many components as before
        lambda: JobDependency.objects.create(upstream=upstream, downstream=job),
        lambda: Job.objects.get(pk=upstream.pk).save(),  # the upstream's name is shown in depends_on
        lambda: JobDependency.objects.filter(downstream=job).delete(),
        lambda: Job.objects.filter(pk=job.pk).update(default_context=context),
        lambda: context.save(),  # a renamed default context
        lambda: apply_changes(validate_changes({"default_batch_size": 777})),  # shown in config
    ]
    for change in changes:
        before, after = etag_after(reader_client, url, change)
        assert after.status_code == 200, change
        assert after["ETag"] != before


def test_the_job_list_changes_its_etag_with_the_jobs_and_grants_the_caller_sees(reader_client, job):
    reader = User.objects.get(username="reader")
    group = Group.objects.create(name="insiders")
    restricted = make_job("restricted")
    changes = [
        lambda: make_job("another"),
        lambda: Job.objects.filter(name="another").delete(),
        lambda: restricted.allowed_groups.add(group),  # hidden from the reader now
        lambda: reader.groups.add(group),  # and seen again
        lambda: job.allowed_groups.add(Group.objects.create(name="others")),
    ]
    for change in changes:
        before, after = etag_after(reader_client, "/api/v1/jobs/", change)
        assert after.status_code == 200, change
        assert after["ETag"] != before


def test_a_job_changes_its_etag_when_its_upstream_is_hidden_from_the_caller(reader_client, job):
    upstream = make_job("first")
    JobDependency.objects.create(upstream=upstream, downstream=job)
    url = f"/api/v1/jobs/{job.pk}"
    assert reader_client.get(url).json()["depends_on"]
    before, after = etag_after(
        reader_client, url, lambda: upstream.allowed_groups.add(Group.objects.create(name="g"))
    )
    assert after.status_code == 200
    assert after.json()["depends_on"] == []
    assert after["ETag"] != before


def test_each_page_and_query_has_its_own_etag(reader_client, job):
    make_job("second")
    first = reader_client.get("/api/v1/jobs/", {"page_size": 1})
    second = reader_client.get("/api/v1/jobs/", {"page_size": 1, "page": 2})
    assert first.json()["results"] != second.json()["results"]
    assert first["ETag"] != second["ETag"]
    again = reader_client.get("/api/v1/jobs/?page_size=1&page=2", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert (
        reader_client.get("/api/v1/jobs/?page_size=1&page=2", HTTP_IF_NONE_MATCH=second["ETag"]).status_code
        == 304
    )


@pytest.mark.parametrize("route", RUN_ROUTES)
def test_run_answers_change_their_etag_with_the_runs(reader_client, admin_user, job, route):
    url = route.format(id=job.pk)
    queued = Execution.objects.create(job=job, state=State.QUEUED)
    changes = [
        lambda: Execution.objects.create(job=job, state=State.QUEUED),
        lambda: queued.claim("worker-1"),  # a change of state writes an event
        lambda: queued.beat("worker-1", rows_read=10, progress={"percent": 50.0}),  # a heartbeat, no event
        lambda: queued.request_pause(admin_user),
        lambda: Job.objects.get(pk=job.pk).save(),  # the job's name is in every row
        lambda: Execution.objects.filter(pk=queued.pk).delete(),  # retention
    ]
    for change in changes:
        before, after = etag_after(reader_client, url, change)
        assert after.status_code == 200, change
        assert after["ETag"] != before


def test_a_304_costs_the_same_queries_however_many_rows_there_are(reader_client, job):
    urls = [route.format(id=job.pk) for route in POLLED]

    def queries_of_304s():
        etags = {url: reader_client.get(url)["ETag"] for url in urls}
        with CaptureQueriesContext(connection) as queries:
            for url in urls:
                assert reader_client.get(url, HTTP_IF_NONE_MATCH=etags[url]).status_code == 304
        return len(queries)

    few = queries_of_304s()
    for index in range(5):
        make_job(f"more-{index}")
        Execution.objects.create(job=job, state=State.SUCCEEDED)
    assert queries_of_304s() == few


def test_the_browsable_api_keeps_the_etag_of_its_body(reader_client, job):
    """HTML answers hold a CSRF token and the user's name: ConditionalGetMiddleware hashes them."""
    html = reader_client.get("/api/v1/jobs/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert not html["ETag"].startswith("W/")
