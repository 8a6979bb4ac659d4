"""mysql_source on real MariaDB: Arrow batches through connectorx, the types
it converts on the server (DECIMAL, TIME), exact batches, empty results,
stopping early and the server's errors."""

import datetime as dt
import time
from decimal import Decimal

import polars as pl
import pytest

from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import RunContext, run_job
from tests.engine.helpers import context

pytestmark = pytest.mark.mysql

BIG = "1234567890123456789012345678.1234567890"  # 38 digits
TEXT = "tab\there, new\nline, back\\slash, quote \" ' , emoji 🦆 Zoë"


def execute(target, sql, args=None):
    with target["conn"].cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def read(data_root, target, config, *, batch_size=50_000, log=None):
    ctx = context(data_root, connections={"my": target["connection"]}, batch_size=batch_size)
    ctx.log = log
    components = [
        {"name": "src", "type": "mysql_source", "config": {"connection": "my", **config}},
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    result = run_job(components, ctx)
    return pl.read_parquet(data_root / "out.parquet"), result


def test_types_arrive_exact(mysql_target, data_root):
    execute(
        mysql_target,
        "CREATE TABLE t (id int PRIMARY KEY, big decimal(38,10), money decimal(12,2), wide decimal(65,30), "
        "span time(6), ok tinyint(1), small tinyint, huge bigint unsigned, at datetime(6), day date, "
        "txt text, j json, raw blob, flag bit(3), kind enum('a','b'), f double) ENGINE=InnoDB",
    )
    execute(
        mysql_target,
        "INSERT INTO t VALUES (1, %s, -0.01, '12345678901234567890123456789012345.123456789012345678901234567890', "
        "'-838:59:59.000001', 1, -5, 18446744073709551615, '2024-03-31 02:30:00.5', '2024-02-29', %s, "
        "'{\"a\": 1}', x'00ff0a5c', b'101', 'b', 0.1), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
        "(3, %s, 0, 0, '12:34:56', 0, 0, 0, '1970-01-01', '1000-01-01', '', '[]', '', b'0', 'a', -1e300)",
        (BIG, TEXT, "-" + BIG),
    )
    logged = []
    frame, result = read(data_root, mysql_target, {"table": "t"}, log=lambda *entry: logged.append(entry))
    frame = frame.sort("id")
    assert frame.schema["big"] == pl.Decimal(38, 10) and frame.schema["money"] == pl.Decimal(12, 2)
    assert frame.schema["wide"] == pl.String and frame.schema["span"] == pl.Duration("us")
    assert frame.schema["ok"] == pl.Boolean and frame.schema["huge"] == pl.UInt64
    assert frame.schema["at"] == pl.Datetime("us") and frame.schema["raw"] == pl.Binary
    first, nulls, third = frame.rows(named=True)
    assert first == {
        "id": 1,
        "big": Decimal(BIG),
        "money": Decimal("-0.01"),
        "wide": "12345678901234567890123456789012345.123456789012345678901234567890",
        "span": -dt.timedelta(hours=838, minutes=59, seconds=59, microseconds=1),
        "ok": True,
        "small": -5,
        "huge": 18446744073709551615,
        "at": dt.datetime(2024, 3, 31, 2, 30, 0, 500000),
        "day": dt.date(2024, 2, 29),
        "txt": TEXT,
        "j": '{"a": 1}',
        "raw": b"\x00\xff\n\\",
        "flag": b"\x05",
        "kind": "b",
        "f": 0.1,
    }
    assert all(value is None for key, value in nulls.items() if key != "id")
    assert third["big"] == Decimal("-" + BIG) and third["span"] == dt.timedelta(
        hours=12, minutes=34, seconds=56
    )
    assert third["ok"] is False and third["txt"] == "" and third["raw"] == b"" and third["f"] == -1e300
    assert result.components["src"]["rows_out"] == 3
    assert [entry for entry in logged if "'wide' is DECIMAL(65,30)" in entry[2]]


def test_batches_hold_exactly_batch_size_rows(mysql_target, data_root):
    execute(mysql_target, "CREATE TABLE n (id int, q decimal(10,2)) ENGINE=InnoDB")
    execute(mysql_target, "INSERT INTO n SELECT seq, seq / 4 FROM seq_1_to_25001")
    frame, result = read(data_root, mysql_target, {"table": "n"}, batch_size=10_000)
    assert frame.height == 25_001 and frame["id"].n_unique() == 25_001
    assert frame.sort("id")["q"][:2].to_list() == [Decimal("0.25"), Decimal("0.50")]
    assert result.components["src"]["batches"] == 3 and result.components["src"]["rows_out"] == 25_001


def test_an_empty_result_is_one_empty_batch_with_types(mysql_target, data_root):
    execute(mysql_target, "CREATE TABLE e (id bigint, amount decimal(30,4), ok tinyint(1)) ENGINE=InnoDB")
    frame, result = read(data_root, mysql_target, {"query": "SELECT id, amount, ok FROM e"})
    assert frame.height == 0
    assert dict(frame.schema) == {"id": pl.Int64, "amount": pl.Decimal(30, 4), "ok": pl.Boolean}
    assert result.components["src"]["batches"] == 1


def test_the_server_refusing_the_query_is_its_own_words(mysql_target, data_root):
    with pytest.raises(EngineError, match="Unknown column 'nope'") as raised:
        read(data_root, mysql_target, {"query": "SELECT nope FROM information_schema.TABLES"})
    assert raised.value.field == "config.query"


def test_a_stop_after_the_first_batch_kills_the_query(mysql_target, data_root):
    def stop_after_first_batch(progress):
        if progress.rows_read:
            raise StopRequested

    ctx = RunContext(
        data_roots=[str(data_root)],
        connections={"my": mysql_target["connection"]},
        batch_size=1000,
        control=stop_after_first_batch,
    )
    query = "SELECT a.seq AS a, b.seq AS b FROM seq_1_to_100000 a, seq_1_to_1000 b"
    components = [
        {"name": "src", "type": "mysql_source", "config": {"connection": "my", "query": query}},
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    with pytest.raises(StopRequested):
        run_job(components, ctx)
    time.sleep(0.5)
    running = execute(
        mysql_target,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '/* etl-read-%%' AND COMMAND <> 'Sleep'",
    )
    assert running[0][0] == 0
    assert not (data_root / "out.parquet").exists()


def test_a_query_ending_in_a_semicolon_is_read(mysql_target, data_root):
    frame, _ = read(data_root, mysql_target, {"query": "SELECT seq AS n, seq / 2 AS half FROM seq_1_to_3;"})
    assert frame.rows() == [(1, Decimal("0.5000")), (2, Decimal("1.0000")), (3, Decimal("1.5000"))]


def test_the_run_deadline_limits_lock_waits_of_the_read(mysql_target, data_root):
    ctx = context(data_root, connections={"my": mysql_target["connection"]})
    ctx.deadline = time.time() + 7.2
    components = [
        {
            "name": "src",
            "type": "mysql_source",
            "config": {"connection": "my", "query": "SELECT @@SESSION.innodb_lock_wait_timeout AS w"},
        },
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    run_job(components, ctx)
    assert pl.read_parquet(data_root / "out.parquet")["w"].to_list() == [8]
