"""POST /api/v1/jobs/{id}/stop|pause|resume|restart (the worker side is in
test_qcluster_control.py; here the requests and the state machine)."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from execution.control import start_execution
from execution.models import Execution, State, this_worker_id
from execution.worker import run_claimed
from tests.api_base import assert_error_body
from tests.execution.conftest import run_queued

pytestmark = pytest.mark.django_db


def post(client, job, action, body=None):
    return client.post(f"/api/v1/jobs/{job.pk}/{action}", body or {}, format="json")


def running(job) -> Execution:
    """A queued run claimed by this process, as a worker would."""
    execution, _ = start_execution(job)
    assert execution.claim(this_worker_id())
    return execution


# --- stop -------------------------------------------------------------------------


def test_stop_asks_a_running_execution_to_stop_at_the_next_batch(operator_client, copy_job):
    running(copy_job)
    response = post(operator_client, copy_job, "stop")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "stopping"
    assert response.json()["requested_action"] == "stop"


def test_a_stopping_run_rolls_back_at_its_first_batch_boundary(operator_client, copy_job, data_root):
    execution = running(copy_job)
    post(operator_client, copy_job, "stop")
    assert run_claimed(Execution.objects.get(pk=execution.pk), this_worker_id()) == "stopped"
    assert not (data_root / "out.csv").exists()
    assert execution.logs.filter(message__contains="Stopped").exists()


def test_stopping_a_run_no_worker_has_taken_stops_it_at_once(operator_client, copy_job, data_root):
    execution, _ = start_execution(copy_job)
    assert post(operator_client, copy_job, "stop").json()["state"] == "stopped"
    assert run_queued(execution.pk).state == "stopped", "the task must not run a stopped execution"
    assert not (data_root / "out.csv").exists()


def test_stop_without_an_active_execution_is_a_409(operator_client, copy_job):
    assert_error_body(post(operator_client, copy_job, "stop"), 409)
    run_queued(start_execution(copy_job)[0].pk)
    assert_error_body(post(operator_client, copy_job, "stop"), 409)


def test_stop_of_a_named_execution_that_is_not_active_is_a_409(operator_client, copy_job):
    execution = run_queued(start_execution(copy_job)[0].pk)
    response = post(operator_client, copy_job, "stop", {"execution": execution.pk})
    assert_error_body(response, 409)
    assert f"#{execution.pk}" in response.json()["error"]["message"]


def test_stop_with_a_bad_execution_id_is_a_400(operator_client, copy_job):
    assert_error_body(post(operator_client, copy_job, "stop", {"execution": "first"}), 400, "execution")


def test_with_several_active_runs_the_execution_must_be_named(operator_client, copy_job):
    copy_job.config = {"max_concurrent": 2}
    copy_job.save()
    first, second = running(copy_job), running(copy_job)
    assert_error_body(post(operator_client, copy_job, "stop"), 409)
    response = post(operator_client, copy_job, "stop", {"execution": second.pk})
    assert response.json()["id"] == second.pk
    assert Execution.objects.get(pk=first.pk).state == State.RUNNING


# --- pause / resume -----------------------------------------------------------------


def test_pause_asks_a_running_execution_to_pause(operator_client, copy_job):
    running(copy_job)
    response = post(operator_client, copy_job, "pause")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "pausing"


def test_pause_of_a_queued_execution_is_a_409(operator_client, copy_job):
    start_execution(copy_job)
    assert_error_body(post(operator_client, copy_job, "pause"), 409)


def test_resume_before_the_pause_took_effect_cancels_it(operator_client, copy_job):
    execution = running(copy_job)
    post(operator_client, copy_job, "pause")
    assert post(operator_client, copy_job, "resume").json()["state"] == "running"
    assert Execution.objects.get(pk=execution.pk).requested_action == ""


def test_resume_of_a_paused_execution_hands_it_back_to_its_worker(operator_client, copy_job):
    execution = running(copy_job)
    post(operator_client, copy_job, "pause")
    assert execution.mark_paused(this_worker_id())
    response = post(operator_client, copy_job, "resume")
    assert response.json()["state"] == "queued"
    assert execution.reclaim(this_worker_id())
    assert not Execution.objects.get(pk=execution.pk).claim("another-worker"), (
        "a duplicate task must not take it"
    )


def test_resume_without_a_paused_execution_is_a_409(operator_client, copy_job):
    running(copy_job)
    assert_error_body(post(operator_client, copy_job, "resume"), 409)


# --- restart ---------------------------------------------------------------------------


def test_restart_runs_the_latest_execution_again_linked_to_it(operator_client, copy_job, operator):
    first = run_queued(start_execution(copy_job)[0].pk)
    response = post(operator_client, copy_job, "restart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["parent"] == first.pk and body["state"] == "queued" and body["started_by"] == "operator"
    assert run_queued(body["id"]).state == "succeeded"


def test_restart_reuses_the_parameters_of_the_restarted_run(operator_client, copy_job, context_dev):
    context_dev.parameters.create(name="min_id", type="integer", value=0)
    response = operator_client.post(
        f"/api/v1/jobs/{copy_job.pk}/start", {"context": "dev", "parameters": {"min_id": 7}}, format="json"
    )
    run_queued(response.json()["id"])
    restarted = post(operator_client, copy_job, "restart").json()
    assert restarted["parameters"] == {"min_id": 7} and restarted["context"] == "dev"


def test_restart_of_an_active_execution_is_a_409(operator_client, copy_job):
    running(copy_job)
    assert_error_body(post(operator_client, copy_job, "restart"), 409)


def test_restart_of_a_job_that_never_ran_is_a_409(operator_client, copy_job):
    assert_error_body(post(operator_client, copy_job, "restart"), 409)


def test_restart_with_an_unknown_context_is_a_400(operator_client, copy_job):
    run_queued(start_execution(copy_job)[0].pk)
    assert_error_body(post(operator_client, copy_job, "restart", {"context": "nope"}), 400, "context")


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["stop", "pause", "resume", "restart"])
def test_a_reader_without_the_control_permission_gets_403(reader_client, copy_job, action):
    execution = running(copy_job)
    assert_error_body(post(reader_client, copy_job, action), 403)
    assert Execution.objects.get(pk=execution.pk).state == State.RUNNING


@pytest.mark.parametrize("action", ["stop", "pause", "resume", "restart"])
def test_anonymous_gets_401(anon_client, copy_job, action):
    assert_error_body(post(anon_client, copy_job, action), 401)


# --- audit and object grants ------------------------------------------------------------


def test_every_control_action_is_audited_with_who(operator_client, copy_job):
    started = operator_client.post(f"/api/v1/jobs/{copy_job.pk}/start", {}, format="json").json()
    Execution.objects.get(pk=started["id"]).claim(this_worker_id())
    assert post(operator_client, copy_job, "pause").status_code == 202
    assert post(operator_client, copy_job, "stop").status_code == 202
    events = AuditEvent.objects.filter(object_type="execution.execution", object_id=str(started["id"]))
    assert list(events.order_by("id").values_list("action", "username")) == [
        ("start", "operator"),
        ("pause", "operator"),
        ("stop", "operator"),
    ]


def test_a_job_hidden_by_its_groups_is_a_404_for_control_and_monitoring(operator_client, copy_job):
    copy_job.allowed_groups.add(Group.objects.create(name="finance"))
    assert_error_body(post(operator_client, copy_job, "start"), 404)
    assert_error_body(operator_client.get(f"/api/v1/jobs/{copy_job.pk}/status"), 404)
    assert not Execution.objects.exists()
