from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from execution.models import Execution, State
from tests.ui.conftest import running_execution


def test_it_needs_a_signed_in_user(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_it_shows_health_running_runs_failures_and_charts(viewer_session, demo_job):
    running = running_execution(demo_job)
    failed = Execution.objects.create(
        job=demo_job,
        state=State.FAILED,
        finished_at=timezone.now(),
        error={"component": "flights", "message": "demo/flights.csv: no such file"},
    )
    response = viewer_session.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Dashboard · etlsite</title>" in page
    assert f'data-execution="{running.pk}"' in page and 'value="40"' in page
    assert f"/executions/{failed.pk}/" in page and "demo/flights.csv: no such file" in page
    assert page.count('<svg class="chart"') == 2
    assert "database" in page and "worker" in page


def test_the_charts_count_runs_and_rows_per_day(viewer_session, demo_job):
    yesterday = timezone.now() - timedelta(days=1)
    # A failed or running run's rows were never committed: they are not counted.
    for state, rows in [
        (State.SUCCEEDED, 1200),
        (State.SUCCEEDED, 300),
        (State.FAILED, 70),
        (State.RUNNING, 9),
    ]:
        Execution.objects.create(job=demo_job, state=state, queued_at=yesterday, rows_written=rows)
    response = viewer_session.get("/")
    day = next(day for day in response.context["days"] if day["day"] == timezone.localdate(yesterday))
    assert (day["succeeded"], day["failed"], day["other"], day["rows"]) == (2, 1, 1, 1500)
    assert response.context["totals"]["rows"] == 1500
    assert f"{yesterday:%a %d %b}: 2 succeeded, 1 failed, 1 other" in response.content.decode()


def test_it_leaves_out_runs_of_jobs_the_user_cannot_see(viewer_session, demo_job):
    demo_job.allowed_groups.add(Group.objects.create(name="finance"))
    running = running_execution(demo_job)
    Execution.objects.create(job=demo_job, state=State.FAILED, finished_at=timezone.now())
    page = viewer_session.get("/").content.decode()
    assert f'data-execution="{running.pk}"' not in page
    assert demo_job.name not in page
    assert "Nothing is running" in page and "No failed executions" in page
