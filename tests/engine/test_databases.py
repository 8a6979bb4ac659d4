"""End to end on real PostgreSQL and MariaDB (and SQLite): every database
source and sink, every sink mode, types round-tripping."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.engine.helpers import context, inline

UTC = dt.UTC
ROWS = [
    {
        "id": 1,
        "name": "Zoë “quoted”, with\nnewline",
        "amount": "12.34",
        "day": "2024-02-29",
        "at": "2024-02-29T23:59:58.123456+02:00",
        "ok": True,
    },
    {"id": 2, "name": None, "amount": None, "day": None, "at": None, "ok": None},
    {
        "id": 3,
        "name": "",
        "amount": "-0.01",
        "day": "1999-12-31",
        "at": "2000-01-01T00:00:00+00:00",
        "ok": False,
    },
]
TYPES = {
    "id": "int",
    "name": "string",
    "amount": "decimal(10,2)",
    "day": "date",
    "at": "timestamptz",
    "ok": "bool",
}


def typed_source(name="src", rows=ROWS):
    return [inline(name, rows, TYPES)]


def expected_rows():
    return [
        (
            1,
            "Zoë “quoted”, with\nnewline",
            Decimal("12.34"),
            dt.date(2024, 2, 29),
            dt.datetime(2024, 2, 29, 21, 59, 58, 123456, tzinfo=UTC),
            True,
        ),
        (2, None, None, None, None, None),
        (3, "", Decimal("-0.01"), dt.date(1999, 12, 31), dt.datetime(2000, 1, 1, tzinfo=UTC), False),
    ]


def sink(type_, config, inputs=("src",)):
    return {"name": "out", "type": type_, "inputs": list(inputs), "config": config}


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_sink_creates_the_table_and_round_trips_types(pg_target, data_root):
    table = f"{pg_target['schema']}.flights"
    components = typed_source() + [sink("postgres_sink", {"connection": "pg", "table": table})]
    run_job(components, context(data_root, connections={"pg": pg_target["connection"]}))
    rows = (
        pg_target["conn"].execute(f"SELECT id, name, amount, day, at, ok FROM {table} ORDER BY id").fetchall()
    )
    assert [tuple(r[:4]) + (r[4] and r[4].astimezone(UTC), r[5]) for r in rows] == expected_rows()
    types = dict(
        pg_target["conn"]
        .execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
            (pg_target["schema"],),
        )
        .fetchall()
    )
    assert (
        types["at"] == "timestamp with time zone"
        and types["amount"] == "numeric"
        and types["ok"] == "boolean"
    )


@pytest.mark.postgres
def test_postgres_source_reads_back_what_the_sink_wrote(pg_target, data_root):
    table = f"{pg_target['schema']}.flights"
    connections = {"pg": pg_target["connection"]}
    run_job(
        typed_source() + [sink("postgres_sink", {"connection": "pg", "table": table})],
        context(data_root, connections=connections),
    )
    components = [
        {"name": "src", "type": "postgres_source", "config": {"connection": "pg", "table": table}},
        sink("parquet_sink", {"path": "back.parquet"}),
    ]
    result = run_job(components, context(data_root, connections=connections, batch_size=2))
    back = pl.read_parquet(data_root / "back.parquet").sort("id")
    assert back.rows() == expected_rows()
    assert result.components["src"]["batches"] == 2
    assert result.progress.percent == 100.0


@pytest.mark.postgres
def test_postgres_source_reads_a_query(pg_target, data_root):
    pg_target["conn"].execute(
        f'CREATE TABLE "{pg_target["schema"]}".t AS SELECT g AS n FROM generate_series(1, 10) g'
    )
    query = f'SELECT n, n * 2 AS twice FROM "{pg_target["schema"]}".t WHERE n > 7'
    components = [
        {"name": "src", "type": "postgres_source", "config": {"connection": "pg", "query": query}},
        sink("csv_sink", {"path": "q.csv"}),
    ]
    run_job(components, context(data_root, connections={"pg": pg_target["connection"]}))
    assert (data_root / "q.csv").read_text() == "n,twice\n8,16\n9,18\n10,20\n"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("append", [(1, "old"), (2, "old"), (2, "new"), (3, "new")]),
        ("replace", [(2, "new"), (3, "new")]),
        ("upsert", [(1, "old"), (2, "new"), (3, "new")]),
    ],
)
def test_postgres_sink_modes(pg_target, data_root, mode, expected):
    table = f"{pg_target['schema']}.t"
    unique = "PRIMARY KEY" if mode == "upsert" else ""
    pg_target["conn"].execute(f'CREATE TABLE "{pg_target["schema"]}".t (id int {unique}, v text)')
    pg_target["conn"].execute(f"INSERT INTO {table} VALUES (1, 'old'), (2, 'old')")
    config = {"connection": "pg", "table": table, "mode": mode, "key": ["id"]}
    components = [
        inline("src", [{"id": 2, "v": "new"}, {"id": 3, "v": "new"}]),
        sink("postgres_sink", config),
    ]
    run_job(components, context(data_root, connections={"pg": pg_target["connection"]}))
    assert pg_target["conn"].execute(f"SELECT id, v FROM {table} ORDER BY id, v DESC").fetchall() == expected


@pytest.mark.postgres
def test_postgres_upsert_keeps_the_last_row_of_a_repeated_key(pg_target, data_root):
    table = f"{pg_target['schema']}.t"
    config = {"connection": "pg", "table": table, "mode": "upsert", "key": ["id"]}
    rows = [{"id": 1, "v": "first"}, {"id": 1, "v": "second"}]
    run_job(
        [inline("src", rows), sink("postgres_sink", config)],
        context(data_root, connections={"pg": pg_target["connection"]}, batch_size=1),
    )
    assert pg_target["conn"].execute(f"SELECT id, v FROM {table}").fetchall() == [(1, "second")]


@pytest.mark.postgres
def test_postgres_upsert_without_a_unique_key_says_what_is_missing(pg_target, data_root):
    table = f"{pg_target['schema']}.t"
    pg_target["conn"].execute(f"CREATE TABLE {table} (id int, v text)")
    config = {"connection": "pg", "table": table, "mode": "upsert", "key": ["id"]}
    with pytest.raises(EngineError, match="unique constraint") as raised:
        run_job(
            [inline("src", [{"id": 1, "v": "x"}]), sink("postgres_sink", config)],
            context(data_root, connections={"pg": pg_target["connection"]}),
        )
    assert raised.value.field == "config.key"


@pytest.mark.postgres
def test_an_unreachable_database_is_a_clear_error_without_the_password(data_root):
    connection = {
        "kind": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "database": "x",
        "user": "u",
        "password": "s3cret-pw",
    }
    components = [inline("src", [{"a": 1}]), sink("postgres_sink", {"connection": "pg", "table": "t"})]
    with pytest.raises(EngineError) as raised:
        run_job(components, context(data_root, connections={"pg": connection}))
    assert raised.value.component == "out"
    assert "Cannot connect" in str(raised.value) and "s3cret-pw" not in str(raised.value)


# -- MariaDB -----------------------------------------------------------------------------------


def mysql_rows(target, sql):
    with target["conn"].cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.mysql
def test_mysql_sink_creates_the_table_and_round_trips_types(mysql_target, data_root):
    components = typed_source() + [sink("mysql_sink", {"connection": "my", "table": "flights"})]
    run_job(components, context(data_root, connections={"my": mysql_target["connection"]}))
    rows = mysql_rows(mysql_target, "SELECT id, name, amount, day, at, ok FROM flights ORDER BY id")
    # MySQL has no zoned type: the sink stores UTC.
    expected = [
        r[:4] + (r[4] and r[4].replace(tzinfo=None), None if r[5] is None else int(r[5]))
        for r in expected_rows()
    ]
    assert rows == expected


@pytest.mark.mysql
def test_mysql_source_reads_back_what_the_sink_wrote(mysql_target, data_root):
    connections = {"my": mysql_target["connection"]}
    run_job(
        typed_source() + [sink("mysql_sink", {"connection": "my", "table": "flights"})],
        context(data_root, connections=connections),
    )
    components = [
        {"name": "src", "type": "mysql_source", "config": {"connection": "my", "table": "flights"}},
        sink("parquet_sink", {"path": "back.parquet"}),
    ]
    run_job(components, context(data_root, connections=connections, batch_size=2))
    back = pl.read_parquet(data_root / "back.parquet").sort("id")
    assert back.schema["ok"] == pl.Boolean and back.schema["amount"] == pl.Decimal(10, 2)
    assert back.rows() == [r[:4] + (r[4] and r[4].replace(tzinfo=None), r[5]) for r in expected_rows()]


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("append", [(1, "old"), (2, "old"), (2, "new"), (3, "new")]),
        ("replace", [(2, "new"), (3, "new")]),
        ("upsert", [(1, "old"), (2, "new"), (3, "new")]),
    ],
)
def test_mysql_sink_modes(mysql_target, data_root, mode, expected):
    unique = "PRIMARY KEY" if mode == "upsert" else ""
    mysql_rows(mysql_target, f"CREATE TABLE t (id int {unique}, v varchar(10)) ENGINE=InnoDB")
    mysql_rows(mysql_target, "INSERT INTO t VALUES (1, 'old'), (2, 'old')")
    config = {"connection": "my", "table": "t", "mode": mode, "key": ["id"]}
    components = [inline("src", [{"id": 2, "v": "new"}, {"id": 3, "v": "new"}]), sink("mysql_sink", config)]
    run_job(components, context(data_root, connections={"my": mysql_target["connection"]}))
    assert mysql_rows(mysql_target, "SELECT id, v FROM t ORDER BY id, v DESC") == expected


# -- SQLite ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("append", [(1, "old"), (2, "new"), (2, "old"), (3, "new")]),
        ("replace", [(2, "new"), (3, "new")]),
        ("upsert", [(1, "old"), (2, "new"), (3, "new")]),
    ],
)
def test_sqlite_sink_modes_and_source(data_root, mode, expected):
    seed = [inline("src", [{"id": 1, "v": "old"}, {"id": 2, "v": "old"}])]
    config = {"path": "db.sqlite3", "table": "t", "mode": mode}
    if mode == "upsert":
        config["key"] = ["id"]
    run_job(seed + [sink("sqlite_sink", config)], context(data_root))
    new = [inline("src", [{"id": 2, "v": "new"}, {"id": 3, "v": "new"}])]
    run_job(new + [sink("sqlite_sink", {**config, "mode": mode})], context(data_root))
    components = [
        {
            "name": "src",
            "type": "sqlite_source",
            "config": {"path": "db.sqlite3", "query": "SELECT id, v FROM t ORDER BY id, v"},
        },
        sink("parquet_sink", {"path": "back.parquet"}),
    ]
    run_job(components, context(data_root))
    assert pl.read_parquet(data_root / "back.parquet").rows() == expected


def test_sqlite_sink_round_trips_types_as_text(data_root):
    run_job(
        typed_source() + [sink("sqlite_sink", {"path": "db.sqlite3", "table": "flights"})], context(data_root)
    )
    components = [
        {"name": "src", "type": "sqlite_source", "config": {"path": "db.sqlite3", "table": "flights"}},
        sink("csv_sink", {"path": "back.csv"}),
    ]
    run_job(components, context(data_root))
    back = pl.read_csv(data_root / "back.csv", infer_schema=False).sort("id")
    assert back.row(0) == (
        "1",
        "Zoë “quoted”, with\nnewline",
        "12.34",
        "2024-02-29",
        "2024-02-29T21:59:58.123456+00:00",
        "1",
    )
    assert back.row(1) == ("2", None, None, None, None, None)
