"""What the task does with a run: outcomes, errors, logs, rejects, secrets."""

import pytest
from django_q.models import OrmQ

from contexts.models import Parameter
from contexts.resolution import RunInputError
from execution.control import RunRequest, start_execution
from execution.models import Execution
from execution.tasks import run_execution
from execution.worker import run_in_foreground
from schemas.models import Schema, SchemaField, ValidationRule
from tests.execution.conftest import csv_copy_components, csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db


def run(job, **options) -> Execution:
    return run_queued(start_execution(job, RunRequest(**options))[0].pk)


def test_a_duplicate_delivery_of_the_task_does_not_run_again(copy_job):
    execution, _ = start_execution(copy_job)
    run_execution(execution.pk)
    assert run_execution(execution.pk) == "not claimed"
    assert execution.logs.filter(message__startswith="Started").count() == 1


def test_a_failing_component_fails_the_run_and_is_named(data_root):
    job = make_job("missing", csv_copy_components(source="absent.csv"))
    execution = run(job)
    assert execution.state == "failed"
    assert execution.error["component"] == "rows"
    error = execution.errors.get()
    assert error.component == "rows" and "absent.csv" in error.message
    assert execution.finished_at and execution.logs.filter(level="error", component="rows").exists()


def test_logs_written_before_a_failure_survive_the_rolled_back_load(data_root):
    (data_root / "in.csv").write_text(csv_rows(5000) + "oops,not,a,row,at,all\n")
    job = make_job("ragged", csv_copy_components(), batch_size=100)
    execution = run(job)
    assert execution.state == "failed", execution.error
    assert not (data_root / "out.csv").exists()
    messages = list(execution.logs.values_list("message", flat=True))
    assert any(m.startswith("Started") for m in messages) and "Reading." in messages


def test_a_secret_parameter_outside_a_secret_field_fails_the_run_without_showing_it(data_root, context_dev):
    (data_root / "plain").mkdir()
    token = Parameter(context=context_dev, name="token", type="string", value="plain")
    token.save()
    job = make_job("leaky", csv_copy_components(source="${token}/in.csv"))
    execution, _ = start_execution(job, RunRequest(context_name="dev"))
    # Made secret after the run was queued: the worker checks again.
    token.type = "secret"
    token.set_value("hunter2-very-secret")
    token.save()
    execution = run_queued(execution.pk)
    assert execution.state == "failed"
    assert "components.rows.config.path" in execution.error["message"]
    stored = [execution.error["message"], *execution.logs.values_list("message", flat=True)]
    stored += list(execution.errors.values_list("message", flat=True))
    assert not any("hunter2" in text for text in stored), stored


def test_starting_with_a_secret_in_a_file_path_is_refused(data_root, context_dev):
    secret = Parameter(context=context_dev, name="token", type="secret")
    secret.set_value("hunter2-very-secret")
    secret.save()
    job = make_job("leaky", csv_copy_components(source="${token}/in.csv"))
    with pytest.raises(RunInputError) as refused:
        start_execution(job, RunRequest(context_name="dev"))
    assert list(refused.value.details) == ["components.rows.config.path"]
    assert "hunter2" not in str(refused.value)
    assert not Execution.objects.exists()


def test_a_run_past_its_timeout_fails_and_rolls_back(data_root):
    (data_root / "in.csv").write_text(csv_rows(1000))
    # Below the API's minimum of 1 s, so the deadline has passed at the first batch boundary.
    job = make_job("slow", csv_copy_components(), batch_size=100, timeout_seconds=0)
    execution = run(job)
    assert execution.state == "failed"
    assert "timeout" in execution.error["message"]
    assert not (data_root / "out.csv").exists()


@pytest.fixture
def positive_amounts(db):
    schema = Schema.objects.create(name="positive_amounts")
    SchemaField.objects.create(schema=schema, name="id", type="integer")
    SchemaField.objects.create(schema=schema, name="amount", type="number")
    ValidationRule.objects.create(
        schema=schema, name="positive", expression="amount > 10", message="too small"
    )
    return schema


def test_rejected_rows_are_kept_per_component_and_downloadable_as_csv(
    operator_client, data_root, positive_amounts
):
    (data_root / "in.csv").write_text("id,amount\n1,5\n2,50\n3,7\n")
    job = make_job(
        "checked",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
            {
                "name": "check",
                "type": "validate",
                "inputs": ["rows"],
                "config": {"schema": "positive_amounts"},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["check"], "config": {"path": "out.csv"}},
            {
                "name": "total",
                "type": "metric",
                "inputs": ["check"],
                "config": {"name": "n", "value": "count(*)"},
            },
        ],
    )
    execution = run(job)
    assert execution.state == "succeeded", execution.error
    assert execution.rows_rejected == 2
    assert [m["value"] for m in execution.custom_metrics] == [1]
    series = operator_client.get("/api/v1/metrics/custom/?name=n").json()["series"]
    assert [(s["last"], s["labels"]["job"]) for s in series] == [(1, "checked")]
    rejects = execution.rejects.get()
    assert rejects.component == "check" and rejects.rows == 2 and len(rejects.sample) == 2

    listed = operator_client.get(f"/api/v1/jobs/{job.pk}/errors").json()["rejects"]
    assert listed[0]["component"] == "check" and listed[0]["rows"] == 2
    response = operator_client.get(listed[0]["download"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,amount,_reject_reason")
    assert len(text.splitlines()) == 3

    missing = operator_client.get(f"/api/v1/jobs/{job.pk}/executions/{execution.pk}/rejects/nope.csv")
    assert missing.status_code == 404
    execution.delete()
    assert not rejects.file_path.exists(), "deleting the execution removes its rejects file"


def test_a_foreground_run_is_recorded_like_any_other(copy_job, data_root):
    seen = []
    execution = run_in_foreground(copy_job, on_progress=seen.append)
    assert execution.trigger == "cli" and execution.state == "succeeded"
    assert execution.rows_written == 10 and (data_root / "out.csv").exists()
    assert seen and seen[-1].rows_read == 10
    assert not OrmQ.objects.exists(), "nothing was queued for a worker"
