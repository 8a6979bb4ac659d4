"""mysql_sink on real MariaDB: LOAD DATA LOCAL INFILE and its INSERT fallback
load the same exact values; upsert, replace, failures mid-load and empty
inputs behave the same on both paths."""

import contextlib
import datetime as dt
from decimal import Decimal

import pytest

from execution.engine.errors import EngineError
from execution.engine.runner import run_job
from tests.conftest import server_setting_lock
from tests.engine.helpers import context, inline

pytestmark = pytest.mark.mysql

HOSTILE = [
    "tab\there",
    "new\nline and\r\nCRLF",
    "back\\slash \\N \\t",
    'quote " doubled "" and "," and ",\n',
    "NULL",
    "\\N",
    "",
    None,
    "emoji 🦆🏳️‍🌈 Zoë ß 汉字",
    "trailing space ",
    '"',
    ",",
]
BIG = Decimal("123456789012345678901234567890.12345678")  # 38 digits
PATHS = ["load_data", "inserts"]


def connections(target, path):
    connection = dict(target["connection"])
    if path == "inserts":
        connection["options"] = {"local_infile": "false"}
    return {"my": connection}


def run(target, data_root, components, path, *, batch_size=50_000):
    logged = []
    ctx = context(data_root, connections=connections(target, path), batch_size=batch_size)
    ctx.log = lambda *entry: logged.append(entry)
    result = run_job(components, ctx)
    fell_back = [m for _, _, m in logged if "multi-row INSERTs" in m]
    assert bool(fell_back) == (path == "inserts"), logged
    return result


def rows(target, sql):
    with target["conn"].cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def sink(config, inputs=("src",)):
    return {
        "name": "out",
        "type": "mysql_sink",
        "inputs": list(inputs),
        "config": {"connection": "my", **config},
    }


def source_rows():
    return [
        {
            "id": index,
            "text": text,
            "amount": None if text is None else str(BIG if index % 2 else BIG.copy_negate()),
            "at": None if text is None else "2024-10-27T02:30:00+02:00",
            "day": None if text is None else "2024-02-29",
            "ok": None if text is None else index % 2 == 0,
            "ratio": None if text is None else 1 / (index + 3),
        }
        for index, text in enumerate(HOSTILE)
    ]


COLUMNS = {
    "id": "int",
    "text": "string",
    "amount": "decimal(38,8)",
    "at": "timestamptz",
    "day": "date",
    "ok": "bool",
    "ratio": "float",
}


@pytest.mark.parametrize("path", PATHS)
def test_hostile_text_big_decimals_and_types_load_exactly(mysql_target, data_root, path):
    components = [inline("src", source_rows(), COLUMNS), sink({"table": "t"})]
    result = run(mysql_target, data_root, components, path, batch_size=5)
    assert result.components["out"]["rows_in"] == len(HOSTILE)
    loaded = rows(mysql_target, "SELECT id, `text`, amount, at, day, ok, ratio FROM t ORDER BY id")
    expected = [
        (
            row["id"],
            row["text"],
            None if row["amount"] is None else Decimal(row["amount"]),
            None if row["at"] is None else dt.datetime(2024, 10, 27, 0, 30),
            None if row["day"] is None else dt.date(2024, 2, 29),
            None if row["ok"] is None else int(row["ok"]),
            row["ratio"],
        )
        for row in source_rows()
    ]
    assert loaded == expected
    # Exact text: also byte for byte, and the created table keeps the binary collation.
    assert rows(mysql_target, "SELECT HEX(`text`) FROM t WHERE id = 8") == [
        ("emoji 🦆🏳️‍🌈 Zoë ß 汉字".encode().hex().upper(),)
    ]
    assert rows(mysql_target, "SELECT COUNT(*) FROM t WHERE `text` IS NULL") == [(1,)]


