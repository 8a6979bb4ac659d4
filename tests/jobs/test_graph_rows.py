"""A job's components and upstream links read with it (`Job.objects.with_graph()`,
a JSON array the database builds) come out exactly as read row by row."""

import pytest

from jobs.models import Job, JobDependency
from tests.jobs.factories import make_job

# Values JSON can hold that a round trip through the database's JSON functions
# could change: float vs int, big and negative numbers, escapes, unicode, nesting.
MESSY_CONFIG = {
    "where": "name = \"O'Brien\" and note like '%\\n%'",
    "float_one": 1.0,
    "int_one": 1,
    "big": 2**62 + 1,
    "negative": -0.000123,
    "exponent": 1.5e-7,
    "text": 'tab\tnewline\nbackslash\\ quote" nul-free é 漢字 🚀',
    "nothing": None,
    "flags": [True, False, None],
    "nested": {"z": 1, "a": [{"b": {}}, []], "m": ""},
    "empty_list": [],
    "empty_object": {},
}


def graph(count: int) -> list[dict]:
    """A chain of `count` components, more than ten so the order is numeric, not textual."""
    components = [{"name": "c00", "type": "inline_source", "config": {"rows": [MESSY_CONFIG]}, "inputs": []}]
    for n in range(1, count):
        components.append(
            {"name": f"c{n:02}", "type": "filter", "inputs": [f"c{n - 1:02}"], "config": dict(MESSY_CONFIG)}
        )
    return components


def as_saved(job: Job) -> tuple[list[dict], list[dict]]:
    """The job's graph read with plain queries (no annotation)."""
    fresh = Job.objects.get(pk=job.pk)
    return fresh.component_dicts(), fresh.upstream_dicts()


def typed(value):
    """`value` with the type of every number kept (1 == 1.0 == True in Python)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


@pytest.mark.django_db
def test_components_and_links_read_with_the_job_are_the_saved_rows():
    job = make_job("messy", components=graph(12))
    upstreams = [make_job(f"up-{name}") for name in ("b", "a", "c")]
    for upstream, condition in zip(upstreams, ["always", "on_failure", "on_success"], strict=True):
        JobDependency.objects.create(upstream=upstream, downstream=job, condition=condition)

    read = Job.objects.with_graph().get(pk=job.pk)
    components, links = as_saved(job)

    assert typed(read.component_dicts()) == typed(components)
    assert [c["name"] for c in read.component_dicts()] == [f"c{n:02}" for n in range(12)]
    assert read.component_dicts()[1]["config"] == MESSY_CONFIG
    assert list(read.component_dicts()[1]) == ["name", "type", "inputs", "config"]
    assert read.upstream_dicts() == links
    assert [link["job"] for link in links] == ["up-b", "up-a", "up-c"]  # oldest link first


@pytest.mark.django_db
def test_a_job_without_components_or_links_reads_empty_lists():
    job = Job.objects.create(name="bare")
    read = Job.objects.with_graph().get(pk=job.pk)
    assert read.component_dicts() == [] and read.upstream_dicts() == []


@pytest.mark.django_db
def test_replacing_components_is_seen_by_the_same_object():
    job = Job.objects.with_graph().get(pk=make_job("swap").pk)
    job.replace_components(graph(2))
    assert [c["name"] for c in job.component_dicts()] == ["c00", "c01"]


@pytest.mark.django_db
def test_the_api_answers_the_saved_graph(admin_client):
    job = make_job("shown", components=graph(11))
    JobDependency.objects.create(upstream=make_job("first"), downstream=job)
    components, links = as_saved(job)

    for body in (
        admin_client.get(f"/api/v1/jobs/{job.pk}").json(),
        next(item for item in admin_client.get("/api/v1/jobs/").json()["results"] if item["id"] == job.pk),
    ):
        assert typed(body["components"]) == typed(components)
        assert body["depends_on"] == links
