"""Issue 15, item 3: a context restricted to groups is usable only by those who
may see it, wherever a context is named.

`vault` is restricted to the `finance` group and holds a parameter and a
credential; `dev` is open. Outsiders (editors and operators not in `finance`)
must get exactly the answer they would get for a context that does not exist,
and nothing may be created, changed or started. Members and admins may use it.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django_q.models import OrmQ

from accounts.models import ApiKey, AuditEvent
from execution.models import Execution, State, Trigger
from execution.scheduling import schedule_retry, start_downstream_jobs, start_scheduled_run
from jobs.models import Job, JobDependency
from monitoring.setup import ensure_roles
from tests.conftest import client_for, make_user
from tests.contexts.factories import add_credential, add_parameter, make_context
from tests.jobs.factories import make_job, pipeline

pytestmark = pytest.mark.django_db

MISSING = "nowhere"


@pytest.fixture(autouse=True)
def roles(db, data_root):
    ensure_roles()
    Group.objects.get_or_create(name="finance")


@pytest.fixture
def vault(roles):
    context = make_context("vault")
    context.allowed_groups.add(Group.objects.get(name="finance"))
    add_parameter(context, "region", "string", "eu")
    add_credential(context)
    return context


@pytest.fixture
def dev(roles):
    return make_context("dev")


def person(username: str, role: str, *, inside: bool = False, staff: bool = False):
    user = make_user(username)
    user.groups.add(Group.objects.get(name=role))
    if inside:
        user.groups.add(Group.objects.get(name="finance"))
    if staff:
        user.is_staff = True
        user.save()
    return user


def admin():
    return make_user("root", superuser=True)


def answer(response, name: str) -> tuple[int, str]:
    """Status and error body with the context name the caller typed and the request id left out."""
    error = dict(response.json()["error"])
    error.pop("request_id")
    return response.status_code, json.dumps(error).replace(repr(name), "'<name>'")


def assert_same_as_missing(hidden, missing):
    """Word for word the same 400 (so nothing in it, such as a list of known
    contexts, tells the hidden context apart)."""
    assert hidden.status_code == 400, hidden.content
    assert answer(hidden, "vault") == answer(missing, MISSING)


def job_payload(name: str, context: str) -> dict:
    return {"name": name, "components": pipeline(), "default_context": context}


def nothing_started():
    return (
        not Execution.objects.exists()
        and not OrmQ.objects.exists()
        and not AuditEvent.objects.filter(action="start").exists()
    )


# --- default_context on the job API ------------------------------------------------------


def test_an_outsider_cannot_create_a_job_in_a_hidden_context_and_learns_nothing(vault, dev):
    client = client_for(person("ed", "editor"))
    hidden = client.post("/api/v1/jobs", job_payload("j", "vault"), format="json")
    missing = client.post("/api/v1/jobs", job_payload("j", MISSING), format="json")
    assert_same_as_missing(hidden, missing)
    assert "default_context" in hidden.json()["error"]["details"]
    assert not Job.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_outsider_cannot_point_a_job_at_a_hidden_context(vault, dev, method):
    job = make_job("copy", default_context=dev)
    client = client_for(person("ed", "editor"))
    send = getattr(client, method)
    hidden = send(f"/api/v1/jobs/{job.pk}", job_payload("copy", "vault"), format="json")
    missing = send(f"/api/v1/jobs/{job.pk}", job_payload("copy", MISSING), format="json")
    assert_same_as_missing(hidden, missing)
    job.refresh_from_db()
    assert job.default_context == dev
    assert not AuditEvent.objects.filter(action="update").exists()


@pytest.mark.parametrize("who", ["member", "admin"])
def test_members_and_admins_may_make_the_context_a_default(vault, who):
    user = person("ed", "editor", inside=True) if who == "member" else admin()
    response = client_for(user).post("/api/v1/jobs", job_payload("j", "vault"), format="json")
    assert response.status_code == 201, response.content
    assert Job.objects.get(name="j").default_context == vault


WRITES = [
    ("patch", "", {"description": "changed"}),
    ("put", "/components", pipeline("a > 1")),
    ("put", "/config", {"batch_size": 10}),
    ("post", "/dependencies", {"upstream": "other", "condition": "always"}),
    ("delete", "", None),
]


@pytest.mark.parametrize(("method", "route", "body"), WRITES)
def test_an_outsider_may_not_change_a_job_that_runs_in_the_hidden_context(vault, method, route, body):
    """Else they could rewrite what its scheduled runs do with the context's credentials."""
    job = make_job("payroll", default_context=vault)
    make_job("other")
    before = (job.description, job.component_dicts(), job.config)
    client = client_for(person("ed", "editor"))
    response = getattr(client, method)(f"/api/v1/jobs/{job.pk}{route}", body, format="json")
    assert response.status_code == 403, response.content
    assert "context you may not use" in response.json()["error"]["message"]
    job.refresh_from_db()
    assert (job.description, job.component_dicts(), job.config) == before
    assert not JobDependency.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_outsider_still_reads_such_a_job(vault):
    job = make_job("payroll", default_context=vault)
    response = client_for(person("ed", "editor")).get(f"/api/v1/jobs/{job.pk}/components")
    assert response.status_code == 200


