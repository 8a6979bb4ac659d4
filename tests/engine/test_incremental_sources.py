"""Incremental database sources: the watermark condition is part of the
query (a bound parameter), the new watermark is the largest value read, and
database sinks write a load marker with their data."""

import sqlite3

import pytest

from execution.engine import load_markers
from execution.engine.errors import EngineError
from execution.engine.runner import RunContext, run_job


def run(data_root, components, *, state=None, connections=None, load_id=None):
    seen = {}
    ctx = RunContext(
        data_roots=[str(data_root)],
        connections=connections or {},
        batch_size=2,
        incremental_state=state or {},
        load_id=load_id,
        before_commit=lambda states, evidence: seen.update(states=states, evidence=evidence),
    )
    result = run_job(components, ctx)
    return result, seen


def sqlite_job(incremental, sink_path="out.db"):
    return [
        {
            "name": "orders",
            "type": "sqlite_source",
            "config": {"path": "shop.db", "table": "orders", "incremental": incremental},
        },
        {
            "name": "load",
            "type": "sqlite_sink",
            "inputs": ["orders"],
            "config": {"path": sink_path, "table": "orders"},
        },
    ]


@pytest.fixture
def shop_db(data_root):
    with sqlite3.connect(data_root / "shop.db") as connection:
        connection.execute("CREATE TABLE orders (id INTEGER, updated_at TEXT)")
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?)",
            [(1, "2026-01-01T10:00:00"), (2, "2026-01-02T10:00:00"), (3, "2026-01-03T10:00:00")],
        )
    return data_root / "shop.db"