@pytest.mark.postgres
@pytest.mark.parametrize("path", PATHS)
def test_binary_times_and_durations_from_postgres_into_an_existing_table(
    mysql_target, pg_target, data_root, path
):
    rows(
        mysql_target,
        "CREATE TABLE t (id int PRIMARY KEY, raw longblob, clock time(6), span time(6), note varchar(20) "
        "COLLATE utf8mb4_nopad_bin) ENGINE=InnoDB",
    )
    query = (
        "SELECT g AS id, CASE WHEN g = 3 THEN NULL ELSE decode(lpad(to_hex(g), 2, '0') || '00ff0a0d225c2c', 'hex') || "
        "(SELECT convert_to(string_agg(chr(x), '' ORDER BY x), 'UTF8') FROM generate_series(1, 127) x) END AS raw, "
        "time '23:59:59.123456' AS clock, make_interval(hours => 30 - g * 20, secs => 0.5) AS span, "
        "'x' || g AS note FROM generate_series(1, 3) g"
    )
    all_bytes = bytes(range(1, 128))
    components = [
        {"name": "src", "type": "postgres_source", "config": {"connection": "pg", "query": query}},
        sink({"table": "t"}),
    ]
    ctx_connections = connections(mysql_target, path) | {"pg": pg_target["connection"]}
    logged = []
    ctx = context(data_root, connections=ctx_connections)
    ctx.log = lambda *entry: logged.append(entry)
    run_job(components, ctx)
    assert any("multi-row INSERTs" in m for _, _, m in logged) == (path == "inserts")
    assert rows(mysql_target, "SELECT id, raw, clock, span, note FROM t ORDER BY id") == [
        (
            1,
            b'\x01\x00\xff\n\r"\\,' + all_bytes,
            dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=123456),
            dt.timedelta(hours=10, seconds=0.5),
            "x1",
        ),
        (
            2,
            b'\x02\x00\xff\n\r"\\,' + all_bytes,
            dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=123456),
            dt.timedelta(hours=-10, seconds=0.5),
            "x2",
        ),
        (
            3,
            None,
            dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=123456),
            dt.timedelta(hours=-30, seconds=0.5),
            "x3",
        ),
    ]


@pytest.mark.parametrize("path", PATHS)
def test_upsert_keeps_the_last_row_of_each_key_across_batches(mysql_target, data_root, path):
    rows(mysql_target, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10), n int) ENGINE=InnoDB")
    rows(mysql_target, "INSERT INTO t VALUES (1, 'old', 1), (2, 'old', 2), (9, 'kept', 9)")
    data = [
        {"id": 2, "v": "first", "n": 20},
        {"id": 3, "v": "first", "n": 30},
        {"id": 2, "v": "second", "n": 21},
        {"id": 3, "v": None, "n": 31},
        {"id": 4, "v": "new", "n": 40},
    ]
    components = [inline("src", data), sink({"table": "t", "mode": "upsert", "key": ["id"]})]
    run(mysql_target, data_root, components, path, batch_size=2)
    assert rows(mysql_target, "SELECT id, v, n FROM t ORDER BY id") == [
        (1, "old", 1),
        (2, "second", 21),
        (3, None, 31),
        (4, "new", 40),
        (9, "kept", 9),
    ]
    # The staging table was temporary: nothing new in the database.
    assert rows(mysql_target, "SHOW TABLES") == [("t",)]


