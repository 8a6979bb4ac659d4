"""Faults during real runs on a real worker (a `manage.py qcluster` process):
the loader's database connection killed, the target table locked, a full disk
under a file sink, a job timeout. Each run ends in a clear final state, the
target is as it was, and a restart loads everything exactly once."""

import subprocess

import psycopg
import pytest

from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for, wait_for_state

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

ROWS = 200_000


@pytest.fixture
def big_csv(data_root):
    (data_root / "big.csv").write_text(csv_rows(ROWS))


def start(client, job, action="start", **body) -> int:
    response = client.post(f"/api/v1/jobs/{job.pk}/{action}", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def pg_load_job(warehouse, name="to_warehouse", **config):
    """big.csv into a new table; 100-row batches make the load last a few seconds."""
    job = make_job(
        name,
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {
                "name": "load",
                "type": "postgres_sink",
                "inputs": ["rows"],
                "config": {"connection": "warehouse", "table": f"{warehouse['schema']}.loaded"},
            },
        ],
        **({"batch_size": 100} | config),
    )
    job.default_context = warehouse["context"]
    job.save()
    return job


def loaded(warehouse) -> tuple[int, int] | None:
    """(rows, distinct ids) in the target, None when the table does not exist."""
    table = f'"{warehouse["schema"]}".loaded'
    conn = warehouse["conn"]
    if conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is None:
        return None
    return conn.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone()


def restart_loads_exactly_once(client, job, failed_id, warehouse, **body):
    restarted = start(client, job, "restart", execution=failed_id, **body)
    done = wait_for_state(restarted, "succeeded", "failed", timeout=120)
    assert done.state == "succeeded", done.error
    assert done.parent_id == failed_id
    assert loaded(warehouse) == (ROWS, ROWS)


@pytest.mark.postgres
def test_the_loader_s_connection_killed_mid_run(qcluster, admin_client, big_csv, warehouse):
    job = pg_load_job(warehouse)
    execution_id = start(admin_client, job)
    wait_for(execution_id, lambda e: e.state == "running" and e.rows_written > 0, what="rows loading")

    killed = (
        warehouse["conn"]
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE %s AND pid <> pg_backend_pid()",
            [f"COPY%{warehouse['schema']}%loaded%"],
        )
        .fetchall()
    )
    assert killed == [(True,)], "the loader's COPY was not found"

    failed = wait_for_state(execution_id, "succeeded", "failed", timeout=30)
    assert failed.state == "failed"
    assert failed.error["component"] == "load"
    assert "terminat" in failed.error["message"].lower() or "connection" in failed.error["message"].lower()
    assert not loaded(warehouse), "the interrupted load left rows"
    restart_loads_exactly_once(admin_client, job, execution_id, warehouse)


@pytest.mark.postgres
def test_a_locked_target_table_ends_in_the_job_timeout(qcluster, admin_client, big_csv, warehouse):
    schema = warehouse["schema"]
    warehouse["conn"].execute(f'CREATE TABLE "{schema}".loaded (id bigint, name text, amount float8)')
    locker = psycopg.connect(warehouse["url"])
    locker.execute(f'LOCK TABLE "{schema}".loaded IN ACCESS EXCLUSIVE MODE')
    try:
        job = pg_load_job(warehouse, timeout_seconds=2)
        execution_id = start(admin_client, job)
        failed = wait_for_state(execution_id, "succeeded", "failed", timeout=10)
    finally:
        locker.rollback()
        locker.close()
    assert failed.state == "failed"
    assert "timeout" in failed.error["message"]
    assert loaded(warehouse) == (0, 0)
    # The 2 s were for the lock; the rerun gets room on a busy 2-core machine.
    job.config = {**job.config, "timeout_seconds": 120}
    job.save(update_fields=["config"])
    restart_loads_exactly_once(admin_client, job, execution_id, warehouse)


def test_a_job_timeout_fails_the_run_and_leaves_the_target(qcluster, admin_client, big_csv, data_root):
    (data_root / "out.csv").write_text("id\nold\n")
    job = make_job(
        "slow",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ],
        batch_size=1,  # 200,000 batches: far longer than the timeout
        timeout_seconds=1,
    )
    execution_id = start(admin_client, job)
    failed = wait_for_state(execution_id, "succeeded", "failed", timeout=30)
    assert failed.state == "failed"
    assert "exceeded its timeout of 1 s" in failed.error["message"]
    assert (data_root / "out.csv").read_text() == "id\nold\n"
    assert sorted(p.name for p in data_root.iterdir()) == ["big.csv", "out.csv"], "a temp file was left"

    job.config = {"batch_size": 50_000, "timeout_seconds": 120}
    job.save()
    restarted = start(admin_client, job, "restart", execution=execution_id)
    assert wait_for_state(restarted, "succeeded", "failed", timeout=120).state == "succeeded"
    assert (data_root / "out.csv").read_text() == (data_root / "big.csv").read_text()


@pytest.fixture
def tiny_disk(data_root):
    """A 1 MiB tmpfs at <data root>/full, unmounted afterwards."""
    mount_point = data_root / "full"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


# tiny_disk first: it is set up before the worker and unmounted after the worker stopped.
def test_a_full_disk_under_a_file_sink(tiny_disk, qcluster, admin_client, big_csv, data_root):
    (tiny_disk / "out.csv").write_text("id\nold\n")
    job = make_job(
        "to_small_disk",
        [
            {"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "full/out.csv"}},
        ],
        batch_size=10_000,
    )
    execution_id = start(admin_client, job)
    failed = wait_for_state(execution_id, "succeeded", "failed", timeout=60)
    assert failed.state == "failed"
    assert failed.error["component"] == "out"
    assert "No space left on device" in failed.error["message"]
    assert (tiny_disk / "out.csv").read_text() == "id\nold\n"
    assert [p.name for p in tiny_disk.iterdir()] == ["out.csv"], "a temp file was left on the full disk"

    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)
    restarted = start(admin_client, job, "restart", execution=execution_id)
    assert wait_for_state(restarted, "succeeded", "failed", timeout=120).state == "succeeded"
    assert (tiny_disk / "out.csv").read_text() == (data_root / "big.csv").read_text()
