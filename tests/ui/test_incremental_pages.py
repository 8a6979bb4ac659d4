"""The job page's incremental state (with its reset button) and backfill
form, and the files an execution loaded on its page."""

import sqlite3

import pytest

from accounts.models import AuditEvent
from execution.models import Backfill, Execution, IncrementalState
from tests.conftest import user_in_role
from tests.execution.conftest import csv_rows, make_job, run_queued
from tests.ui.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_session(db):
    return signed_in(user_in_role("editor", "editor"))


@pytest.fixture
def incremental_job(data_root):
    with sqlite3.connect(data_root / "shop.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
        db.executemany("INSERT INTO orders VALUES (?)", [(1,), (2,)])
    job = make_job(
        "orders_page",
        [
            {
                "name": "orders",
                "type": "sqlite_source",
                "config": {"path": "shop.db", "table": "orders", "incremental": {"column": "id"}},
            },
            {
                "name": "load",
                "type": "sqlite_sink",
                "inputs": ["orders"],
                "config": {"path": "copy.db", "table": "t"},
            },
        ],
    )
    IncrementalState.objects.create(job=job, component="orders", watermark=41230)
    return job


def test_the_job_page_shows_the_state_and_an_editor_may_reset_it(editor_session, incremental_job):
    page = editor_session.get(f"/jobs/{incremental_job.pk}/").content.decode()
    assert "Incremental state" in page and "41230" in page
    assert "Reset state" in page
    response = editor_session.post(f"/jobs/{incremental_job.pk}/state/reset/")
    assert response.status_code == 302
    assert not IncrementalState.objects.exists()
    assert AuditEvent.objects.filter(action="reset_state").exists()


def test_a_viewer_sees_the_state_but_may_not_reset_it(viewer_session, incremental_job):
    page = viewer_session.get(f"/jobs/{incremental_job.pk}/").content.decode()
    assert "41230" in page
    assert "Reset state" not in page and "Start backfill" not in page
    assert viewer_session.post(f"/jobs/{incremental_job.pk}/state/reset/").status_code == 403
    assert IncrementalState.objects.exists()


def test_the_backfill_form_starts_a_backfill(operator_session, incremental_job):
    response = operator_session.post(
        f"/jobs/{incremental_job.pk}/backfill/",
        {"start": "2026-03-01", "end": "2026-03-03", "interval": "day", "max_parallel": 1},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    backfill = Backfill.objects.get()
    assert backfill.intervals.count() == 2
    page = operator_session.get(f"/jobs/{incremental_job.pk}/").content.decode()
    assert f"#{backfill.pk}" in page


def test_a_bad_backfill_form_says_what_is_wrong_and_starts_nothing(operator_session, incremental_job):
    response = operator_session.post(
        f"/jobs/{incremental_job.pk}/backfill/",
        {"start": "2026-03-05", "end": "2026-03-01", "interval": "day", "max_parallel": 1},
    )
    assert response.status_code == 400
    assert "start must be before end" in response.content.decode()
    assert not Backfill.objects.exists() and not Execution.objects.exists()


def test_the_execution_page_lists_the_files_it_loaded(operator_session, admin_client, data_root):
    (data_root / "incoming").mkdir()
    (data_root / "incoming" / "day1.csv").write_text(csv_rows(2))
    job = make_job(
        "files_page",
        [
            {"name": "files", "type": "csv_source", "config": {"path": "incoming/*.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["files"], "config": {"path": "out.csv"}},
        ],
    )
    response = admin_client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    execution = run_queued(response.json()["id"])
    page = operator_session.get(f"/executions/{execution.pk}/").content.decode()
    assert "Files loaded" in page and "day1.csv" in page
