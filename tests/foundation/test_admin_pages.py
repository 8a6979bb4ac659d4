"""Every model registered in the admin lists, and forms answer bad input next to the field."""

import pytest
from django.contrib import admin

from etlsite.models import SystemSetting
from execution.models import Execution, ExecutionLog
from jobs.models import Job
from tests.jobs.factories import make_job


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda m: f"{m._meta.app_label}.{m._meta.model_name}"
)
def test_every_registered_model_has_a_working_list_page(admin_browser, model):
    meta = model._meta
    response = admin_browser.get(f"/admin/{meta.app_label}/{meta.model_name}/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_an_execution_page_shows_its_log_tail(admin_browser):
    execution = Execution.objects.create(job=make_job("j"))
    ExecutionLog.objects.create(execution=execution, level="info", component="rows", message="Read 60 rows.")
    page = admin_browser.get(f"/admin/execution/execution/{execution.pk}/change/").content.decode()
    assert "[rows] Read 60 rows." in page
    assert "All log lines" in page


@pytest.mark.django_db
def test_a_bad_system_setting_is_refused_next_to_the_field(admin_browser):
    response = admin_browser.post(
        "/admin/etlsite/systemsetting/add/", {"name": "log_retention_days", "value": '"soon"'}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["value"]
    assert not SystemSetting.objects.exists()


@pytest.mark.django_db
def test_a_job_with_a_broken_graph_is_refused_by_the_admin_form(admin_browser):
    response = admin_browser.post(
        "/admin/jobs/job/add/",
        {
            "name": "broken",
            "description": "",
            "config": "{}",
            "components-TOTAL_FORMS": "1",
            "components-INITIAL_FORMS": "0",
            "components-0-position": "0",
            "components-0-name": "out",
            "components-0-type": "csv_sink",
            "components-0-inputs": '["ghost"]',
            "components-0-config": '{"path": "o.csv"}',
            "upstream_links-TOTAL_FORMS": "0",
            "upstream_links-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "names no component of this job" in response.content.decode()
    assert not Job.objects.filter(name="broken").exists()