def test_a_member_changes_a_job_that_runs_in_the_context(vault):
    job = make_job("payroll", default_context=vault)
    client = client_for(person("ed", "editor", inside=True))
    response = client.patch(f"/api/v1/jobs/{job.pk}", {"description": "changed"}, format="json")
    assert response.status_code == 200, response.content


# --- start and restart on the API -----------------------------------------------------------


def start(client, job, body):
    return client.post(f"/api/v1/jobs/{job.pk}/start", body, format="json")


def test_an_outsider_cannot_start_a_run_in_a_hidden_context_and_learns_nothing(vault, dev):
    job = make_job("copy")
    client = client_for(person("op", "operator"))
    hidden = start(client, job, {"context": "vault"})
    missing = start(client, job, {"context": MISSING})
    assert_same_as_missing(hidden, missing)
    assert hidden.json()["error"]["details"]["context"] == ["No context named 'vault'; known: dev."]
    assert nothing_started()


def test_an_outsider_cannot_start_a_job_whose_default_context_is_hidden(vault):
    job = make_job("payroll", default_context=vault)
    response = start(client_for(person("op", "operator")), job, {})
    assert response.status_code == 400, response.content
    assert "context you may not use" in response.json()["error"]["details"]["context"][0]
    assert nothing_started()


def test_a_hidden_global_default_context_is_refused_too(vault):
    vault.is_default = True
    vault.save()
    response = start(client_for(person("op", "operator")), make_job("copy"), {})
    assert response.status_code == 400, response.content
    assert nothing_started()


def test_an_outsider_with_an_api_key_is_refused_the_same_way(vault, dev):
    job = make_job("copy")
    owner = person("op", "operator")
    _, key = ApiKey.objects.create_key(name="ci", owner=owner, scopes=["read", "execute"])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    hidden = client.post(
        f"/api/v1/jobs/{job.pk}/start", {"context": "vault"}, content_type="application/json"
    )
    missing = client.post(
        f"/api/v1/jobs/{job.pk}/start", {"context": MISSING}, content_type="application/json"
    )
    assert_same_as_missing(hidden, missing)
    assert nothing_started()


@pytest.mark.parametrize("who", ["member", "admin"])
def test_members_and_admins_start_runs_in_the_context(vault, who):
    user = person("op", "operator", inside=True) if who == "member" else admin()
    response = start(client_for(user), make_job("copy"), {"context": "vault"})
    assert response.status_code == 202, response.content
    assert Execution.objects.get().context_name == "vault"
    assert AuditEvent.objects.filter(action="start").count() == 1


def finished_run(job, context_name: str, context=None) -> Execution:
    return Execution.objects.create(
        job=job, state=State.SUCCEEDED, context=context, context_name=context_name, trigger=Trigger.API
    )


