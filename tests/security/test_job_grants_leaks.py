"""Issue 15, item 3 ("grants everywhere"): answers that name other jobs name only
those the caller may see, and a job hidden from the caller is refused exactly
like one that does not exist.

The world: an open context `dev` and open jobs `shown` and `other`; restricted to
the `finance` group, the jobs `hush_up` (shown runs after it), `hush_down` (runs
after shown, default context dev) and `hush_side`, and the context `hushctx`.
Every hidden name starts with `hush`, so "nothing hidden in the body" is a
substring check. Outsiders are a viewer, an operator and an editor outside the
group, and an admin's API key limited to `shown`; members and admins see all.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey
from contexts.models import Context
from execution.models import Execution, ExecutionLog, State
from execution.scheduling import start_downstream_jobs
from jobs.models import Job, JobDependency
from monitoring.custom_metrics import record_custom_metrics
from monitoring.models import CustomMetric
from monitoring.setup import ensure_roles
from schemas.models import Schema
from tests.conftest import client_for, make_user
from tests.contexts.factories import make_context
from tests.jobs.factories import make_job, pipeline
from tests.schemas.factories import make_schema

pytestmark = pytest.mark.django_db

HIDDEN = "hush"
MISSING = "nowhere"
OUTSIDERS = ["viewer", "operator", "editor", "key"]


@pytest.fixture
def world(db, data_root):
    ensure_roles()
    finance = Group.objects.create(name="finance")
    dev = make_context("dev")
    make_context("hushctx").allowed_groups.add(finance)
    shown = make_job("shown", default_context=dev)
    other = make_job("other")
    hush_up, hush_down, hush_side = (
        make_job("hush_up"),
        make_job("hush_down", default_context=dev),
        make_job("hush_side"),
    )
    for job in (hush_up, hush_down, hush_side):
        job.allowed_groups.add(finance)
    JobDependency.objects.create(upstream=hush_up, downstream=shown)
    JobDependency.objects.create(upstream=shown, downstream=hush_down)
    return {"dev": dev, "shown": shown, "other": other, "hush_up": hush_up, "hush_down": hush_down}


def person(role: str, *, inside: bool = False, staff: bool = False):
    user = make_user(f"{role}-{'in' if inside else 'out'}")
    user.groups.add(Group.objects.get(name=role))
    if inside:
        user.groups.add(Group.objects.get(name="finance"))
    user.is_staff = staff
    user.save()
    return user


def key_client(owner, job: Job, scopes=("read",)) -> APIClient:
    api_key, key = ApiKey.objects.create_key(name="one-job", owner=owner, scopes=list(scopes))
    api_key.jobs.add(job)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def caller(world, who: str):
    """A role outside the group, `key` (an admin's key limited to `shown`),
    `member` (an editor inside the group) or `admin`."""
    if who == "key":
        return key_client(make_user("key-owner", superuser=True), world["shown"])
    if who == "admin":
        return client_for(make_user("root", superuser=True))
    if who == "member":
        return client_for(person("editor", inside=True))
    return client_for(person(who))


def text(response) -> str:
    return response.content.decode()


def answer(response, name: str) -> tuple[int, str]:
    """Status and error body, with the name the caller typed and the request id left out."""
    error = dict(response.json()["error"])
    error.pop("request_id")
    return response.status_code, json.dumps(error).replace(repr(name), "'<name>'")


def assert_same_as_missing(hidden, hidden_name, missing):
    assert hidden.status_code == 400, hidden.content
    assert answer(hidden, hidden_name) == answer(missing, MISSING)


# --- 1. a context's jobs ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "operator", "editor"])
def test_a_context_lists_only_the_jobs_the_caller_may_see(world, who):
    client = caller(world, who)
    dev = world["dev"]
    one = client.get(f"/api/v1/contexts/{dev.pk}")
    listed = client.get("/api/v1/contexts")
    assert one.json()["default_for_jobs"] == ["shown"]
    assert [c["default_for_jobs"] for c in listed.json()["results"]] == [["shown"]]
    assert HIDDEN not in text(one) and HIDDEN not in text(listed)
    for who in ("member", "admin"):
        seen = caller(world, who).get(f"/api/v1/contexts/{dev.pk}")
        assert seen.json()["default_for_jobs"] == ["hush_down", "shown"]


def test_a_changed_context_answers_with_only_the_jobs_the_caller_may_see(world):
    response = caller(world, "editor").patch(
        f"/api/v1/contexts/{world['dev'].pk}", {"description": "changed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["default_for_jobs"] == ["shown"]


# --- 2. refusals caused by hidden jobs count them, without names -----------------------------------


def test_deleting_a_context_hidden_jobs_use_is_refused_without_naming_them(world):
    response = caller(world, "editor").delete(f"/api/v1/contexts/{world['dev'].pk}")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert HIDDEN not in text(response)
    assert "shown and 1 other job you cannot see" in error["message"]
    assert error["details"] == {"jobs": ["shown"], "hidden_jobs": 1}
    assert Context.objects.filter(pk=world["dev"].pk).exists()
    member = caller(world, "member").delete(f"/api/v1/contexts/{world['dev'].pk}")
    assert member.status_code == 409, member.content
    assert member.json()["error"]["details"] == {"jobs": ["hush_down", "shown"]}


def test_deleting_a_job_hidden_jobs_depend_on_is_refused_without_naming_them(world):
    response = caller(world, "editor").delete(f"/api/v1/jobs/{world['shown'].pk}")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert HIDDEN not in text(response)
    assert "1 job you cannot see" in error["message"]
    assert error["details"] == {"dependents": [], "hidden_jobs": 1}
    assert Job.objects.filter(pk=world["shown"].pk).exists()
    admin = caller(world, "admin").delete(f"/api/v1/jobs/{world['shown'].pk}")
    assert admin.status_code == 409, admin.content
    assert admin.json()["error"]["details"] == {"dependents": ["hush_down"]}


def test_deleting_or_renaming_a_schema_hidden_jobs_use_is_refused_without_naming_them(world):
    schema = make_schema("flights")
    checker = make_job(
        "hush_check",
        components=[
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"carrier": "AA"}]}},
            {"name": "check", "type": "validate", "inputs": ["rows"], "config": {"schema": "flights"}},
        ],
    )
    checker.allowed_groups.add(Group.objects.get(name="finance"))
    client = caller(world, "editor")
    deleted = client.delete(f"/api/v1/schemas/{schema.pk}")
    renamed = client.patch(f"/api/v1/schemas/{schema.pk}", {"name": "planes"}, format="json")
    for response in (deleted, renamed):
        assert response.status_code == 409, response.content
        assert HIDDEN not in text(response)
        assert response.json()["error"]["details"] == {"jobs": [], "hidden_jobs": 1}
    assert Schema.objects.get(pk=schema.pk).name == "flights"


# --- 3. a job's dependencies ----------------------------------------------------------------------


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_job_shows_only_the_dependencies_the_caller_may_see(world, who):
    client = caller(world, who)
    shown = world["shown"]
    dependencies = client.get(f"/api/v1/jobs/{shown.pk}/dependencies")
    job = client.get(f"/api/v1/jobs/{shown.pk}")
    jobs = client.get("/api/v1/jobs")
    assert dependencies.json() == {"upstream": [], "downstream": []}
    assert job.json()["depends_on"] == []
    for response in (dependencies, job, jobs):
        assert response.status_code == 200, response.content
        assert HIDDEN not in text(response)
    assert_members_and_admins_see_every_dependency(world)


@pytest.mark.parametrize("who", ["viewer", "operator", "editor"])
def test_the_job_page_shows_only_the_dependencies_the_caller_may_see(world, who):
    client = Client()
    client.force_login(person(who))
    page = client.get(f"/jobs/{world['shown'].pk}/")
    assert page.status_code == 200
    assert "shown" in text(page) and HIDDEN not in text(page)


def assert_members_and_admins_see_every_dependency(world):
    shown = world["shown"]
    for who in ("member", "admin"):
        client = caller(world, who)
        dependencies = client.get(f"/api/v1/jobs/{shown.pk}/dependencies").json()
        assert [link["upstream"] for link in dependencies["upstream"]] == ["hush_up"]
        assert [link["downstream"] for link in dependencies["downstream"]] == ["hush_down"]
        assert [d["job"] for d in client.get(f"/api/v1/jobs/{shown.pk}").json()["depends_on"]] == ["hush_up"]


# --- 4. naming a hidden upstream job --------------------------------------------------------------


def _name_upstream(client, world, route: str, name: str):
    if route == "create":
        payload = {"name": "new", "components": pipeline(), "depends_on": [{"job": name}]}
        return client.post("/api/v1/jobs", payload, format="json")
    if route == "update":
        return client.patch(
            f"/api/v1/jobs/{world['other'].pk}", {"depends_on": [{"job": name}]}, format="json"
        )
    return client.post(f"/api/v1/jobs/{world['other'].pk}/dependencies", {"upstream": name}, format="json")


@pytest.mark.parametrize("route", ["create", "update", "add_dependency"])
def test_a_hidden_upstream_job_is_refused_like_a_missing_one(world, route):
    client = caller(world, "editor")
    links = JobDependency.objects.count()
    hidden = _name_upstream(client, world, route, "hush_side")
    missing = _name_upstream(client, world, route, MISSING)
    assert_same_as_missing(hidden, "hush_side", missing)
    assert "No job named 'hush_side'" in text(hidden)
    assert JobDependency.objects.count() == links
    assert not Job.objects.filter(name="new").exists()
    for who in ("member", "admin"):
        allowed = _name_upstream(caller(world, who), world, route, "hush_side")
        assert allowed.status_code in (200, 201), allowed.content
        Job.objects.filter(name="new").delete()
        JobDependency.objects.filter(upstream__name="hush_side").delete()


@pytest.mark.parametrize("route", ["create", "update", "add_dependency"])
def test_an_api_key_may_name_only_its_own_jobs_as_upstream(world, route):
    world["other"] = world["shown"]  # the job the key may change
    client = key_client(person("editor"), world["shown"], scopes=("read", "write"))
    outside_the_key = _name_upstream(client, world, route, "other")
    missing = _name_upstream(client, world, route, MISSING)
    assert_same_as_missing(outside_the_key, "other", missing)


def test_replacing_depends_on_keeps_the_links_to_hidden_jobs(world):
    shown = world["shown"]
    response = caller(world, "editor").patch(
        f"/api/v1/jobs/{shown.pk}", {"depends_on": [{"job": "other"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [d["job"] for d in response.json()["depends_on"]] == ["other"]
    assert set(shown.upstream_links.values_list("upstream__name", flat=True)) == {"hush_up", "other"}


def test_removing_a_link_to_a_hidden_job_answers_like_a_missing_link(world):
    shown = world["shown"]
    link = shown.upstream_links.get()
    client = caller(world, "editor")
    hidden = client.delete(f"/api/v1/jobs/{shown.pk}/dependencies/{link.pk}")
    missing = client.delete(f"/api/v1/jobs/{shown.pk}/dependencies/99999")
    assert hidden.status_code == missing.status_code == 404
    assert answer(hidden, "") == answer(missing, "")
    assert JobDependency.objects.filter(pk=link.pk).exists()


def test_an_api_key_cannot_be_limited_to_a_hidden_job(world):
    client = caller(world, "editor")
    hidden = client.post("/api/v1/auth/api-keys", {"name": "k", "scopes": ["read"], "jobs": ["hush_up"]})
    missing = client.post("/api/v1/auth/api-keys", {"name": "k", "scopes": ["read"], "jobs": [MISSING]})
    assert_same_as_missing(hidden, "hush_up", missing)
    assert not ApiKey.objects.exists()


# --- 5. names are unique across hidden objects too ------------------------------------------------


def _take_name(client, world, route: str, name: str):
    dev, other = world["dev"], world["other"]
    if route == "context create":
        return client.post("/api/v1/contexts", {"name": name}, format="json")
    if route == "context rename":
        return client.patch(f"/api/v1/contexts/{make_context('qa').pk}", {"name": name}, format="json")
    if route == "context clone":
        return client.post(f"/api/v1/contexts/{dev.pk}/clone", {"name": name}, format="json")
    if route == "job create":
        return client.post("/api/v1/jobs", {"name": name, "components": pipeline()}, format="json")
    return client.patch(f"/api/v1/jobs/{other.pk}", {"name": name}, format="json")


@pytest.mark.parametrize(
    "route, hidden_name, visible_name",
    [
        ("context create", "hushctx", "dev"),
        ("context rename", "hushctx", "dev"),
        ("context clone", "hushctx", "dev"),
        ("job create", "hush_up", "shown"),
        ("job rename", "hush_up", "shown"),
    ],
)
def test_a_taken_name_answers_the_same_whether_or_not_the_caller_may_see_its_holder(
    world, route, hidden_name, visible_name
):
    client = caller(world, "editor")
    hidden = _take_name(client, world, route, hidden_name)
    Context.objects.filter(name="qa").delete()
    visible = _take_name(client, world, route, visible_name)
    assert hidden.status_code == visible.status_code == 400, hidden.content
    assert answer(hidden, hidden_name) == answer(visible, visible_name)
    assert "including any you may not see" in hidden.json()["error"]["message"]
    assert HIDDEN not in text(hidden)


# --- 6. the admin ---------------------------------------------------------------------------------


@pytest.fixture
def runs(world):
    """A run of `shown` and one of `hush_up`, each with a log line and a custom metric."""
    shown_run = Execution.objects.create(job=world["shown"], state=State.SUCCEEDED, context_name="dev")
    hidden_run = Execution.objects.create(
        job=world["hush_up"], state=State.FAILED, error={"message": "hush failure"}, parameters={"p": "hush"}
    )
    for run in (shown_run, hidden_run):
        run.add_log("info", f"log of {run.job.name}")
    record_custom_metrics([{"name": "seen", "value": 1}], shown_run)
    record_custom_metrics([{"name": "seen", "value": 2}], hidden_run)
    record_custom_metrics([{"name": "posted", "value": 3, "labels": {"job": "hush_up"}}])
    return shown_run, hidden_run


def staff(inside: bool = False) -> Client:
    client = Client()
    client.force_login(person("editor", inside=inside, staff=True))
    return client


def changelist(client, path: str) -> list:
    response = client.get(path)
    assert response.status_code == 200
    assert HIDDEN not in text(response)
    return list(response.context["cl"].queryset)


def test_the_admin_hides_runs_logs_and_metrics_of_hidden_jobs(runs):
    shown_run, hidden_run = runs
    client = staff()
    assert changelist(client, "/admin/execution/execution/") == [shown_run]
    assert changelist(client, "/admin/execution/executionlog/") == list(shown_run.logs.all())
    assert {m.execution_id for m in changelist(client, "/admin/monitoring/custommetric/")} == {shown_run.pk}
    hidden_log = hidden_run.logs.get()
    for hidden, missing in (
        (f"/admin/execution/execution/{hidden_run.pk}/change/", "/admin/execution/execution/99999/change/"),
        (
            f"/admin/execution/executionlog/{hidden_log.pk}/change/",
            "/admin/execution/executionlog/99999/change/",
        ),
    ):
        assert client.get(hidden).status_code == client.get(missing).status_code == 302
    client = staff(inside=True)
    assert len(client.get("/admin/execution/execution/").context["cl"].queryset) == 2
    assert ExecutionLog.objects.count() == len(
        client.get("/admin/execution/executionlog/").context["cl"].queryset
    )
    assert CustomMetric.objects.count() == len(
        client.get("/admin/monitoring/custommetric/").context["cl"].queryset
    )


def test_the_job_admin_neither_shows_nor_names_hidden_jobs(world):
    client = staff()
    shown, dev = world["shown"], world["dev"]
    for path in (
        f"/admin/jobs/job/{shown.pk}/change/",
        f"/admin/jobs/job/{shown.pk}/delete/",
        f"/admin/contexts/context/{dev.pk}/delete/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert HIDDEN not in text(response), path
    assert "a job you cannot see" in text(client.get(f"/admin/contexts/context/{dev.pk}/delete/"))
    member = staff(inside=True)
    assert "hush_up" in text(member.get(f"/admin/jobs/job/{shown.pk}/change/"))
    assert "hush_down" in text(member.get(f"/admin/jobs/job/{shown.pk}/delete/"))
    assert "hush_down" in text(member.get(f"/admin/contexts/context/{dev.pk}/delete/"))


# --- 7. a run's log and the execution filters ------------------------------------------------------


def test_an_upstream_run_log_does_not_name_a_hidden_downstream_job(world):
    run = Execution.objects.create(job=world["shown"], state=State.SUCCEEDED, context_name="dev")
    assert [e.job.name for e in start_downstream_jobs(run)] == ["hush_down"]
    logs = caller(world, "viewer").get(f"/api/v1/jobs/{world['shown'].pk}/logs?execution={run.pk}")
    assert logs.json()["results"], logs.content
    assert HIDDEN not in text(logs)
    assert not run.logs.filter(message__contains=HIDDEN).exists()


@pytest.mark.parametrize("route, parameter", [("executions", "parent"), ("timeline", "execution")])
def test_filtering_by_a_hidden_jobs_run_answers_like_a_missing_run(world, route, parameter):
    hidden_run = Execution.objects.create(job=world["hush_up"], state=State.SUCCEEDED)
    client = caller(world, "viewer")
    url = f"/api/v1/jobs/{world['shown'].pk}/{route}?{parameter}="
    hidden, missing = client.get(f"{url}{hidden_run.pk}"), client.get(f"{url}99999")
    assert hidden.status_code == missing.status_code == 200
    assert hidden.json() == missing.json()