@pytest.mark.parametrize("path", PATHS)
def test_upsert_into_a_table_the_sink_creates(mysql_target, data_root, path):
    data = [{"k": "a", "v": 1}, {"k": "A", "v": 2}, {"k": "a", "v": 3}, {"k": "a ", "v": 4}]
    components = [inline("src", data), sink({"table": "made", "mode": "upsert", "key": ["k"]})]
    run(mysql_target, data_root, components, path, batch_size=3)
    assert rows(mysql_target, "SELECT k, v FROM made ORDER BY v") == [("A", 2), ("a", 3), ("a ", 4)]
    assert rows(mysql_target, "SHOW TABLES") == [("made",)]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_duplicate_key_in_a_later_batch_leaves_the_table_unchanged(mysql_target, data_root, path, mode):
    rows(mysql_target, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB")
    rows(mysql_target, "INSERT INTO t VALUES (1, 'old'), (100, 'old')")
    # The repeated key is in the third batch (a key of the table for append, of the load for replace).
    repeated = 100 if mode == "append" else 2
    data = [{"id": i, "v": "new"} for i in range(2, 8)] + [
        {"id": repeated, "v": "dup"},
        {"id": 9, "v": "new"},
    ]
    components = [inline("src", data), sink({"table": "t", "mode": mode})]
    with pytest.raises(EngineError, match=f"Duplicate entry '{repeated}'") as raised:
        run(mysql_target, data_root, components, path, batch_size=3)
    assert raised.value.component == "out"
    assert rows(mysql_target, "SELECT id, v FROM t ORDER BY id") == [(1, "old"), (100, "old")]


@pytest.mark.parametrize("path", PATHS)
def test_a_value_the_column_cannot_hold_fails_instead_of_being_truncated(mysql_target, data_root, path):
    rows(mysql_target, "CREATE TABLE t (id int, n tinyint) ENGINE=InnoDB")
    components = [inline("src", [{"id": 1, "n": 5}, {"id": 2, "n": 1000}]), sink({"table": "t"})]
    with pytest.raises(EngineError, match="(?i)out of range"):
        run(mysql_target, data_root, components, path)
    assert rows(mysql_target, "SELECT COUNT(*) FROM t") == [(0,)]


@pytest.mark.parametrize("path", PATHS)
def test_a_failed_load_into_a_new_table_leaves_no_table(mysql_target, data_root, path):
    data = [{"id": i} for i in range(10)] + [{"id": 3}]
    components = [inline("src", data), sink({"table": "made", "mode": "upsert", "key": ["id"]})]
    # upsert passes, then a plain append of a repeated key into the created primary key fails
    run(mysql_target, data_root, components, path, batch_size=4)
    failing = [inline("src", data), sink({"table": "again", "key": ["id"]})]
    with pytest.raises(EngineError, match="Duplicate entry"):
        run(mysql_target, data_root, failing, path, batch_size=4)
    assert rows(mysql_target, "SHOW TABLES") == [("made",)]
    assert rows(mysql_target, "SELECT COUNT(*) FROM made") == [(10,)]


@pytest.mark.parametrize("path", PATHS)
def test_zero_row_batches_and_an_empty_input(mysql_target, data_root, path):
    rows(mysql_target, "CREATE TABLE t (id int, v varchar(5)) ENGINE=InnoDB")
    data = [{"id": i, "v": "x"} for i in range(9)]
    keep_first_and_last_batch = {
        "name": "keep",
        "type": "filter",
        "inputs": ["src"],
        "config": {"where": "id < 3 or id >= 6"},
    }
    components = [inline("src", data), keep_first_and_last_batch, sink({"table": "t"}, inputs=["keep"])]
    result = run(mysql_target, data_root, components, path, batch_size=3)
    assert rows(mysql_target, "SELECT id FROM t ORDER BY id") == [(0,), (1,), (2,), (6,), (7,), (8,)]
    assert result.components["out"]["rows_in"] == 6
    nothing = [inline("src", data), {**keep_first_and_last_batch, "config": {"where": "id < 0"}}]
    ctx = context(data_root, connections=connections(mysql_target, path))
    run_job(nothing + [sink({"table": "t"}, inputs=["keep"])], ctx)
    assert rows(mysql_target, "SELECT COUNT(*) FROM t") == [(6,)]


@pytest.fixture(autouse=True)
def one_test_process_at_a_time_with_local_infile(mysql_target):
    """A test here either needs the server's local_infile on or turns it off for a
    while: under a named lock, no other test process sees the other's value (nor
    takes a temporary 0 as the one to restore)."""
    with server_setting_lock(mysql_target["conn"]):
        yield


@contextlib.contextmanager
def server_local_infile_off(target):
    with target["conn"].cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.local_infile")
        before = cursor.fetchone()[0]
        cursor.execute("SET GLOBAL local_infile = 0")
    try:
        yield
    finally:
        with target["conn"].cursor() as cursor:
            cursor.execute(f"SET GLOBAL local_infile = {int(before)}")


@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_a_server_refusing_local_infile_gets_inserts_with_a_log_line(mysql_target, data_root, mode):
    rows(mysql_target, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB")
    rows(mysql_target, "INSERT INTO t VALUES (1, 'old')")
    data = [{"id": i % 40_000, "v": f"a\tb{i}"} for i in range(1, 45_001)]
    if mode == "append":
        data = [{"id": i, "v": f"a\tb{i}"} for i in range(2, 45_002)]
    logged = []
    ctx = context(data_root, connections={"my": mysql_target["connection"]}, batch_size=10_000)
    ctx.log = lambda *entry: logged.append(entry)
    config = {"table": "t", "mode": mode, "key": ["id"]}
    with server_local_infile_off(mysql_target):
        result = run_job([inline("src", data), sink(config)], ctx)
    assert result.components["out"]["rows_in"] == 45_000
    expected = {1: "old"} | {row["id"]: row["v"] for row in data}
    assert dict(rows(mysql_target, "SELECT id, v FROM t")) == expected
    assert [m for _, c, m in logged if c == "out" and "refuses LOAD DATA LOCAL INFILE (error" in m]
    assert rows(mysql_target, "SHOW TABLES") == [("t",)]


def test_load_data_is_what_runs_when_both_ends_allow_it(mysql_target, data_root):
    def loads_so_far():
        return int(rows(mysql_target, "SHOW GLOBAL STATUS LIKE 'Com_load'")[0][1])

    before = loads_so_far()
    data = [{"id": i} for i in range(50_000)]
    run(mysql_target, data_root, [inline("src", data), sink({"table": "t"})], "load_data")
    # 20,000 rows per LOAD DATA statement (other sessions may load too, never fewer).
    assert loads_so_far() - before >= 3
    assert rows(mysql_target, "SELECT COUNT(*), SUM(id) FROM t") == [(50_000, Decimal(sum(range(50_000))))]