def test_an_outsider_cannot_restart_a_run_of_the_hidden_context(vault, dev):
    job = make_job("copy")
    old = finished_run(job, "vault", vault)
    other = make_job("other")
    finished_run(other, "gone")  # its context was deleted since
    client = client_for(person("op", "operator"))
    hidden = client.post(f"/api/v1/jobs/{job.pk}/restart", {}, format="json")
    missing = client.post(f"/api/v1/jobs/{other.pk}/restart", {}, format="json")
    assert answer(hidden, "vault") == answer(missing, "gone")
    assert hidden.status_code == 400
    named = client.post(f"/api/v1/jobs/{job.pk}/restart", {"context": "vault"}, format="json")
    named_missing = client.post(f"/api/v1/jobs/{job.pk}/restart", {"context": MISSING}, format="json")
    assert_same_as_missing(named, named_missing)
    assert Execution.objects.count() == 2 and not Execution.objects.filter(parent=old).exists()
    assert not AuditEvent.objects.filter(action="restart").exists()


def test_a_member_restarts_a_run_of_the_context(vault):
    job = make_job("copy")
    old = finished_run(job, "vault", vault)
    client = client_for(person("op", "operator", inside=True))
    response = client.post(f"/api/v1/jobs/{job.pk}/restart", {}, format="json")
    assert response.status_code == 202, response.content
    assert Execution.objects.get(parent=old).context_name == "vault"


# --- pages and the admin --------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_start_page_neither_offers_nor_accepts_a_hidden_context(vault, dev):
    job = make_job("copy")
    client = signed_in(person("op", "operator"))
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'value="dev"' in page and "vault" not in page
    hidden = client.post(f"/jobs/{job.pk}/start/", {"context": "vault", "parameters": ""})
    missing = client.post(f"/jobs/{job.pk}/start/", {"context": MISSING, "parameters": ""})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.context["start_form"].errors["context"] == [
        error.replace(MISSING, "vault") for error in missing.context["start_form"].errors["context"]
    ]
    assert nothing_started()


def test_the_start_page_refuses_a_job_whose_default_context_is_hidden(vault):
    job = make_job("payroll", default_context=vault)
    response = signed_in(person("op", "operator")).post(
        f"/jobs/{job.pk}/start/", {"context": "", "parameters": ""}
    )
    assert response.status_code == 400
    assert "context you may not use" in str(response.context["start_form"].errors["context"])
    assert nothing_started()


def test_the_restart_button_refuses_a_run_of_the_hidden_context(vault):
    old = finished_run(make_job("copy"), "vault", vault)
    response = signed_in(person("op", "operator")).post(f"/executions/{old.pk}/restart/")
    assert response.status_code == 400
    assert Execution.objects.count() == 1
    assert not AuditEvent.objects.filter(action="restart").exists()


def test_the_start_page_works_for_a_member(vault):
    job = make_job("payroll", default_context=vault)
    response = signed_in(person("op", "operator", inside=True)).post(
        f"/jobs/{job.pk}/start/", {"context": "", "parameters": ""}
    )
    assert response.status_code == 302
    assert Execution.objects.get().context_name == "vault"


def admin_job_form(job: Job, default_context: str) -> dict:
    return {
        "name": job.name,
        "description": "via the admin",
        "default_context": default_context,
        "config": "{}",
        "components-TOTAL_FORMS": "0",
        "components-INITIAL_FORMS": "0",
        "upstream_links-TOTAL_FORMS": "0",
        "upstream_links-INITIAL_FORMS": "0",
    }


def test_the_admin_neither_offers_nor_accepts_a_hidden_default_context(vault, dev):
    job = make_job("copy", components=[])
    client = signed_in(person("ed", "editor", staff=True))
    form = client.get(f"/admin/jobs/job/{job.pk}/change/").context["adminform"].form
    assert list(form.fields["default_context"].queryset) == [dev]
    response = client.post(f"/admin/jobs/job/{job.pk}/change/", admin_job_form(job, str(vault.pk)))
    assert response.status_code == 200  # the form again, with the error
    assert "default_context" in response.context["adminform"].form.errors
    job.refresh_from_db()
    assert job.default_context is None and job.description == ""


