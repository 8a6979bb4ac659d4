"""Intervals (`${interval_start}`/`${interval_end}`) and backfills:
POST /jobs/{id}/backfill, GET /backfills/, GET /backfills/{id},
POST /backfills/{id}/stop, POST /backfills/{id}/rerun. Runs are done here, in
this process, as a worker would; each run's end moves its backfill on."""

import pytest

from accounts.models import AuditEvent
from execution.models import Backfill, Execution
from tests.execution.conftest import csv_rows, make_job, run_queued

pytestmark = pytest.mark.django_db

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


@pytest.fixture
def daily_job(data_root):
    """Reads in/<day>.csv for the interval's day, writes out/<interval_start>.csv."""
    (data_root / "in").mkdir()
    (data_root / "out").mkdir()
    for day in DAYS:
        (data_root / "in" / f"{day}T00:00:00+00:00.csv").write_text(csv_rows(3))
    return make_job(
        "daily",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "in/${interval_start}.csv"}},
            {
                "name": "out",
                "type": "csv_sink",
                "inputs": ["rows"],
                "config": {"path": "out/${interval_start}.csv"},
            },
        ],
        max_concurrent=2,
    )


def backfill(client, job, **body):
    payload = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-04T00:00:00Z", "interval": "day"} | body
    return client.post(f"/api/v1/jobs/{job.pk}/backfill", payload, format="json")


def run_all_queued():
    """Run queued executions until none is left (each end may queue the next interval)."""
    while queued := Execution.objects.filter(state="queued").order_by("id").first():
        run_queued(queued.pk)


def test_a_manual_run_gets_the_interval_it_is_given(admin_client, daily_job, data_root):
    response = admin_client.post(
        f"/api/v1/jobs/{daily_job.pk}/start",
        {"parameters": {"interval_start": "2026-03-02", "interval_end": "2026-03-03"}},
        format="json",
    )
    assert response.status_code == 202, response.content
    execution = run_queued(response.json()["id"])
    assert execution.state == "succeeded", execution.error
    assert execution.parameters["interval_start"] == "2026-03-02T00:00:00+00:00"
    assert (data_root / "out" / "2026-03-02T00:00:00+00:00.csv").exists()


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"interval_start": "yesterday"}, "parameters.interval_start"),
        ({"interval_start": "2026-03-02", "interval_end": "2026-03-01"}, "parameters.interval_end"),
    ],
)
def test_a_bad_interval_is_a_400_and_starts_nothing(admin_client, daily_job, parameters, field):
    response = admin_client.post(
        f"/api/v1/jobs/{daily_job.pk}/start", {"parameters": parameters}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not Execution.objects.exists()


def test_a_backfill_runs_each_interval_once_at_most_max_parallel_at_a_time(
    admin_client, daily_job, data_root
):
    response = backfill(admin_client, daily_job, max_parallel=2)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "running" and body["job"] == daily_job.pk
    assert [i["start"] for i in body["intervals"]] == [f"{d}T00:00:00+00:00" for d in DAYS]
    assert body["progress"] == {"total": 3, "pending": 1, "running": 2}
    assert len(body["executions"]) == 2
    assert AuditEvent.objects.filter(action="backfill").exists()

    run_all_queued()

    done = admin_client.get(f"/api/v1/backfills/{body['id']}").json()
    assert done["state"] == "succeeded"
    assert done["progress"] == {"total": 3, "succeeded": 3}
    assert sorted(p.name for p in (data_root / "out").iterdir()) == [f"{d}T00:00:00+00:00.csv" for d in DAYS]
    runs = Execution.objects.filter(trigger="backfill")
    assert runs.count() == 3
    assert {(e.parameters["interval_start"], e.parameters["interval_end"]) for e in runs} == {
        ("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"),
        ("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"),
        ("2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00"),
    }
    listed = admin_client.get("/api/v1/backfills/").json()
    assert [b["id"] for b in listed["results"]] == [body["id"]]


def test_a_failed_interval_can_be_rerun_alone(admin_client, daily_job, data_root):
    missing = data_root / "in" / "2026-03-02T00:00:00+00:00.csv"
    missing.unlink()
    body = backfill(admin_client, daily_job, max_parallel=1).json()
    run_all_queued()
    failed = admin_client.get(f"/api/v1/backfills/{body['id']}").json()
    assert failed["state"] == "failed"
    assert [i["state"] for i in failed["intervals"]] == ["succeeded", "failed", "succeeded"]

    missing.write_text(csv_rows(3))
    response = admin_client.post(
        f"/api/v1/backfills/{body['id']}/rerun", {"start": "2026-03-02T00:00:00+00:00"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert Execution.objects.filter(state="queued").count() == 1
    run_all_queued()
    again = admin_client.get(f"/api/v1/backfills/{body['id']}").json()
    assert again["state"] == "succeeded"
    assert Execution.objects.count() == 4


def test_rerunning_an_interval_that_succeeded_is_a_409(admin_client, daily_job):
    body = backfill(admin_client, daily_job).json()
    run_all_queued()
    response = admin_client.post(
        f"/api/v1/backfills/{body['id']}/rerun", {"start": "2026-03-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 409


def test_a_stopped_backfill_starts_nothing_more(admin_client, daily_job):
    body = backfill(admin_client, daily_job, max_parallel=1).json()
    response = admin_client.post(f"/api/v1/backfills/{body['id']}/stop")
    assert response.status_code == 202
    assert response.json()["state"] == "stopped"
    run_all_queued()
    assert Execution.objects.count() == 1
    assert Execution.objects.get().state == "stopped"
    assert admin_client.post(f"/api/v1/backfills/{body['id']}/stop").status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-03-05T00:00:00Z"}, "start"),
        ({"start": "soon"}, "start"),
        ({"interval": "fortnight"}, "interval"),
        ({"start": "2000-01-01T00:00:00Z", "interval": "hour"}, "end"),
        ({"max_parallel": 3}, "max_parallel"),
        ({"max_parallel": 0}, "max_parallel"),
        ({"parameters": {"nope": 1}}, "parameters.nope"),
        ({"context": "nowhere"}, "context"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_backfill_input_is_a_400_naming_the_field_and_starts_nothing(
    admin_client, daily_job, body, field
):
    response = backfill(admin_client, daily_job, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Backfill.objects.exists()
    assert not Execution.objects.exists()


def test_backfilling_needs_the_right_to_start_runs(reader_client, admin_client, daily_job):
    assert backfill(reader_client, daily_job).status_code == 403
    body = backfill(admin_client, daily_job).json()
    assert reader_client.get(f"/api/v1/backfills/{body['id']}").status_code == 200
    assert reader_client.post(f"/api/v1/backfills/{body['id']}/stop").status_code == 403


def test_an_incremental_job_is_backfilled_one_interval_at_a_time(admin_client, data_root):
    """Each run reads the watermark the one before it saved: overlapping runs would
    fail, so more than one at a time is refused up front."""
    (data_root / "in.db").touch()
    job = make_job(
        "incremental_daily",
        [
            {
                "name": "rows",
                "type": "sqlite_source",
                "config": {"path": "in.db", "table": "t", "incremental": {"column": "id"}},
            },
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
        max_concurrent=2,
    )
    response = backfill(admin_client, job, max_parallel=2)
    assert response.status_code == 400, response.content
    assert "one at a time" in str(response.json()["error"]["details"]["max_parallel"])
    assert not Backfill.objects.exists()
