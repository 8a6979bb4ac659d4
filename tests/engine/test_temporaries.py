"""Every sink writes under a temporary name and swaps it in at commit; each
temporary object is reported before it exists and once it is gone, and what
a killed process left is removed by `temporaries.remove` from that report."""

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from execution.engine import temporaries
from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import run_job
from execution.engine.temporaries import Temporary
from tests.engine.helpers import context, inline

ROWS = [{"id": i, "v": f"row {i}"} for i in range(100)]


class Recorder(temporaries.Tracker):
    """Remembers each report and whether the object existed at that moment."""

    def __init__(self, exists):
        self.exists = exists
        self.events = []

    def making(self, temporary):
        self.events.append(("making", temporary, self.exists(temporary)))

    def gone(self, temporary):
        self.events.append(("gone", temporary, self.exists(temporary)))


def file_exists(temporary):
    return Path(temporary.name).exists()


def load(data_root, sink_type, config, *, control=None, tracker=None, connections=None, mode="replace"):
    components = [
        inline("src", ROWS, {"id": "int", "v": "string"}),
        {"name": "out", "type": sink_type, "inputs": ["src"], "config": {**config, "mode": mode}},
    ]
    ctx = context(data_root, connections=connections, batch_size=10, control=control)
    if tracker is not None:
        ctx.temporaries = tracker
    return run_job(components, ctx)


def stop_after(rows):
    def control(progress):
        if progress.rows_read >= rows:
            raise StopRequested()

    return control


@pytest.mark.parametrize("sink_type", ["csv_sink", "json_sink", "parquet_sink", "sqlite_sink"])
def test_a_new_file_is_reported_before_it_exists_and_gone_once_renamed(data_root, sink_type):
    recorder = Recorder(file_exists)
    config = {"path": "out.dat"} | ({"table": "t"} if sink_type == "sqlite_sink" else {})
    load(data_root, sink_type, config, tracker=recorder)
    (making, temporary, existed), (gone, same, exists_after) = recorder.events
    assert (making, existed, gone, same, exists_after) == ("making", False, "gone", temporary, False)
    assert temporary.kind == "file"
    assert Path(temporary.name).parent == data_root
    assert Path(temporary.name).name.startswith(".out.dat.") and temporary.name.endswith(".tmp")
    assert sorted(p.name for p in data_root.iterdir()) == ["out.dat"]


@pytest.mark.parametrize(
    ("how", "options", "error"),
    [
        ("stopped", {"control": stop_after(30)}, StopRequested),
        ("failed", {"mode": "upsert", "key": ["nope"]}, EngineError),
    ],
)
def test_a_stopped_or_failed_run_leaves_no_sqlite_file_it_would_have_created(data_root, how, options, error):
    recorder = Recorder(file_exists)
    config = {"path": "new.sqlite3", "table": "t"}
    if "key" in options:
        config["key"] = options.pop("key")
    with pytest.raises(error):
        load(data_root, "sqlite_sink", config, tracker=recorder, **options)
    assert list(data_root.iterdir()) == []
    assert [event for event, _, _ in recorder.events] == ["making", "gone"]


def test_a_table_created_in_an_existing_sqlite_file_by_a_stopped_run_is_gone(data_root):
    database = data_root / "db.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE kept (a)")
    recorder = Recorder(lambda t: Path(f"{t.name}-journal").exists())
    with pytest.raises(StopRequested):
        load(
            data_root,
            "sqlite_sink",
            {"path": "db.sqlite3", "table": "t"},
            control=stop_after(30),
            tracker=recorder,
        )
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)]
    assert sorted(p.name for p in data_root.iterdir()) == ["db.sqlite3"]
    (_, transaction, journal_before), (_, _, journal_after) = recorder.events
    assert (transaction.kind, transaction.name) == ("sqlite_journal", str(database))
    assert (journal_before, journal_after) == (False, False)


@pytest.mark.mysql
def test_a_created_mysql_table_is_loaded_as_a_staging_table_and_renamed_at_commit(mysql_target, data_root):
    def tables():
        with mysql_target["conn"].cursor() as cursor:
            cursor.execute("SHOW TABLES")
            return sorted(row[0] for row in cursor.fetchall())

    seen_during_load = []
    recorder = Recorder(lambda t: t.name.split(".")[-1] in tables())

    def control(progress):
        if progress.rows_read == 50:
            seen_during_load.extend(tables())

    load(
        data_root,
        "mysql_sink",
        {"connection": "my", "table": "created"},
        control=control,
        tracker=recorder,
        connections={"my": mysql_target["connection"]},
    )
    (making, staging, existed), (gone, _, exists_after) = recorder.events
    assert (making, existed, gone, exists_after) == ("making", False, "gone", False)
    assert (staging.kind, staging.connection) == ("mysql_table", "my")
    assert staging.name.startswith("_etl_") and staging.name.endswith("_created")
    assert seen_during_load == [staging.name], "the target showed before the commit"
    assert tables() == ["created"]
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM created")
        assert cursor.fetchone() == (100,)


