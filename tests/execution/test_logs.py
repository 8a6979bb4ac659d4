"""GET /api/v1/jobs/{id}/logs and /executions/{exec_id}/logs (cursor `after`, filters)."""

import pytest

from execution.control import start_execution
from execution.models import ExecutionLog
from tests.api_base import assert_error_body
from tests.execution.conftest import csv_copy_components, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(copy_job):
    execution, _ = start_execution(copy_job)
    for level, component, message in [
        ("info", "", "Started"),
        ("debug", "rows", "detail"),
        ("warning", "rows", "odd value"),
        ("error", "out", "cannot write"),
    ]:
        ExecutionLog.objects.create(execution=execution, level=level, component=component, message=message)
    return execution


def messages(body):
    return [line["message"] for line in body["results"]]


def test_logs_come_in_order_with_a_cursor_for_tailing(reader_client, copy_job, logged):
    url = f"/api/v1/jobs/{copy_job.pk}/logs"
    first = reader_client.get(url, {"page_size": 2}).json()
    assert messages(first) == ["Started", "detail"] and first["more"] is True
    rest = reader_client.get(url, {"after": first["last_id"]}).json()
    assert messages(rest) == ["odd value", "cannot write"] and rest["more"] is False
    ExecutionLog.objects.create(execution=logged, message="new line")
    tail = reader_client.get(rest["next"]).json()
    assert messages(tail) == ["new line"]
    assert reader_client.get(tail["next"]).json()["results"] == []


def test_logs_filter_by_level_min_level_and_component(reader_client, copy_job, logged):
    url = f"/api/v1/jobs/{copy_job.pk}/logs"
    assert messages(reader_client.get(url, {"level": "warning,error"}).json()) == [
        "odd value",
        "cannot write",
    ]
    assert messages(reader_client.get(url, {"min_level": "warning"}).json()) == ["odd value", "cannot write"]
    assert messages(reader_client.get(url, {"component": "rows"}).json()) == ["detail", "odd value"]


def test_logs_of_a_given_execution(reader_client, copy_job, logged):
    url = f"/api/v1/jobs/{copy_job.pk}/executions/{logged.pk}/logs"
    body = reader_client.get(url).json()
    assert body["execution"] == logged.pk and len(body["results"]) == 4


@pytest.mark.parametrize(
    "params, field",
    [({"level": "loud"}, "level"), ({"min_level": "x"}, "min_level"), ({"after": "last"}, "after")],
)
def test_bad_filters_are_a_400_naming_the_parameter(reader_client, copy_job, logged, params, field):
    assert_error_body(reader_client.get(f"/api/v1/jobs/{copy_job.pk}/logs", params), 400, field)


def test_logs_of_another_jobs_execution_are_a_404(reader_client, copy_job, logged, data_root):
    other = make_job("other", csv_copy_components())
    assert_error_body(reader_client.get(f"/api/v1/jobs/{other.pk}/executions/{logged.pk}/logs"), 404)


def test_anonymous_gets_401(anon_client, copy_job, logged):
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/logs"), 401)
    assert_error_body(anon_client.get(f"/api/v1/jobs/{copy_job.pk}/executions/{logged.pk}/logs"), 401)
