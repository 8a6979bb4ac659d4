from django.contrib.auth.models import Group

from execution.models import (
    Execution,
    ExecutionError,
    ExecutionEvent,
    ExecutionLog,
    ExecutionRejects,
    State,
)
from tests.ui.conftest import running_execution


def test_it_needs_a_signed_in_user(client, demo_job):
    execution = running_execution(demo_job)
    response = client.get(f"/executions/{execution.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_shows_state_progress_counters_logs_and_timeline(viewer_session, demo_job):
    execution = running_execution(
        demo_job,
        counters={
            "flights": {"rows_in": 0, "rows_out": 40, "rows_rejected": 0, "batches": 2, "seconds": 0.25}
        },
    )
    ExecutionEvent.objects.create(execution=execution, from_state="queued", to_state="running", by="host:1:1")
    for number in range(3):
        ExecutionLog.objects.create(execution=execution, component="flights", message=f"batch {number} read")
    response = viewer_session.get(f"/executions/{execution.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<title>Execution #{execution.pk} of {demo_job.name} · etlsite</title>" in page
    assert 'data-field="state">running<' in page and 'value="40"' in page
    assert "<td>flights</td>" in page and ">0.2 s<" in page
    assert "[flights] batch 2 read" in page
    last_log = ExecutionLog.objects.order_by("-id").first().pk
    assert f'data-last-log="{last_log}"' in page
    assert "queued → running" in page
    assert "etlsite/live.js" in page


def test_it_shows_the_error_and_the_rejected_rows_with_a_csv_link(viewer_session, demo_job):
    execution = Execution.objects.create(
        job=demo_job,
        state=State.FAILED,
        error={"component": "flights", "field": "path", "location": "line 7", "message": "bad quote"},
    )
    ExecutionError.objects.create(
        execution=execution, component="departed", message="2 rows fail a rule", sample=[{"carrier": "X1"}]
    )
    ExecutionRejects.objects.create(
        execution=execution,
        component="checked",
        rows=2,
        path=f"{execution.pk}/checked.csv",
        sample=[{"carrier": "??", "_reject_reason": "carrier: pattern"}],
    )
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert "flights · path: </strong>bad quote" in page and "line 7" in page
    assert "2 rows fail a rule" in page
    assert f'href="/api/v1/jobs/{demo_job.pk}/executions/{execution.pk}/rejects/checked.csv"' in page
    assert '<th scope="col">_reject_reason</th>' in page and "carrier: pattern" in page


def test_a_viewer_sees_no_control_buttons(viewer_session, demo_job):
    execution = running_execution(demo_job)
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    for button in ("Pause", "Resume", "Stop", "Restart"):
        assert f">{button}</button>" not in page


def test_an_operator_sees_restart_on_a_finished_run(operator_session, demo_job):
    execution = Execution.objects.create(job=demo_job, state=State.SUCCEEDED)
    page = operator_session.get(f"/executions/{execution.pk}/").content.decode()
    assert 'data-when="stopped succeeded failed">Restart</button>' in page
    assert 'data-when="running" hidden>Pause</button>' in page


def test_a_run_of_a_restricted_job_is_not_found_for_outsiders(viewer_session, demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    execution = running_execution(demo_job)
    assert viewer_session.get(f"/executions/{execution.pk}/").status_code == 404


def test_a_long_log_shows_its_tail_and_links_to_the_rest(viewer_session, demo_job):
    execution = running_execution(demo_job)
    ExecutionLog.objects.bulk_create(
        ExecutionLog(execution=execution, message=f"line {number}") for number in range(250)
    )
    page = viewer_session.get(f"/executions/{execution.pk}/").content.decode()
    assert "line 249" in page and "line 50<" in page and "line 49<" not in page
    assert "Showing the last 200 lines" in page
    assert f"/api/v1/jobs/{demo_job.pk}/executions/{execution.pk}/logs?page_size=1000" in page