# -- a killed process ---------------------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    from execution.engine import temporaries
    from execution.engine.runner import RunContext, run_job

    sink_type, config, root, record, connections = sys.argv[1:6]

    class Append(temporaries.Tracker):
        def making(self, temporary):
            with open(record, "a") as handle:
                handle.write(json.dumps(temporary.__dict__) + "\\n")

    def control(progress):
        if progress.rows_read >= 50:
            os.kill(os.getpid(), signal.SIGKILL)

    rows = [{"id": i, "v": f"row {i}"} for i in range(100)]
    components = [
        {"name": "src", "type": "inline_source", "config": {"rows": rows}},
        {"name": "out", "type": sink_type, "inputs": ["src"], "config": json.loads(config)},
    ]
    run_job(components, RunContext(data_roots=[root], connections=json.loads(connections), batch_size=10,
                                   control=control, temporaries=Append()))
    """
)


def run_and_kill(data_root, tmp_path, sink_type, config, connections=None) -> list[Temporary]:
    """Run a load in a child process that SIGKILLs itself halfway; the temporaries it reported."""
    record = tmp_path / "temporaries.jsonl"
    child = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, sink_type, json.dumps(config), str(data_root), str(record)]
        + [json.dumps(connections or {})],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    return [Temporary(**json.loads(line)) for line in record.read_text().splitlines()]


def remove_all(listed, data_root, connections=None):
    for temporary in listed:
        temporaries.remove(
            temporary, data_roots=[str(data_root)], connection=(connections or {}).get(temporary.connection)
        )


@pytest.mark.parametrize(
    ("sink_type", "config"),
    [
        ("csv_sink", {"path": "out.csv"}),
        ("json_sink", {"path": "out.json", "format": "array"}),
        ("parquet_sink", {"path": "out.parquet"}),
        ("sqlite_sink", {"path": "new.sqlite3", "table": "t"}),
    ],
)
def test_what_a_killed_file_load_left_is_removed_from_its_record(data_root, tmp_path, sink_type, config):
    (data_root / "keep.txt").write_text("x")
    listed = run_and_kill(data_root, tmp_path, sink_type, config)
    assert [t.kind for t in listed] == ["file"]
    assert len(list(data_root.iterdir())) == 2, "the killed run left its temporary file"
    remove_all(listed, data_root)
    assert sorted(p.name for p in data_root.iterdir()) == ["keep.txt"]


def test_a_killed_load_into_an_existing_sqlite_file_is_rolled_back_and_its_journal_removed(
    data_root, tmp_path
):
    database = data_root / "db.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE kept (id INTEGER, v TEXT)")
        connection.execute("INSERT INTO kept VALUES (1, 'old')")
    listed = run_and_kill(data_root, tmp_path, "sqlite_sink", {"path": "db.sqlite3", "table": "t"})
    assert [t.kind for t in listed] == ["sqlite_journal"]
    assert sorted(p.name for p in data_root.iterdir()) == ["db.sqlite3", "db.sqlite3-journal"]
    remove_all(listed, data_root)
    assert sorted(p.name for p in data_root.iterdir()) == ["db.sqlite3"]
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)]
        assert connection.execute("SELECT * FROM kept").fetchall() == [(1, "old")]


@pytest.mark.mysql
def test_a_killed_load_into_a_new_mysql_table_leaves_a_staging_table_that_is_dropped(
    mysql_target, data_root, tmp_path
):
    connections = {"my": mysql_target["connection"]}
    listed = run_and_kill(
        data_root, tmp_path, "mysql_sink", {"connection": "my", "table": "created"}, connections
    )
    assert [t.kind for t in listed] == ["mysql_table"]
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert [row[0] for row in cursor.fetchall()] == [listed[0].name]
    remove_all(listed, data_root, connections)
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert cursor.fetchall() == ()


def test_remove_touches_only_temporary_names_inside_the_data_roots(data_root, tmp_path):
    target = data_root / "out.csv"
    target.write_text("precious")
    outside = tmp_path / ".out.csv.0123456789abcdef.tmp"
    outside.write_text("x")
    with pytest.raises(EngineError, match="not a temporary file"):
        temporaries.remove(Temporary("file", str(target)), data_roots=[str(data_root)])
    with pytest.raises(EngineError, match="outside the data roots"):
        temporaries.remove(Temporary("file", str(outside)), data_roots=[str(data_root)])
    with pytest.raises(EngineError, match="not a staging table"):
        temporaries.remove(
            Temporary("mysql_table", "db.orders", "my"), data_roots=[str(data_root)], connection={}
        )
    assert target.read_text() == "precious" and outside.exists()
    # Removing what is already gone is nothing.
    temporaries.remove(
        Temporary("file", str(data_root / ".out.csv.0123456789abcdef.tmp")), data_roots=[str(data_root)]
    )
