import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django_q.models import Schedule

from contexts.models import Context
from jobs.models import Job
from monitoring.models import SystemState
from monitoring.setup import DEMO_JOB_NAME
from tests.api_base import assert_error_body
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/setup/initialize"


def _perms(role):
    return set(Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename"))


def test_it_creates_roles_context_demo_and_schedules_then_finds_them(admin_client, data_root):
    first = admin_client.post(URL, {}, format="json")
    assert first.status_code == 200, first.content
    report = first.json()
    assert report["roles"]["viewer"].startswith("created")
    assert report["default_context"] == "created"
    assert report["demo_job"] == "created"
    assert report["sample_data"]["outcome"] == "created"
    assert set(report["schedules"].values()) == {"created"}
    assert "admin" not in report  # the API never creates (or prints) an admin password
    again = admin_client.post(URL, {}, format="json").json()
    assert set(again["roles"].values()) == {"found"}
    assert again["default_context"] == "found"
    assert again["demo_job"] == "found"
    assert again["sample_data"]["outcome"] == "found"
    assert Group.objects.filter(name__in=["viewer", "operator", "editor", "admin"]).count() == 4
    assert Context.objects.get(is_default=True).name == "default"
    assert Schedule.objects.filter(func="monitoring.tasks.sample_resources").count() == 1
    assert Schedule.objects.get(func="monitoring.tasks.check_notifications").minutes == 1
    assert SystemState.current().initialized_at is not None


def test_roles_follow_the_security_model(admin_client, data_root):
    admin_client.post(URL, {"demo": False}, format="json")
    viewer, operator, editor, admin = (_perms(role) for role in ("viewer", "operator", "editor", "admin"))
    assert ("jobs", "view_job") in viewer and ("jobs", "change_job") not in viewer
    assert ("execution", "control_execution") in operator and ("jobs", "change_job") not in operator
    assert {("jobs", "add_job"), ("schemas", "change_schema"), ("contexts", "change_context")} <= editor
    assert ("contexts", "change_credential") not in editor
    assert ("monitoring", "change_notificationrule") in editor
    assert ("monitoring", "change_notificationchannel") not in editor
    assert ("monitoring", "view_notificationchannel") in viewer
    assert ("contexts", "change_credential") in admin and ("etlsite", "change_systemsetting") in admin
    assert viewer < operator < editor < admin


def test_a_removed_permission_is_given_back(admin_client, data_root):
    admin_client.post(URL, {"demo": False}, format="json")
    operator = Group.objects.get(name="operator")
    operator.permissions.remove(*operator.permissions.filter(codename="control_execution"))
    report = admin_client.post(URL, {"demo": False}, format="json").json()
    assert report["roles"]["operator"] == "found, 1 permissions added"
    assert ("execution", "control_execution") in _perms("operator")


def test_the_demo_job_is_a_valid_csv_pipeline_on_the_copied_sample(admin_client, data_root):
    admin_client.post(URL, {}, format="json")
    job = Job.objects.get(name=DEMO_JOB_NAME)
    assert [c["type"] for c in job.component_dicts()] == ["csv_source", "filter", "aggregate", "csv_sink"]
    assert (data_root / "demo" / "flights.csv").read_text().startswith("flight_date,carrier")
    assert (data_root / "demo" / "output").is_dir()


def test_demo_false_creates_no_demo_job(admin_client, data_root):
    report = admin_client.post(URL, {"demo": False}, format="json").json()
    assert "demo_job" not in report
    assert not Job.objects.filter(name=DEMO_JOB_NAME).exists()


def test_the_admin_role_may_initialize(admin_role_client, data_root):
    assert admin_role_client.post(URL, {"demo": False}, format="json").status_code == 200


def test_bad_input_is_a_400_and_creates_nothing(admin_client, data_root):
    assert_error_body(admin_client.post(URL, {"demo": "perhaps"}, format="json"), 400, "demo")
    assert_error_body(admin_client.post(URL, {"demoo": True}, format="json"), 400, "demoo")
    assert not Group.objects.exists()


def test_non_admins_may_not_initialize(anon_client, data_root):
    editor = make_user("editor", "jobs.add_job", "jobs.change_job")
    assert_error_body(client_for(editor).post(URL, {}, format="json"), 403)
    assert_error_body(anon_client.post(URL, {}, format="json"), 401)
    assert not Group.objects.exists()


def test_the_initialize_command_creates_an_admin_once(data_root, capsys):
    call_command("initialize", "--no-demo")
    first = capsys.readouterr().out
    assert "with password:" in first
    assert User.objects.filter(is_superuser=True).count() == 1
    call_command("initialize", "--no-demo")
    assert "with password:" not in capsys.readouterr().out
    assert User.objects.filter(is_superuser=True).count() == 1


def test_the_demo_job_runs_on_the_bundled_sample(admin_client, data_root):
    admin_client.post(URL, {}, format="json")
    call_command("runjob", DEMO_JOB_NAME)
    lines = (data_root / "demo" / "output" / "flights_by_carrier.csv").read_text().splitlines()
    assert lines[0] == "carrier,flights,avg_arr_delay"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["AA", "B6", "DL", "UA", "WN"]
