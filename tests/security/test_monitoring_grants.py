"""Issue 15, item 4: monitoring, health and Prometheus answers say nothing about
jobs and contexts the caller may not see: no name, no label, no count.

The world: an open job and context, and, restricted to the `finance` group, two
jobs (`hushjob` failed its last run and records custom metrics, `hushsched` is
overdue) and a context `hushctx` with a credential. Each has executions. The
matrix: role x route, outside and inside the group.
"""

import socket
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from accounts.models import ApiKey
from execution.models import Execution, State
from monitoring.custom_metrics import record_custom_metrics
from monitoring.models import ArchivedTotal
from monitoring.setup import ensure_roles
from tests.conftest import client_for, make_user
from tests.contexts.factories import add_credential, make_context
from tests.jobs.factories import make_job
from tests.monitoring.factories import finished_run

pytestmark = pytest.mark.django_db

HIDDEN = "hush"  # every hidden job's and context's name starts with it
HIDDEN_JOBS = ("hushjob", "hushsched")

ROUTES = [
    "/api/v1/metrics/jobs",
    "/api/v1/metrics/performance/custom",
    "/api/v1/metrics/custom",
    "/api/v1/metrics/components",
    "/api/v1/metrics/executions",
    "/api/v1/metrics/performance",
    "/api/v1/health/jobs",
    "/api/v1/health/components",
    "/api/v1/health/detailed",
    "/api/v1/health/external",
    "/api/v1/health",
    "/metrics",
]

# What someone who may see the hidden objects finds by name on each route.
NAMES_INSIDE = {
    "/api/v1/metrics/jobs": {"hushjob", "hushsched"},
    "/api/v1/metrics/performance/custom": {"hushjob"},
    "/api/v1/metrics/custom": {"hushjob"},
    "/api/v1/health/jobs": {"hushjob", "hushsched"},
    "/api/v1/health/detailed": {"hushjob", "hushsched", "hushctx"},
    "/api/v1/health/external": {"hushctx"},
    "/api/v1/health": {"hushjob", "hushsched"},
}


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def world(db):
    ensure_roles()
    finance = Group.objects.create(name="finance")
    port = _closed_port()
    add_credential(make_context("openctx"), config={"host": "127.0.0.1", "port": port})
    hushctx = make_context("hushctx")
    hushctx.allowed_groups.add(finance)
    add_credential(hushctx, config={"host": "127.0.0.1", "port": port})

    open_job = make_job("open_job")
    finished_run(open_job, State.SUCCEEDED, rows=10)
    Execution.objects.create(job=open_job, state=State.RUNNING, started_at=timezone.now())

    hushjob = make_job("hushjob", default_context=hushctx)
    hushsched = make_job("hushsched", config={"schedule": "0 0 1 1 *"})  # due long ago, never run
    # It existed at its last yearly slot (a job made after a slot never missed it).
    type(hushsched).objects.filter(pk=hushsched.pk).update(created_at=timezone.now() - timedelta(days=800))
    for job in (hushjob, hushsched):
        job.allowed_groups.add(finance)
    hidden_run = finished_run(hushjob, State.FAILED, ago=timedelta(minutes=1))
    Execution.objects.create(job=hushjob, state=State.RUNNING, started_at=timezone.now())

    record_custom_metrics([{"name": "rows_seen", "value": 3, "labels": {"region": "eu"}}], hidden_run)
    open_run = open_job.executions.filter(state=State.SUCCEEDED).get()
    record_custom_metrics([{"name": "rows_seen", "value": 4, "labels": {"region": "eu"}}], open_run)
    record_custom_metrics([{"name": "posted", "value": 1, "labels": {"job": "hushjob"}}])
    record_custom_metrics([{"name": "posted_plain", "value": 2}])
    # Executions the retention job deleted: they belong to no job any more.
    ArchivedTotal.objects.create(name="executions_succeeded", value=5)
    return {"open_job": open_job, "finance": finance}


def caller(world, who: str):
    """A client for: a role outside the group, a `member` (viewer in the group),
    an `admin`, or a `key` of an admin limited to the open job."""
    if who == "key":
        owner = make_user("key-owner", superuser=True)
        api_key, key = ApiKey.objects.create_key(name="one-job", owner=owner, scopes=["read"])
        api_key.jobs.add(world["open_job"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client
    if who == "admin":
        return client_for(make_user("root", superuser=True))
    user = make_user(who)
    user.groups.add(Group.objects.get(name="viewer" if who == "member" else who))
    if who == "member":
        user.groups.add(world["finance"])
    return client_for(user)


def body(client, route: str) -> str:
    response = client.get(route)
    # A failing job makes /health/jobs answer 503 (with the report): both are answers.
    assert response.status_code in (200, 503), (route, response.content)
    return response.content.decode()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["viewer", "operator", "editor"])
def test_outsiders_find_no_hidden_job_or_context_by_name_or_label(world, role, route):
    assert HIDDEN not in body(caller(world, role), route)


@pytest.mark.parametrize("route", ROUTES)
def test_a_key_limited_to_one_job_finds_no_other_job(world, route):
    text = body(caller(world, "key"), route)
    assert not [name for name in HIDDEN_JOBS if name in text]


@pytest.mark.parametrize("route", sorted(NAMES_INSIDE))
@pytest.mark.parametrize("role", ["member", "admin"])
def test_members_and_admins_find_them(world, role, route):
    text = body(caller(world, role), route)
    assert {name for name in NAMES_INSIDE[route] if name in text} == NAMES_INSIDE[route]


# Figures per caller: (running now, finished in the window, component runs,
# jobs checked, prometheus succeeded total, prometheus failed total).
FIGURES = {
    "viewer": (1, 1, 3, 1, 1, 0),
    "key": (1, 1, 3, 1, 1, 0),
    "member": (2, 2, 6, 3, 1, 1),
    "admin": (2, 2, 6, 3, 6, 1),
}


@pytest.mark.parametrize("who", sorted(FIGURES))
def test_counts_cover_only_the_jobs_the_caller_may_see(world, who):
    running, finished, component_runs, jobs, succeeded_total, failed_total = FIGURES[who]
    client = caller(world, who)
    executions = client.get("/api/v1/metrics/executions").json()
    assert (executions["now"]["running"], executions["finished"]) == (running, finished)
    assert client.get("/api/v1/metrics/performance").json()["etl"]["finished"] == finished
    types = client.get("/api/v1/metrics/components").json()["component_types"]
    assert sum(item["runs"] for item in types) == component_runs
    assert client.get("/api/v1/health/jobs").json()["jobs"] == jobs
    assert len(client.get("/api/v1/metrics/jobs").json()["jobs"]) == jobs
    families = {f.name: f for f in text_string_to_metric_families(body(client, "/metrics"))}

    def sample(family, name, state):
        return next(
            s.value for s in families[family].samples if s.name == name and s.labels["state"] == state
        )

    assert sample("etlsite_executions", "etlsite_executions", "running") == running
    finished_total = "etlsite_executions_finished_total"
    assert sample("etlsite_executions_finished", finished_total, "succeeded") == succeeded_total
    assert sample("etlsite_executions_finished", finished_total, "failed") == failed_total


def test_custom_metrics_keep_what_belongs_to_no_hidden_job(world):
    series = caller(world, "viewer").get("/api/v1/metrics/custom").json()["series"]
    assert sorted((s["name"], s["labels"].get("job")) for s in series) == [
        ("posted_plain", None),
        ("rows_seen", "open_job"),
    ]


def test_the_dashboard_counts_only_visible_runs(world):
    user = make_user("dash")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["active_total"] == 1
    assert HIDDEN not in response.content.decode()
