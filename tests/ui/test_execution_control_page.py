from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from execution.models import Action, Execution, State
from tests.ui.conftest import running_execution


def control(client, execution, action):
    return client.post(f"/executions/{execution.pk}/{action}/")


def test_it_needs_a_signed_in_user(client, demo_job):
    execution = running_execution(demo_job)
    response = control(client, execution, "pause")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    execution.refresh_from_db()
    assert execution.state == State.RUNNING


def test_an_operator_pauses_resumes_and_stops_and_each_is_audited(operator_session, demo_job):
    execution = running_execution(demo_job)
    response = control(operator_session, execution, "pause")
    assert response.status_code == 302 and response["Location"] == f"/executions/{execution.pk}/"
    execution.refresh_from_db()
    assert (execution.state, execution.requested_action) == (State.PAUSING, Action.PAUSE)

    control(operator_session, execution, "resume")
    execution.refresh_from_db()
    assert execution.state == State.RUNNING

    control(operator_session, execution, "stop")
    execution.refresh_from_db()
    assert (execution.state, execution.requested_action) == (State.STOPPING, Action.STOP)
    events = AuditEvent.objects.filter(object_type="execution.execution", object_id=str(execution.pk))
    events = events.order_by("id")
    assert [(e.action, e.before["state"], e.after["state"]) for e in events] == [
        ("pause", "running", "pausing"),
        ("resume", "pausing", "running"),
        ("stop", "running", "stopping"),
    ]


def test_restart_queues_a_new_run_linked_to_the_old_one(operator_session, demo_job):
    old = Execution.objects.create(job=demo_job, state=State.FAILED, context_name="default")
    response = control(operator_session, old, "restart")
    new = Execution.objects.exclude(pk=old.pk).get()
    assert response["Location"] == f"/executions/{new.pk}/"
    assert (new.parent, new.state) == (old, State.QUEUED)
    assert AuditEvent.objects.get(action="restart").after == {"restarts": old.pk, "context": "default"}


def test_an_action_the_state_does_not_allow_is_a_conflict(operator_session, demo_job):
    execution = Execution.objects.create(job=demo_job, state=State.SUCCEEDED)
    response = control(operator_session, execution, "pause")
    assert response.status_code == 409
    assert "has no active execution" in response.content.decode()
    execution.refresh_from_db()
    assert execution.state == State.SUCCEEDED
    assert not AuditEvent.objects.filter(action="pause").exists()


def test_a_viewer_may_not_control_a_run(viewer_session, demo_job):
    execution = running_execution(demo_job)
    assert control(viewer_session, execution, "pause").status_code == 403
    execution.refresh_from_db()
    assert execution.state == State.RUNNING


def test_a_run_of_a_restricted_job_cannot_be_controlled_by_outsiders(operator_session, demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    execution = running_execution(demo_job)
    assert control(operator_session, execution, "stop").status_code == 404
    execution.refresh_from_db()
    assert execution.state == State.RUNNING


def test_an_unknown_action_is_not_found(operator_session, demo_job):
    execution = running_execution(demo_job)
    assert control(operator_session, execution, "explode").status_code == 404