def loaded(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT id FROM orders ORDER BY id").fetchall()


def test_a_first_run_reads_everything_and_reports_the_largest_value(data_root, shop_db):
    result, seen = run(data_root, sqlite_job({"column": "id"}))
    assert result.components["orders"]["rows_out"] == 3
    assert result.states == {"orders": {"watermark": 3}}
    assert seen["states"] == {"orders": {"watermark": 3}}


def test_a_later_run_reads_only_rows_past_the_watermark(data_root, shop_db):
    with sqlite3.connect(shop_db) as connection:
        connection.execute("INSERT INTO orders VALUES (4, '2026-01-04T10:00:00')")
    result, _ = run(data_root, sqlite_job({"column": "id"}), state={"orders": {"watermark": 3}})
    assert result.components["orders"]["rows_out"] == 1
    assert loaded(data_root / "out.db") == [(4,)]
    assert result.states == {"orders": {"watermark": 4}}


def test_nothing_new_keeps_the_watermark(data_root, shop_db):
    result, _ = run(data_root, sqlite_job({"column": "id"}), state={"orders": {"watermark": 3}})
    assert result.components["orders"]["rows_out"] == 0
    assert result.states == {"orders": {"watermark": 3}}


def test_initial_is_inclusive_and_lookback_reads_again(data_root, shop_db):
    first, _ = run(data_root, sqlite_job({"column": "id", "initial": 2}), load_id=None)
    assert first.components["orders"]["rows_out"] == 2
    again, _ = run(
        data_root,
        sqlite_job({"column": "updated_at", "lookback": 86400}, sink_path="again.db"),
        state={"orders": {"watermark": "2026-01-03T10:00:00"}},
    )
    # One day back from the 3rd at 10:00: the 3rd itself (the 2nd at 10:00 is not after it).
    assert loaded(data_root / "again.db") == [(3,)]


def test_the_condition_is_a_bound_parameter_not_text(data_root, shop_db):
    hostile = "0 OR 1=1; DROP TABLE orders"
    result, _ = run(data_root, sqlite_job({"column": "id"}), state={"orders": {"watermark": hostile}})
    # Compared as text against integers: SQLite orders every integer before any text.
    assert result.components["orders"]["rows_out"] == 0
    assert loaded(shop_db) == [(1,), (2,), (3,)]


def test_an_unknown_watermark_column_names_the_field(data_root, shop_db):
    with pytest.raises(EngineError) as raised:
        run(data_root, sqlite_job({"column": "nope"}), state={"orders": {"watermark": 1}})
    assert raised.value.component == "orders"
    assert raised.value.field == "config.incremental.column"


def test_a_sqlite_sink_writes_its_load_marker_with_the_data(data_root, shop_db):
    _, seen = run(data_root, sqlite_job({"column": "id"}), load_id="load-1")
    evidence = seen["evidence"][0]
    assert evidence["kind"] == load_markers.MARKER
    assert load_markers.load_committed(evidence, connections={}, data_roots=[str(data_root)])
    other = {**evidence, "load_id": "load-2"}
    assert not load_markers.load_committed(other, connections={}, data_roots=[str(data_root)])


@pytest.mark.postgres
def test_postgres_source_pushes_the_condition_into_its_query(data_root, pg_target):
    conn, schema = pg_target["conn"], pg_target["schema"]
    conn.execute(f'CREATE TABLE "{schema}".events (id int, at timestamptz, note text)')
    conn.execute(
        f"""INSERT INTO "{schema}".events SELECT g, '2026-01-01'::timestamptz + g * interval '1 hour', '50%'
        FROM generate_series(1, 10) g"""
    )
    components = [
        {
            "name": "events",
            "type": "postgres_source",
            "config": {
                "connection": "pg",
                "query": f"SELECT * FROM \"{schema}\".events WHERE note LIKE '50%'",
                "incremental": {"column": "at"},
            },
        },
        {
            "name": "load",
            "type": "postgres_sink",
            "inputs": ["events"],
            "config": {"connection": "pg", "table": f"{schema}.copy"},
        },
    ]
    connections = {"pg": pg_target["connection"]}
    state = {"events": {"watermark": "2026-01-01T07:00:00+00:00"}}
    result, seen = run(data_root, components, state=state, connections=connections, load_id="pg-load")
    assert result.components["events"]["rows_out"] == 3
    assert result.states["events"]["watermark"] == "2026-01-01T10:00:00+00:00"
    assert conn.execute(f'SELECT count(*) FROM "{schema}".copy').fetchone()[0] == 3
    assert load_markers.load_committed(seen["evidence"][0], connections=connections, data_roots=[])


@pytest.mark.mysql
def test_mysql_source_reads_past_the_watermark(data_root, mysql_target):
    with mysql_target["conn"].cursor() as cursor:
        cursor.execute("CREATE TABLE items (id INT, changed DATETIME(6)) ENGINE=InnoDB")
        cursor.execute(
            "INSERT INTO items VALUES (1, '2026-01-01 00:00:00'), (2, '2026-01-02 00:00:00'), "
            "(3, '2026-01-03 00:00:00')"
        )
    components = [
        {
            "name": "items",
            "type": "mysql_source",
            "config": {"connection": "my", "table": "items", "incremental": {"column": "changed"}},
        },
        {
            "name": "load",
            "type": "mysql_sink",
            "inputs": ["items"],
            "config": {"connection": "my", "table": "copy"},
        },
    ]
    connections = {"my": mysql_target["connection"]}
    state = {"items": {"watermark": "2026-01-01T00:00:00"}}
    result, seen = run(data_root, components, state=state, connections=connections, load_id="my-load")
    assert result.components["items"]["rows_out"] == 2
    assert result.states["items"]["watermark"] == "2026-01-03T00:00:00"
    assert load_markers.load_committed(seen["evidence"][0], connections=connections, data_roots=[])


@pytest.mark.postgres
@pytest.mark.parametrize("column_type", ["timestamptz", "timestamp", "text"])
def test_a_postgres_lookback_reads_late_rows_again_whatever_the_column_holds(
    data_root, pg_target, column_type
):
    conn, schema = pg_target["conn"], pg_target["schema"]
    conn.execute(f'CREATE TABLE "{schema}".events (id int, at {column_type})')
    conn.execute(
        f"""INSERT INTO "{schema}".events SELECT g,
        to_char(timestamp '2026-01-01' + g * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS')::{column_type}
        FROM generate_series(1, 10) g"""
    )
    components = [
        {
            "name": "events",
            "type": "postgres_source",
            "config": {
                "connection": "pg",
                "table": f"{schema}.events",
                "incremental": {"column": "at", "lookback": 7200},
            },
        },
        {"name": "out", "type": "csv_sink", "inputs": ["events"], "config": {"path": "out.csv"}},
    ]
    state = {"events": {"watermark": "2026-01-01T08:00:00"}}
    result, _ = run(data_root, components, state=state, connections={"pg": pg_target["connection"]})
    # Two hours back from 08:00 is 06:00: the rows of 07:00 to 10:00.
    assert result.components["events"]["rows_out"] == 4
    assert result.states["events"]["watermark"].startswith("2026-01-01T10:00:00")
