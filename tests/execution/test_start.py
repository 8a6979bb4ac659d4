"""POST /api/v1/jobs/{id}/start"""

import pytest
from django.db import transaction
from django_q.models import OrmQ

from contexts.models import Credential, Parameter
from execution.control import start_execution
from execution.models import Execution
from tests.api_base import assert_error_body
from tests.execution.conftest import make_job, run_queued

pytestmark = pytest.mark.django_db


def start(client, job, body=None, **headers):
    return client.post(f"/api/v1/jobs/{job.pk}/start", body or {}, format="json", **headers)


def test_it_queues_an_execution_and_answers_202(operator_client, copy_job, operator):
    response = start(operator_client, copy_job)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["job"] == copy_job.pk and body["state"] == "queued" and body["trigger"] == "api"
    assert body["started_by"] == "operator"
    execution = Execution.objects.get(pk=body["id"])
    assert execution.task_id
    assert OrmQ.objects.count() == 1, "one task on the ORM broker"


def test_a_queued_run_is_carried_out_by_the_task(operator_client, copy_job, data_root):
    execution = run_queued(start(operator_client, copy_job).json()["id"])
    assert execution.state == "succeeded", execution.error
    assert execution.rows_read == 10 and execution.rows_written == 10
    assert (data_root / "out.csv").read_text().count("\n") == 11


def test_the_same_idempotency_key_returns_the_same_execution(operator_client, copy_job):
    first = start(operator_client, copy_job, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = start(operator_client, copy_job, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Execution.objects.count() == 1


def test_a_second_start_while_running_is_a_409_naming_the_running_execution(operator_client, copy_job):
    running = start(operator_client, copy_job).json()["id"]
    response = start(operator_client, copy_job)
    assert_error_body(response, 409)
    assert f"#{running}" in response.json()["error"]["message"]
    assert response.json()["error"]["details"]["active_executions"] == [running]
    assert Execution.objects.count() == 1


def test_max_concurrent_allows_parallel_runs_up_to_the_limit(operator_client, copy_job):
    copy_job.config = {"max_concurrent": 2}
    copy_job.save()
    assert start(operator_client, copy_job).status_code == 202
    assert start(operator_client, copy_job).status_code == 202
    assert_error_body(start(operator_client, copy_job), 409)


def test_an_unknown_context_is_a_400_and_queues_nothing(operator_client, copy_job):
    response = start(operator_client, copy_job, {"context": "nope"})
    assert_error_body(response, 400, "context")
    assert "nope" in response.json()["error"]["message"]
    assert not Execution.objects.exists() and not OrmQ.objects.exists()


def test_an_unknown_parameter_is_a_400_naming_it(operator_client, copy_job, context_dev):
    response = start(operator_client, copy_job, {"context": "dev", "parameters": {"ghost": 1}})
    assert_error_body(response, 400, "parameters.ghost")
    assert not Execution.objects.exists()


def test_a_parameter_of_the_wrong_type_is_a_400(operator_client, copy_job, context_dev):
    Parameter.objects.create(context=context_dev, name="limit", type="integer", value=5)
    response = start(operator_client, copy_job, {"context": "dev", "parameters": {"limit": "many"}})
    assert_error_body(response, 400, "parameters.limit")
    assert not Execution.objects.exists()


def test_a_job_whose_credential_was_removed_is_a_400_naming_the_component(
    operator_client, data_root, context_dev
):
    job = make_job(
        "to_db",
        [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {
                "name": "load",
                "type": "postgres_sink",
                "inputs": ["rows"],
                "config": {"connection": "dw", "table": "t"},
            },
        ],
    )
    credential = Credential.objects.create(
        context=context_dev, name="dw", kind="postgres", config={"host": "x"}
    )
    credential.delete()
    response = start(operator_client, job, {"context": "dev"})
    assert_error_body(response, 400, "components.load.config.connection")
    assert not Execution.objects.exists()


def test_a_job_whose_graph_no_longer_validates_is_a_400(operator_client, data_root):
    job = make_job("broken", [{"name": "rows", "type": "no_such_type", "config": {}}])
    response = start(operator_client, job)
    assert_error_body(response, 400, "rows")
    assert not Execution.objects.exists()


def test_a_job_without_components_cannot_start(operator_client, data_root):
    assert_error_body(start(operator_client, make_job("empty", [])), 400, "components")


def test_unknown_body_fields_are_refused(operator_client, copy_job):
    assert_error_body(start(operator_client, copy_job, {"contxt": "dev"}), 400, "contxt")


def test_a_start_rolled_back_with_its_transaction_enqueues_nothing(copy_job):
    with pytest.raises(RuntimeError), transaction.atomic():
        start_execution(copy_job)
        assert OrmQ.objects.count() == 1
        raise RuntimeError("the surrounding request failed")
    assert not Execution.objects.exists()
    assert not OrmQ.objects.exists()


def test_a_missing_job_is_a_404(operator_client):
    assert_error_body(operator_client.post("/api/v1/jobs/999999/start", {}, format="json"), 404)


def test_a_reader_without_the_control_permission_gets_403(reader_client, copy_job):
    assert_error_body(start(reader_client, copy_job), 403)
    assert not Execution.objects.exists()


def test_anonymous_gets_401(anon_client, copy_job):
    assert_error_body(start(anon_client, copy_job), 401)
