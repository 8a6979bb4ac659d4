"""What a run's sinks left: recorded before it is made, removed by the reaper
when it fails an abandoned run, retried on every pass and at the next start
of the job; a stopped run's log says whether every target is as it was."""

import time

import pymysql
import pytest

from execution.control import start_execution
from execution.models import Execution, ExecutionLeftover
from execution.reaper import reap_abandoned_executions
from execution.worker import CONTROL_INTERVAL_SECONDS, run_in_foreground
from tests.execution.conftest import csv_rows, make_job, run_queued
from tests.execution.test_reaper import dead_local_worker_id, held

pytestmark = pytest.mark.django_db

TEMP_NAME = ".out.csv.0123456789abcdef.tmp"


def test_the_reaper_removes_what_a_killed_run_listed(copy_job, data_root):
    leftover = data_root / TEMP_NAME
    leftover.write_bytes(b"x" * 1000)
    execution = held(copy_job, dead_local_worker_id())
    execution.leftovers.create(kind="file", name=str(leftover))

    assert reap_abandoned_executions() == [execution.pk]

    assert not leftover.exists()
    assert not execution.leftovers.exists()
    assert sorted(p.name for p in data_root.iterdir()) == ["in.csv"]
    assert execution.logs.filter(message=f"Removed what the run left: temporary file {leftover}.").exists()


def test_a_listed_name_that_is_not_a_temporary_is_never_removed(copy_job, data_root):
    precious = data_root / "in.csv"
    execution = held(copy_job, dead_local_worker_id())
    execution.leftovers.create(kind="file", name=str(precious))
    reap_abandoned_executions()
    assert precious.exists()
    assert execution.leftovers.count() == 1
    warning = execution.logs.get(level="warning").message
    assert warning.startswith("Could not remove yet (the reaper retries every minute): temporary file")
    assert "not a temporary file of a sink" in warning


@pytest.mark.mysql
def test_a_staging_table_whose_credential_is_gone_is_dropped_once_it_is_back(shop, data_root):
    job = make_job("to_shop", [])
    staging = "_etl_0123abcd_orders"
    with shop["conn"].cursor() as cursor:
        cursor.execute(f"CREATE TABLE {staging} (id BIGINT)")
    execution = held(job, dead_local_worker_id())
    execution.context = shop["context"]
    execution.save(update_fields=["context"])
    execution.leftovers.create(kind="mysql_table", name=staging, connection="orders_db")

    reap_abandoned_executions()
    assert "has no credential 'orders_db'" in execution.logs.get(level="warning").message
    assert execution.leftovers.count() == 1

    credential = shop["context"].credentials.get(name="shop")
    credential.name = "orders_db"
    credential.save()
    assert reap_abandoned_executions() == []
    assert not execution.leftovers.exists()
    with shop["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert cursor.fetchall() == ()


def test_the_next_start_of_the_job_removes_what_an_earlier_run_left(copy_job, data_root):
    leftover = data_root / TEMP_NAME
    leftover.write_text("half a file")
    earlier = Execution.objects.create(job=copy_job, state="failed")
    earlier.leftovers.create(kind="file", name=str(leftover))

    execution = run_queued(start_execution(copy_job)[0].pk)

    assert execution.state == "succeeded", execution.error
    assert not leftover.exists() and not earlier.leftovers.exists()
    assert sorted(p.name for p in data_root.iterdir()) == ["in.csv", "out.csv"]


def test_a_run_lists_its_temporary_file_while_it_exists_and_not_after(copy_job, data_root):
    seen = []

    def look(progress):
        seen.extend(ExecutionLeftover.objects.values_list("kind", "name"))

    execution = run_in_foreground(copy_job, on_progress=look)
    assert execution.state == "succeeded"
    kind, name = seen[0]
    assert kind == "file" and name.startswith(str(data_root / ".out.csv.")) and name.endswith(".tmp")
    assert not ExecutionLeftover.objects.exists()


def stop_at(job, rows):
    """A progress callback asking for a stop once `rows` rows were read."""

    def stop(progress):
        if progress.rows_read >= rows:
            Execution.objects.get(job=job).request_stop(None)
            # The worker reads the state at most this often.
            time.sleep(CONTROL_INTERVAL_SECONDS)

    return stop


def test_a_stopped_run_into_a_new_sqlite_file_leaves_no_file_and_says_so(data_root):
    (data_root / "in.csv").write_text(csv_rows(1000))
    job = make_job(
        "to_sqlite",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
            {
                "name": "out",
                "type": "sqlite_sink",
                "inputs": ["rows"],
                "config": {"path": "new.db", "table": "t"},
            },
        ],
        batch_size=100,
    )
    execution = run_in_foreground(job, on_progress=stop_at(job, 300))
    assert execution.state == "stopped"
    assert sorted(p.name for p in data_root.iterdir()) == ["in.csv"]
    assert execution.logs.filter(message="Stopped; every target was left as it was.").exists()
    assert not execution.leftovers.exists()


@pytest.mark.mysql
# The worker's heartbeat thread writes while the removal waits for a lock: no test transaction open.
@pytest.mark.django_db(transaction=True)
def test_a_stop_whose_rollback_could_not_drop_the_staging_table_says_what_was_left(shop, data_root):
    (data_root / "in.csv").write_text(csv_rows(2000))
    job = make_job(
        "to_shop",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "in.csv"}},
            {
                "name": "out",
                "type": "mysql_sink",
                "inputs": ["rows"],
                "config": {"connection": "shop", "table": "t"},
            },
        ],
        batch_size=100,
    )
    job.default_context = shop["context"]
    job.save()
    blocker = pymysql.connect(
        **{k: shop["connection"][k] for k in ("host", "port", "user", "password", "database")}
    )

    broken = []

    def break_the_load(progress):
        if progress.rows_read < 500 or broken:
            return
        execution = Execution.objects.get(job=job)
        staging = execution.leftovers.get().name
        with blocker.cursor() as cursor:
            # An open read holds the staging table's metadata lock: a DROP must wait for it.
            cursor.execute("START TRANSACTION")
            cursor.execute(f"SELECT count(*) FROM `{staging}`")
            cursor.execute(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID NOT IN (%s, %s)",
                (blocker.thread_id(), shop["conn"].thread_id()),
            )
            loaders = [row[0] for row in cursor.fetchall()]
            assert len(loaders) == 1, loaders
            cursor.execute(f"KILL {loaders[0]}")
        broken.append(staging)
        execution.request_stop(None)
        time.sleep(CONTROL_INTERVAL_SECONDS)

    try:
        execution = run_in_foreground(job, on_progress=break_the_load)
        assert execution.state == "stopped"
        warning = execution.logs.filter(level="warning", component="").last().message
        assert warning.startswith("Stopped; the sinks rolled back, but this could not be removed yet")
        assert "staging table _etl_" in warning
        assert not execution.logs.filter(message="Stopped; every target was left as it was.").exists()
        assert execution.leftovers.count() == 1
    finally:
        blocker.rollback()
        blocker.close()
    reap_abandoned_executions()
    assert not execution.leftovers.exists()
    with shop["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert cursor.fetchall() == ()
