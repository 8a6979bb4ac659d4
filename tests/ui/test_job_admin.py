"""The admin as the management UI: creating the demo job by hand, and the
start/pause/resume/stop/validate actions on selected jobs."""

import json

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent
from execution.models import Execution, State, Trigger
from jobs.models import Job
from monitoring import setup
from tests.conftest import user_in_role
from tests.ui.conftest import running_execution, signed_in

CHANGELIST = "/admin/jobs/job/"


@pytest.fixture
def admin_client(admin_user):
    return signed_in(admin_user)


def inline_rows(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def add_job_form(name: str, components: list[dict]) -> dict:
    rows = [
        {
            "position": str(position),
            "name": component["name"],
            "type": component["type"],
            # A multi-select: one value per input.
            "inputs": component["inputs"],
            "config": json.dumps(component["config"]),
        }
        for position, component in enumerate(components)
    ]
    return {
        "name": name,
        "description": "made in the admin",
        "default_context": "",
        "config": "{}",
        **inline_rows("components", rows),
        **inline_rows("upstream_links", []),
    }


def test_an_admin_creates_a_job_from_the_demo_data_and_can_start_it_from_its_page(admin_client, data_root):
    setup.ensure_default_context()
    setup.copy_sample_data()
    assert admin_client.get("/admin/jobs/job/add/").status_code == 200
    response = admin_client.post("/admin/jobs/job/add/", add_job_form("my_flights", setup.demo_components()))
    assert response.status_code == 302, response.context["errors"] if response.context else response
    job = Job.objects.get(name="my_flights")
    assert job.component_dicts() == setup.demo_components()
    assert AuditEvent.objects.filter(action="create", object_type="jobs.job", object_id=str(job.pk)).exists()

    response = admin_client.post(f"/jobs/{job.pk}/start/", {"context": "", "parameters": ""})
    assert response.status_code == 302
    assert Execution.objects.get(job=job).context_name == "default"


def test_a_broken_graph_is_shown_on_the_form_and_nothing_is_saved(admin_client, data_root):
    components = setup.demo_components()
    components[1]["inputs"] = ["nowhere"]
    response = admin_client.post("/admin/jobs/job/add/", add_job_form("broken", components))
    assert response.status_code == 200
    assert "nowhere" in response.content.decode()
    assert not Job.objects.filter(name="broken").exists()


def run_action(client, action: str, *jobs):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [job.pk for job in jobs]}, follow=True
    )


def test_start_action_queues_a_run_per_job_and_reports_problems(admin_client, demo_job):
    empty = Job.objects.create(name="empty")
    response = run_action(admin_client, "start_jobs", demo_job, empty)
    texts = [str(message) for message in response.context["messages"]]
    execution = Execution.objects.get()
    assert (execution.job, execution.trigger) == (demo_job, Trigger.UI)
    assert f"{demo_job.name}: execution #{execution.pk} is queued." in texts
    assert any(text.startswith("empty: not started.") and "has no components" in text for text in texts)
    assert AuditEvent.objects.filter(action="start", object_id=str(execution.pk)).exists()


def test_pause_resume_and_stop_actions_control_the_active_run(admin_client, demo_job):
    execution = running_execution(demo_job)
    run_action(admin_client, "pause_jobs", demo_job)
    execution.refresh_from_db()
    assert execution.state == State.PAUSING
    run_action(admin_client, "resume_jobs", demo_job)
    execution.refresh_from_db()
    assert execution.state == State.RUNNING
    response = run_action(admin_client, "stop_jobs", demo_job)
    execution.refresh_from_db()
    assert execution.state == State.STOPPING
    assert f"{demo_job.name}: execution #{execution.pk} will stop at the next batch." in [
        str(message) for message in response.context["messages"]
    ]
    assert [
        e.action for e in AuditEvent.objects.filter(object_type="execution.execution").order_by("id")
    ] == [
        "pause",
        "resume",
        "stop",
    ]


def test_a_control_action_without_an_active_run_says_so(admin_client, demo_job):
    response = run_action(admin_client, "pause_jobs", demo_job)
    assert any("has no running execution to pause" in str(m) for m in response.context["messages"])


def test_validate_action_reports_valid_and_invalid_jobs(admin_client, demo_job):
    broken = Job.objects.create(name="broken")
    broken.replace_components(
        [{"name": "rows", "type": "csv_source", "inputs": [], "config": {"path": "${missing}.csv"}}]
    )
    response = run_action(admin_client, "validate_jobs", demo_job, broken)
    texts = [str(message) for message in response.context["messages"]]
    assert f"{demo_job.name} is valid and ready to run." in texts
    assert any(text.startswith("broken would not run:") and "missing" in text for text in texts)
    assert not Execution.objects.exists()


def test_staff_without_the_operator_role_get_no_control_actions(demo_job):
    editor = user_in_role("editor-only", None)
    editor.is_staff = True
    editor.save()
    editor.user_permissions.add(*_permissions("view_job", "change_job"))
    client = signed_in(editor)
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    names = [name for name, _ in actions]
    assert "validate_jobs" in names and "start_jobs" not in names and "stop_jobs" not in names
    run_action(client, "start_jobs", demo_job)
    assert not Execution.objects.exists()


def test_restricted_jobs_are_hidden_from_staff_outside_their_groups(demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    staff = user_in_role("staff", None)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*_permissions("view_job"))
    client = signed_in(staff)
    assert list(client.get(CHANGELIST).context["cl"].queryset) == []
    assert client.get(f"/admin/jobs/job/{demo_job.pk}/change/").status_code == 302


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="jobs", codename__in=codenames)
