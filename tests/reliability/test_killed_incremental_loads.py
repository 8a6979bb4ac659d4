"""Exactly once across kills: a real worker (`manage.py qcluster`) SIGKILLed
before, during and after the sinks of an incremental run commit. Once the
reaper has dealt with the dead run, the next run neither skips nor
duplicates a row: every id is in the target exactly once, and that run read
exactly the rows the state had not recorded yet.

Sources: PostgreSQL, SQLite and MariaDB tables (a watermark on `id`), and a
file set in `new_files` mode (one CSV per addition). Each test loads FIRST rows (run 1, clean), adds MORE and kills run 2 at a
chosen point, then adds LAST and lets run 3 finish.
"""

import os
import signal
import sqlite3

import psycopg
import pytest
from django.db import connection as django_connection

from contexts.models import Credential
from execution.models import IncrementalState, PendingState
from tests.execution.conftest import make_job
from tests.execution.qcluster import wait_for, wait_for_state

pytestmark = [pytest.mark.qcluster, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIRST, MORE, LAST = 1_000, 200_000, 500


class Source:
    """The table `src (id, name)` an incremental source reads, in one of three databases."""

    def __init__(self, kind, warehouse, data_root, mysql_target=None):
        self.kind, self.warehouse, self.data_root, self.mysql = kind, warehouse, data_root, mysql_target
        if kind == "postgres":
            warehouse["conn"].execute(f'CREATE TABLE "{warehouse["schema"]}".src (id int, name text)')
        elif kind == "mysql":
            with mysql_target["conn"].cursor() as cursor:
                cursor.execute("CREATE TABLE src (id INT, name VARCHAR(40)) ENGINE=InnoDB")
            connection = mysql_target["connection"]
            credential = Credential(
                context=warehouse["context"],
                name="shop",
                kind=Credential.Kind.MYSQL,
                config={key: connection[key] for key in ("host", "port", "database", "user")},
            )
            if connection["password"]:
                credential.update_secrets({"password": connection["password"]})
            credential.save()
        elif kind == "sqlite":
            with sqlite3.connect(data_root / "src.db") as db:
                db.execute("CREATE TABLE src (id INTEGER, name TEXT)")
        else:
            (data_root / "incoming").mkdir()

    def add(self, start, count):
        rows = [(i, f"name{i}") for i in range(start, start + count)]
        if self.kind == "postgres":
            with (
                self.warehouse["conn"]
                .cursor()
                .copy(f'COPY "{self.warehouse["schema"]}".src (id, name) FROM STDIN') as copy
            ):
                for row in rows:
                    copy.write_row(row)
        elif self.kind == "mysql":
            with self.mysql["conn"].cursor() as cursor:
                cursor.executemany("INSERT INTO src VALUES (%s, %s)", rows)
        elif self.kind == "sqlite":
            with sqlite3.connect(self.data_root / "src.db") as db:
                db.executemany("INSERT INTO src VALUES (?, ?)", rows)
        else:
            # One file per addition, named by its last id.
            lines = "".join(f"{i},{name}\n" for i, name in rows)
            (self.data_root / "incoming" / f"{start + count - 1:09d}.csv").write_text("id,name\n" + lines)

    def saved(self, job):
        """The last id the saved state covers: the watermark, or the newest file loaded."""
        state = IncrementalState.objects.get(job=job, component="src")
        if self.kind != "files":
            return state.watermark
        return max(int(os.path.basename(f["path"]).split(".")[0]) for f in state.files)

    def component(self):
        incremental = {"column": "id"}
        if self.kind == "postgres":
            config = {"connection": "warehouse", "table": f"{self.warehouse['schema']}.src"}
        elif self.kind == "mysql":
            config = {"connection": "shop", "table": "src"}
        elif self.kind == "sqlite":
            config = {"path": "src.db", "table": "src"}
        else:
            return {
                "name": "src",
                "type": "csv_source",
                "config": {"path": "incoming/*.csv", "incremental": {"mode": "new_files"}},
            }
        return {
            "name": "src",
            "type": f"{self.kind}_source",
            "config": {**config, "incremental": incremental},
        }


def pg_sink(warehouse, mode="append"):
    config = {"connection": "warehouse", "table": f"{warehouse['schema']}.copy", "mode": mode}
    if mode == "upsert":
        config["key"] = ["id"]
    return {"name": "to_pg", "type": "postgres_sink", "inputs": ["src"], "config": config}


def pg_copied(warehouse) -> tuple[int, int]:
    table = f'"{warehouse["schema"]}".copy'
    return warehouse["conn"].execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone()


def sqlite_copied(data_root) -> tuple[int, int]:
    with sqlite3.connect(data_root / "copy.db") as db:
        return db.execute("SELECT count(*), count(DISTINCT id) FROM t").fetchone()


def incremental_job(warehouse, source, sinks):
    job = make_job("incremental_kill", [source.component(), *sinks], batch_size=100)
    job.default_context = warehouse["context"]
    job.save()
    return job


def start(client, job) -> int:
    response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def run_to_success(client, job):
    execution = wait_for_state(start(client, job), "succeeded", "failed", timeout=120)
    assert execution.state == "succeeded", execution.error
    return execution


def kill(execution):
    os.kill(int(execution.worker_id.split(":")[1]), signal.SIGKILL)


def wait_reaped(execution_id):
    return wait_for(
        execution_id,
        lambda e: e.state == "failed" and not PendingState.objects.filter(execution_id=e.pk).exists(),
        timeout=180,  # the reaper runs when django-q2 replaces the killed worker; slow on a busy machine
        what="the reaper to fail the run and settle its state",
    )


SOURCES = ["postgres", "sqlite", "files", pytest.param("mysql", marks=pytest.mark.mysql)]


@pytest.mark.parametrize("kind", SOURCES)
def test_killed_before_the_sinks_commit_the_next_run_loads_the_rows_again(
    qcluster, admin_client, warehouse, data_root, kind, request
):
    source = Source(
        kind, warehouse, data_root, request.getfixturevalue("mysql_target") if kind == "mysql" else None
    )
    source.add(1, FIRST)
    job = incremental_job(warehouse, source, [pg_sink(warehouse)])
    run_to_success(admin_client, job)
    source.add(FIRST + 1, MORE)

    loading = wait_for(
        start(admin_client, job), lambda e: e.state == "running" and e.rows_written > 0, what="rows loading"
    )
    kill(loading)
    wait_reaped(loading.pk)
    assert source.saved(job) == FIRST
    assert pg_copied(warehouse) == (FIRST, FIRST)

    source.add(FIRST + MORE + 1, LAST)
    third = run_to_success(admin_client, job)
    assert third.rows_read == MORE + LAST
    assert pg_copied(warehouse) == (FIRST + MORE + LAST,) * 2
    assert source.saved(job) == FIRST + MORE + LAST


def django_db_is_postgres() -> bool:
    return django_connection.vendor == "postgresql"


@pytest.mark.parametrize("kind", SOURCES)
def test_killed_after_the_sinks_commit_the_next_run_reads_only_what_is_newer(
    qcluster, admin_client, warehouse, data_root, kind, request
):
    if not django_db_is_postgres():
        pytest.skip("holds the worker after the commit with a PostgreSQL table lock on the control database")
    source = Source(
        kind, warehouse, data_root, request.getfixturevalue("mysql_target") if kind == "mysql" else None
    )
    source.add(1, FIRST)
    job = incremental_job(warehouse, source, [pg_sink(warehouse)])
    run_to_success(admin_client, job)
    source.add(FIRST + 1, MORE)

    # The worker saves the new watermark after the sinks committed: hold it there.
    params = django_connection.settings_dict
    blocker = psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params.get("PASSWORD") or None,
        dbname=params["NAME"],
    )
    try:
        blocker.execute(f"LOCK TABLE {IncrementalState._meta.db_table} IN EXCLUSIVE MODE")
        execution_id = start(admin_client, job)
        wait_for(
            execution_id,
            lambda e: pg_copied(warehouse)[0] == FIRST + MORE,
            timeout=120,
            what="the sink's commit",
        )
        running = wait_for(execution_id, lambda e: e.state == "running", what="still running")
        assert PendingState.objects.filter(execution_id=execution_id).exists()
        kill(running)
    finally:
        blocker.rollback()
        blocker.close()
    reaped = wait_reaped(execution_id)
    assert source.saved(job) == FIRST + MORE
    assert reaped.logs.filter(message__startswith="Every sink had committed").exists()

    source.add(FIRST + MORE + 1, LAST)
    third = run_to_success(admin_client, job)
    assert third.rows_read == LAST
    assert pg_copied(warehouse) == (FIRST + MORE + LAST,) * 2


