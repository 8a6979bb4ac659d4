"""A run that fails or is stopped halfway through a multi-batch load leaves
every target exactly as it was."""

import pytest

from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import run_job
from tests.engine.helpers import context

ROWS = [{"id": i, "v": f"new {i}"} for i in range(100)]


def stop_after(batches: int):
    seen = []

    def control(progress):
        seen.append(progress)
        if progress.rows_read >= batches * 10:
            raise StopRequested()

    return control


def load(sink_type, config, data_root, *, connections=None, control=None, rows=ROWS):
    """Load 100 rows in batches of 10 with `replace`."""
    components = [
        {"name": "src", "type": "inline_source", "config": {"rows": rows}},
        {"name": "typed", "type": "select", "inputs": ["src"], "config": {"cast": {"id": "int"}}},
        {"name": "out", "type": sink_type, "inputs": ["typed"], "config": {**config, "mode": "replace"}},
    ]
    return run_job(components, context(data_root, connections=connections, batch_size=10, control=control))


# A value that fails the cast in the 6th batch, after 5 batches were written.
BAD_ROWS = ROWS[:55] + [{"id": "not a number", "v": "bad"}] + ROWS[56:]


def failures():
    return [
        ("stopped", {"control": stop_after(5)}, StopRequested),
        ("failed", {"rows": BAD_ROWS}, EngineError),
    ]


@pytest.mark.parametrize(("how", "options", "error"), failures())
@pytest.mark.parametrize(
    ("sink_type", "original"),
    [("csv_sink", "id,v\n1,old\n"), ("json_sink", '{"id":1,"v":"old"}\n')],
)
def test_a_file_target_is_untouched(data_root, sink_type, original, how, options, error):
    target = data_root / "target.out"
    target.write_text(original)
    with pytest.raises(error):
        load(sink_type, {"path": "target.out"}, data_root, **options)
    assert target.read_text() == original
    assert sorted(p.name for p in data_root.iterdir()) == ["target.out"]


@pytest.mark.parametrize(("how", "options", "error"), failures())
def test_a_parquet_target_is_untouched(data_root, how, options, error):
    import polars as pl

    pl.DataFrame({"id": [1], "v": ["old"]}).write_parquet(data_root / "t.parquet")
    before = (data_root / "t.parquet").read_bytes()
    with pytest.raises(error):
        load("parquet_sink", {"path": "t.parquet"}, data_root, **options)
    assert (data_root / "t.parquet").read_bytes() == before
    assert sorted(p.name for p in data_root.iterdir()) == ["t.parquet"]


@pytest.mark.postgres
@pytest.mark.parametrize(("how", "options", "error"), failures())
def test_a_postgres_target_is_untouched(pg_target, data_root, how, options, error):
    table = f"{pg_target['schema']}.t"
    pg_target["conn"].execute(f"CREATE TABLE {table} (id bigint, v text)")
    pg_target["conn"].execute(f"INSERT INTO {table} VALUES (1, 'old')")
    with pytest.raises(error):
        load(
            "postgres_sink",
            {"connection": "pg", "table": table},
            data_root,
            connections={"pg": pg_target["connection"]},
            **options,
        )
    assert pg_target["conn"].execute(f"SELECT id, v FROM {table}").fetchall() == [(1, "old")]


@pytest.mark.postgres
def test_a_postgres_table_created_by_a_failed_run_is_gone(pg_target, data_root):
    table = f"{pg_target['schema']}.created"
    with pytest.raises(EngineError):
        load(
            "postgres_sink",
            {"connection": "pg", "table": table},
            data_root,
            connections={"pg": pg_target["connection"]},
            rows=BAD_ROWS,
        )
    assert pg_target["conn"].execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,)


@pytest.mark.mysql
@pytest.mark.parametrize(("how", "options", "error"), failures())
def test_a_mysql_target_is_untouched(mysql_target, data_root, how, options, error):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("CREATE TABLE t (id bigint, v text) ENGINE=InnoDB")
        cursor.execute("INSERT INTO t VALUES (1, 'old')")
    with pytest.raises(error):
        load(
            "mysql_sink",
            {"connection": "my", "table": "t"},
            data_root,
            connections={"my": mysql_target["connection"]},
            **options,
        )
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SELECT id, v FROM t")
        assert cursor.fetchall() == ((1, "old"),)


@pytest.mark.mysql
def test_a_mysql_table_created_by_a_failed_run_is_dropped(mysql_target, data_root):
    with pytest.raises(EngineError):
        load(
            "mysql_sink",
            {"connection": "my", "table": "created"},
            data_root,
            connections={"my": mysql_target["connection"]},
            rows=BAD_ROWS,
        )
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("SHOW TABLES")
        assert cursor.fetchall() == ()


@pytest.mark.parametrize(("how", "options", "error"), failures())
def test_a_sqlite_target_is_untouched(data_root, how, options, error):
    import sqlite3

    with sqlite3.connect(data_root / "db.sqlite3") as connection:
        connection.execute("CREATE TABLE t (id INTEGER, v TEXT)")
        connection.execute("INSERT INTO t VALUES (1, 'old')")
    with pytest.raises(error):
        load("sqlite_sink", {"path": "db.sqlite3", "table": "t"}, data_root, **options)
    with sqlite3.connect(data_root / "db.sqlite3") as connection:
        assert connection.execute("SELECT id, v FROM t").fetchall() == [(1, "old")]


@pytest.mark.postgres
def test_a_failing_sink_rolls_back_the_others(pg_target, data_root):
    """Two sinks: the database one fails at the end; the file sink must not commit either."""
    table = f"{pg_target['schema']}.t"
    pg_target["conn"].execute(f"CREATE TABLE {table} (id bigint, v text)")
    components = [
        {"name": "src", "type": "inline_source", "config": {"rows": ROWS}},
        {"name": "file", "type": "csv_sink", "inputs": ["src"], "config": {"path": "o.csv"}},
        {
            "name": "db",
            "type": "postgres_sink",
            "inputs": ["src"],
            "config": {"connection": "pg", "table": table, "mode": "upsert", "key": ["id"]},
        },
    ]
    with pytest.raises(EngineError, match="unique constraint"):
        run_job(components, context(data_root, connections={"pg": pg_target["connection"]}, batch_size=10))
    assert list(data_root.iterdir()) == []
