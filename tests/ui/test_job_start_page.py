from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from contexts.models import Context, Parameter
from execution.models import Execution, State, Trigger
from tests.jobs.factories import make_job
from tests.ui.conftest import running_execution


def start(client, job, **form):
    return client.post(f"/jobs/{job.pk}/start/", form)


def test_it_needs_a_signed_in_user(client, demo_job):
    response = start(client, demo_job)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Execution.objects.exists()


def test_an_operator_starts_a_run_and_lands_on_its_page(operator_session, operator, demo_job):
    response = start(operator_session, demo_job, context="", parameters="")
    execution = Execution.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/executions/{execution.pk}/"
    assert (execution.state, execution.trigger, execution.started_by) == (State.QUEUED, Trigger.UI, operator)
    assert execution.context_name == "default"
    event = AuditEvent.objects.get(action="start")
    assert (event.username, event.object_id, event.object_type) == (
        "operator",
        str(execution.pk),
        "execution.execution",
    )


def test_parameter_overrides_and_the_context_are_passed_to_the_run(operator_session, data_root, db):
    context = Context.objects.create(name="dev")
    Parameter.objects.create(context=context, name="min_a", type="integer", value=0)
    job = make_job("filtered", components=_pipeline_with_parameter())
    response = start(operator_session, job, context="dev", parameters="min_a = 5\n\n")
    assert response.status_code == 302
    execution = Execution.objects.get()
    assert (execution.context_name, execution.parameters) == ("dev", {"min_a": 5})


def test_an_unknown_parameter_is_shown_next_to_the_field_and_nothing_starts(operator_session, data_root, db):
    context = Context.objects.create(name="dev")
    Parameter.objects.create(context=context, name="min_a", type="integer", value=0)
    job = make_job("filtered", components=_pipeline_with_parameter())
    response = start(operator_session, job, context="dev", parameters="min_b=5")
    assert response.status_code == 400
    assert "min_b: Context &#x27;dev&#x27; has no parameter &#x27;min_b&#x27;" in response.content.decode()
    assert response.context["start_form"].errors["parameters"]
    assert not Execution.objects.exists() and not AuditEvent.objects.filter(action="start").exists()


def test_a_line_without_equals_is_refused(operator_session, demo_job):
    response = start(operator_session, demo_job, parameters="min_a 5")
    assert response.status_code == 400
    assert "Line 1: write name=value" in response.content.decode()
    assert not Execution.objects.exists()


def test_a_second_run_over_max_concurrent_is_a_conflict(operator_session, demo_job):
    running = running_execution(demo_job)
    response = start(operator_session, demo_job)
    assert response.status_code == 409
    assert f"#{running.pk} (running)" in response.content.decode()
    assert Execution.objects.count() == 1


def test_a_viewer_may_not_start_a_run(viewer_session, demo_job):
    response = start(viewer_session, demo_job)
    assert response.status_code == 403
    assert not Execution.objects.exists()


def test_a_restricted_job_cannot_be_started_by_outsiders(operator_session, demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    assert start(operator_session, demo_job).status_code == 404
    assert not Execution.objects.exists()


def test_a_get_is_not_allowed(operator_session, demo_job):
    assert operator_session.get(f"/jobs/{demo_job.pk}/start/").status_code == 405


def _pipeline_with_parameter():
    return [
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": 9}]}},
        {"name": "kept", "type": "filter", "inputs": ["rows"], "config": {"where": "a > ${min_a}"}},
        {"name": "out", "type": "csv_sink", "inputs": ["kept"], "config": {"path": "out.csv"}},
    ]