def test_a_job_that_runs_in_the_hidden_context_is_read_only_in_the_admin(vault, dev):
    job = make_job("payroll", components=[], default_context=vault)
    client = signed_in(person("ed", "editor", staff=True))
    response = client.post(f"/admin/jobs/job/{job.pk}/change/", admin_job_form(job, str(dev.pk)))
    assert response.status_code == 403
    assert client.post(f"/admin/jobs/job/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    job.refresh_from_db()
    assert job.default_context == vault and job.description == ""


def test_a_member_edits_such_a_job_in_the_admin(vault):
    job = make_job("payroll", components=[], default_context=vault)
    client = signed_in(person("ed", "editor", inside=True, staff=True))
    response = client.post(f"/admin/jobs/job/{job.pk}/change/", admin_job_form(job, str(vault.pk)))
    assert response.status_code == 302, response.context["adminform"].form.errors
    job.refresh_from_db()
    assert job.description == "via the admin"


def test_the_admin_start_action_refuses_a_job_whose_default_context_is_hidden(vault):
    job = make_job("payroll", default_context=vault)
    client = signed_in(person("op", "operator", staff=True))
    response = client.post(
        "/admin/jobs/job/", {"action": "start_jobs", "_selected_action": [job.pk]}, follow=True
    )
    assert "not started" in response.content.decode()
    assert nothing_started()


def test_the_admin_hides_the_context_and_its_credentials_from_outsiders(vault, dev):
    client = signed_in(person("ed", "editor", staff=True))
    assert list(client.get("/admin/contexts/context/").context["cl"].queryset) == [dev]
    assert client.get(f"/admin/contexts/context/{vault.pk}/change/").status_code == 302
    assert list(client.get("/admin/contexts/credential/").context["cl"].queryset) == []


# --- runs the system starts -----------------------------------------------------------------


def test_a_scheduled_run_uses_the_jobs_default_context_even_when_restricted(vault):
    job = make_job("payroll", default_context=vault, config={"schedule": "0 2 * * *"})
    execution = start_scheduled_run(job.pk)
    assert execution is not None and execution.context_name == "vault"


def test_a_scheduled_run_does_not_use_a_restricted_global_default_context(vault):
    vault.is_default = True
    vault.save()
    job = make_job("copy", config={"schedule": "0 2 * * *"})
    assert start_scheduled_run(job.pk) is None
    assert not Execution.objects.exists()


def test_a_downstream_job_anyone_may_edit_does_not_inherit_a_restricted_context(vault):
    upstream = make_job("extract")
    downstream = make_job("dump")
    JobDependency.objects.create(upstream=upstream, downstream=downstream, condition="always")
    run = finished_run(upstream, "vault", vault)
    assert start_downstream_jobs(run) == []
    assert not Execution.objects.filter(job=downstream).exists()
    assert run.logs.filter(level="warning", message__contains="may not use context 'vault'").exists()


@pytest.mark.parametrize("tie", ["default_context", "allowed_groups"])
def test_a_downstream_job_tied_to_the_context_inherits_it(vault, tie):
    upstream = make_job("extract")
    downstream = make_job("load")
    if tie == "default_context":
        downstream.default_context = vault
        downstream.save()
    else:
        downstream.allowed_groups.add(Group.objects.get(name="finance"))
    JobDependency.objects.create(upstream=upstream, downstream=downstream, condition="always")
    started = start_downstream_jobs(finished_run(upstream, "vault", vault))
    assert [execution.context_name for execution in started] == ["vault"]


def test_a_retry_is_refused_once_its_starter_left_the_group(vault):
    member = person("op", "operator", inside=True)
    job = make_job("copy", config={"max_retries": 1, "retry_delay_seconds": 0})
    failed = Execution.objects.create(
        job=job, state=State.FAILED, context=vault, context_name="vault", started_by=member
    )
    member.groups.remove(Group.objects.get(name="finance"))
    assert schedule_retry(failed) is None
    assert Execution.objects.count() == 1


def test_runjob_is_a_local_admin_tool_and_is_not_grant_checked(vault):
    job = make_job("copy")
    call_command("runjob", job.name, "--context", "vault")
    assert Execution.objects.get().context_name == "vault"
