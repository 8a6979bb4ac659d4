"""The reads clients poll take a fixed number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contexts.models import Context
from execution.models import Execution, State
from jobs.models import JobDependency
from tests.jobs.factories import make_job, pipeline

pytestmark = pytest.mark.django_db

POLLED = ["/api/v1/jobs/", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/executions", "/api/v1/jobs/{id}/status"]


def grow(job, index):
    """One more of everything a polled answer shows: a job with components, an upstream, a run."""
    upstream = make_job(f"upstream-{index}", default_context=Context.objects.create(name=f"ctx-{index}"))
    JobDependency.objects.create(upstream=upstream, downstream=job)
    job.replace_components(pipeline(f"a > {index}"))
    Execution.objects.create(job=job, state=State.SUCCEEDED, rows_read=index)


def queries(client, url, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code in (200, 304), response.content
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("route", POLLED)
def test_a_polled_read_takes_as_many_queries_for_many_rows_as_for_one(reader_client, route):
    job = make_job("polled")
    grow(job, 0)
    url = route.format(id=job.pk)
    reader_client.get(url)  # warm what is read once per process
    few = queries(reader_client, url)
    few_304 = queries(reader_client, url, HTTP_IF_NONE_MATCH=reader_client.get(url)["ETag"])
    for index in range(1, 6):
        grow(job, index)
    many = queries(reader_client, url)
    many_304 = queries(reader_client, url, HTTP_IF_NONE_MATCH=reader_client.get(url)["ETag"])
    assert len(many) == len(few), many
    assert len(many_304) == len(few_304), many_304
    assert len(few_304) < len(few)