def test_killed_while_the_sinks_commit_one_after_the_other_nothing_is_skipped_or_doubled(
    qcluster, admin_client, warehouse, data_root
):
    """The PostgreSQL sink (upsert) commits; the SQLite sink's commit waits for
    a reader's lock; the worker dies then. The state stays: the next run reads
    those rows again, which the upsert absorbs and the SQLite sink gets once.
    (Fewer rows: the SQLite writer must keep them in its page cache, or it
    would need the reader's lock before the commit.)"""
    more = 20_000
    source = Source("postgres", warehouse, data_root)
    source.add(1, FIRST)
    sqlite_sink = {
        "name": "to_sqlite",
        "type": "sqlite_sink",
        "inputs": ["src"],
        "config": {"path": "copy.db", "table": "t"},
    }
    job = incremental_job(warehouse, source, [pg_sink(warehouse, mode="upsert"), sqlite_sink])
    run_to_success(admin_client, job)
    source.add(FIRST + 1, more)

    reader = sqlite3.connect(data_root / "copy.db", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchall()  # a SHARED lock: a writer cannot commit
        execution_id = start(admin_client, job)
        committing = wait_for(
            execution_id,
            lambda e: (
                PendingState.objects.filter(execution_id=e.pk).exists()
                and pg_copied(warehouse)[0] == FIRST + more
            ),
            timeout=120,
            what="the first sink committed, the second waiting",
        )
        kill(committing)
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    reaped = wait_reaped(execution_id)
    assert source.saved(job) == FIRST
    assert reaped.logs.filter(message__startswith="Only to_pg of the sinks had committed").exists()
    assert sqlite_copied(data_root) == (FIRST, FIRST)

    source.add(FIRST + more + 1, LAST)
    third = run_to_success(admin_client, job)
    assert third.rows_read == more + LAST
    assert pg_copied(warehouse) == (FIRST + more + LAST,) * 2
    assert sqlite_copied(data_root) == (FIRST + more + LAST,) * 2
