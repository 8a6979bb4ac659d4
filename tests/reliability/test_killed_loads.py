"""A real worker (a `manage.py qcluster` process) SIGKILLed in the middle of a
load, for every kind of sink: once the reaper has failed the run, the target
and the folder or database around it are exactly as they were before the
run, and nothing the run made is still listed."""

import os
import signal
import sqlite3

import polars as pl
import pytest

from execution.models import Execution
from tests.execution.conftest import csv_rows, make_job
from tests.execution.qcluster import wait_for

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

ROWS = 200_000


@pytest.fixture
def big_csv(data_root):
    (data_root / "big.csv").write_text(csv_rows(ROWS))


def folder(path) -> list[tuple[str, int]]:
    return sorted((p.name, p.stat().st_size) for p in path.iterdir())


def sqlite_tables(path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM sqlite_master ORDER BY name")]


def load_and_kill(client, data_root, sink, *, context=None, batch_size=100) -> Execution:
    """Start big.csv -> `sink` in small batches, SIGKILL the worker once rows
    are loading and the sink's temporary object exists, and wait until the
    reaper failed the run and removed what it listed."""
    job = make_job(
        f"killed_{sink['type']}",
        [{"name": "rows", "type": "csv_source", "config": {"path": "big.csv"}}, {"name": "out", **sink}],
        batch_size=batch_size,
    )
    if context is not None:
        job.default_context = context
        job.save()
    response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
    assert response.status_code == 202, response.content
    execution_id = response.json()["id"]
    running = wait_for(
        execution_id,
        lambda e: e.state == "running" and e.rows_written > 0 and (not listed(sink) or e.leftovers.exists()),
        what="rows loading",
    )
    os.kill(int(running.worker_id.split(":")[1]), signal.SIGKILL)
    reaped = wait_for(
        execution_id,
        lambda e: (
            e.state == "failed" and not e.leftovers.exists() and (not listed(sink) or removal_logged(e))
        ),
        timeout=90,
        what="the reaper to fail the run and remove what it left",
    )
    assert "is gone" in reaped.error["message"]
    return reaped


def removal_logged(execution) -> bool:
    return execution.logs.filter(message__startswith="Removed what the run left: ").exists()


def listed(sink) -> bool:
    """PostgreSQL needs no record: a table created in the transaction dies with it."""
    return sink["type"] != "postgres_sink"


@pytest.mark.parametrize(
    ("sink_type", "config", "write_old"),
    [
        ("csv_sink", {}, lambda path: path.write_text("id\nold\n")),
        # JSON is written so fast that 100-row batches can finish between two progress saves.
        ("json_sink", {"format": "array"}, lambda path: path.write_text('[{"id": "old"}]\n')),
        ("parquet_sink", {}, lambda path: pl.DataFrame({"id": ["old"]}).write_parquet(path)),
    ],
)
def test_a_killed_file_load_leaves_the_target_and_its_folder_as_they_were(
    qcluster, admin_client, big_csv, data_root, sink_type, config, write_old
):
    out = data_root / "out"
    out.mkdir()
    write_old(out / "target")
    (out / "neighbour.txt").write_text("not ours")
    before, old = folder(out), (out / "target").read_bytes()

    execution = load_and_kill(
        admin_client,
        data_root,
        {"type": sink_type, "inputs": ["rows"], "config": {"path": "out/target", **config}},
        batch_size=10 if sink_type == "json_sink" else 100,
    )

    assert folder(out) == before
    assert (out / "target").read_bytes() == old
    assert execution.logs.filter(message__startswith="Removed what the run left: temporary file").exists()


def test_a_killed_load_into_a_sqlite_file_it_would_create_leaves_no_file(
    qcluster, admin_client, big_csv, data_root
):
    before = folder(data_root)
    load_and_kill(
        admin_client,
        data_root,
        {"type": "sqlite_sink", "inputs": ["rows"], "config": {"path": "new.db", "table": "t"}},
    )
    assert folder(data_root) == before


def test_a_killed_load_into_a_new_table_of_an_existing_sqlite_file_leaves_it_as_it_was(
    qcluster, admin_client, big_csv, data_root
):
    database = data_root / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE kept (id INTEGER)")
        connection.execute("INSERT INTO kept VALUES (1)")
    before = folder(data_root)

    load_and_kill(
        admin_client,
        data_root,
        {"type": "sqlite_sink", "inputs": ["rows"], "config": {"path": "shop.db", "table": "t"}},
    )

    assert folder(data_root) == before, "the journal of the killed transaction is still there"
    assert sqlite_tables(database) == ["kept"]
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT * FROM kept").fetchall() == [(1,)]


@pytest.mark.postgres
def test_a_killed_load_into_a_new_postgres_table_leaves_no_table(
    qcluster, admin_client, big_csv, data_root, warehouse
):
    def tables():
        return (
            warehouse["conn"]
            .execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [warehouse["schema"]]
            )
            .fetchall()
        )

    warehouse["conn"].execute(f'CREATE TABLE "{warehouse["schema"]}".kept (id int)')
    before = tables()
    sink = {
        "type": "postgres_sink",
        "inputs": ["rows"],
        "config": {"connection": "warehouse", "table": f"{warehouse['schema']}.loaded"},
    }
    load_and_kill(admin_client, data_root, sink, context=warehouse["context"])
    assert tables() == before


@pytest.mark.mysql
def test_a_killed_load_into_a_new_mariadb_table_leaves_no_table(
    qcluster, admin_client, big_csv, data_root, shop
):
    def tables():
        with shop["conn"].cursor() as cursor:
            cursor.execute("SHOW TABLES")
            return sorted(row[0] for row in cursor.fetchall())

    with shop["conn"].cursor() as cursor:
        cursor.execute("CREATE TABLE kept (id INT) ENGINE=InnoDB")
    before = tables()
    sink = {"type": "mysql_sink", "inputs": ["rows"], "config": {"connection": "shop", "table": "loaded"}}
    execution = load_and_kill(admin_client, data_root, sink, context=shop["context"])
    assert tables() == before
    assert execution.logs.filter(
        message__startswith="Removed what the run left: staging table _etl_"
    ).exists()
