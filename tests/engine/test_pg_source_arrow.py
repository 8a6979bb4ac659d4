"""postgres_source on real PostgreSQL: Arrow batches through ADBC, every type
it maps, exact decimals, time zones, exact batches and counters, stopping,
deadlines and the server's errors."""

import datetime as dt
import threading
import time
from decimal import Decimal

import polars as pl
import pytest

from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import RunContext, run_job
from tests.engine.helpers import context

pytestmark = pytest.mark.postgres

UTC = dt.UTC
BIG = Decimal("1234567890123456789012345678.1234567890")  # 38 digits
TEXT = "tab\there, new\nline, back\\slash, quote \" ' and emoji 🦆 Zoë"


def read(data_root, pg_target, config, *, batch_size=50_000, log=None, **options):
    ctx = context(data_root, connections={"pg": pg_target["connection"]}, batch_size=batch_size)
    ctx.log = log
    for key, value in options.items():
        setattr(ctx, key, value)
    components = [
        {"name": "src", "type": "postgres_source", "config": {"connection": "pg", **config}},
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    result = run_job(components, ctx)
    return pl.read_parquet(data_root / "out.parquet"), result


def execute(pg_target, sql):
    pg_target["conn"].execute(sql)


@pytest.fixture
def typed_table(pg_target):
    schema = pg_target["schema"]
    # The session writing the rows is in Berlin: the timestamptz values cross the
    # 2024-03-31 switch to summer time.
    execute(pg_target, "SET TimeZone = 'Europe/Berlin'")
    execute(
        pg_target,
        f"""CREATE TABLE "{schema}".typed (
            id int2 PRIMARY KEY, i4 int4, i8 int8, f4 float4, f8 float8, txt text, vc varchar(20), ch char(3),
            big numeric(38,10), money2 numeric(12,2), wide numeric(50,5), whole numeric(5,-2), loose numeric,
            day date, clock time, naive timestamp, zoned timestamptz, ok bool,
            j json, jb jsonb, u uuid, raw bytea, span interval, ints int4[], words text[])""",
    )
    execute(
        pg_target,
        f"""INSERT INTO "{schema}".typed VALUES
        (1, 2147483647, -9223372036854775808, 1.5, 0.1, $${TEXT}$$, 'varchar', 'ab',
         {BIG}, -0.01, 12345678901234567890123456789012345678901234.12345, 12345, 1.5,
         '2024-02-29', '23:59:59.999999', '2024-03-31 02:30:00', '2024-03-31 01:59:59.5', true,
         '{{"a": [1, 2]}}', '{{"b": null}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff0a5c', '1 day 02:03:04.5',
         ARRAY[1, NULL, 3], ARRAY['x', NULL]),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, -1, 0, -0.0, 1e300, '', '', '', -{BIG}, 0, 0, 0, -2.25,
         '1999-12-31', '00:00', '1970-01-01', '2024-03-31 03:00:00', false,
         '[]', '[]', '00000000-0000-0000-0000-000000000000', '', '-1 hour', ARRAY[]::int4[], ARRAY[]::text[])""",
    )
    return f"{schema}.typed"


def test_every_type_arrives_with_its_polars_type_and_exact_values(pg_target, data_root, typed_table):
    logged = []
    frame, result = read(
        data_root, pg_target, {"table": typed_table}, log=lambda *entry: logged.append(entry)
    )
    frame = frame.sort("id")
    assert dict(frame.schema) == {
        "id": pl.Int16,
        "i4": pl.Int32,
        "i8": pl.Int64,
        "f4": pl.Float32,
        "f8": pl.Float64,
        "txt": pl.String,
        "vc": pl.String,
        "ch": pl.String,
        "big": pl.Decimal(38, 10),
        "money2": pl.Decimal(12, 2),
        "wide": pl.String,
        "whole": pl.Decimal(7, 0),
        "loose": pl.Decimal(38, 2),
        "day": pl.Date,
        "clock": pl.Time,
        "naive": pl.Datetime("us"),
        "zoned": pl.Datetime("us", "UTC"),
        "ok": pl.Boolean,
        "j": pl.String,
        "jb": pl.String,
        "u": pl.String,
        "raw": pl.Binary,
        "span": pl.Duration("us"),
        "ints": pl.List(pl.Int32),
        "words": pl.List(pl.String),
    }
    first, nulls, third = frame.rows(named=True)
    assert first == {
        "id": 1,
        "i4": 2147483647,
        "i8": -9223372036854775808,
        "f4": 1.5,
        "f8": 0.1,
        "txt": TEXT,
        "vc": "varchar",
        "ch": "ab ",
        "big": BIG,
        "money2": Decimal("-0.01"),
        "wide": "12345678901234567890123456789012345678901234.12345",
        "whole": Decimal(12300),
        "loose": Decimal("1.50"),
        "day": dt.date(2024, 2, 29),
        "clock": dt.time(23, 59, 59, 999999),
        "naive": dt.datetime(2024, 3, 31, 2, 30),
        # 01:59:59.5 in Berlin is still winter time (+01), 03:00 already summer time (+02).
        "zoned": dt.datetime(2024, 3, 31, 0, 59, 59, 500000, tzinfo=UTC),
        "ok": True,
        "j": '{"a": [1, 2]}',
        "jb": '{"b": null}',
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "raw": b"\x00\xff\n\\",
        "span": dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000),
        "ints": [1, None, 3],
        "words": ["x", None],
    }
    assert all(value is None for key, value in nulls.items() if key != "id")
    assert third["big"] == BIG.copy_negate() and third["loose"] == Decimal("-2.25") and third["f8"] == 1e300
    assert third["zoned"] == dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert third["txt"] == "" and third["raw"] == b"" and third["ints"] == [] and third["j"] == "[]"
    assert third["span"] == dt.timedelta(hours=-1)
    assert result.components["src"]["rows_out"] == 3
    assert [entry for entry in logged if "'wide' is numeric(50,5)" in entry[2]]


def test_batches_hold_exactly_batch_size_rows_and_counters_are_exact(pg_target, data_root):
    execute(
        pg_target,
        f'CREATE TABLE "{pg_target["schema"]}".n AS SELECT g AS id, g::numeric(10,1) / 4 AS q '
        "FROM generate_series(1, 100001) g",
    )
    seen = []
    frame, result = read(
        data_root,
        pg_target,
        {"table": f"{pg_target['schema']}.n"},
        batch_size=30_000,
        control=lambda progress: seen.append(progress.rows_read),
    )
    assert frame.height == 100_001 and frame["id"].n_unique() == 100_001
    assert isinstance(frame.schema["q"], pl.Decimal)
    assert frame.sort("id")["q"][:4].to_list() == [
        Decimal("0.25"),
        Decimal("0.5"),
        Decimal("0.75"),
        Decimal(1),
    ]
    counters = result.components["src"]
    assert counters["rows_out"] == 100_001 and counters["batches"] == 4
    assert [n for n in seen if n] == sorted(n for n in seen if n)
    assert {30_000, 60_000, 90_000, 100_001} <= set(seen)


def test_a_result_that_fills_its_last_batch_has_no_empty_batch_after_it(pg_target, data_root):
    query = "SELECT g AS n FROM generate_series(1, 6) g"
    frame, result = read(data_root, pg_target, {"query": query}, batch_size=3)
    assert frame["n"].to_list() == [1, 2, 3, 4, 5, 6]
    assert result.components["src"]["batches"] == 2


def test_an_empty_table_is_one_empty_batch_with_the_column_types(pg_target, data_root):
    execute(
        pg_target,
        f'CREATE TABLE "{pg_target["schema"]}".e (id int8, amount numeric(30,4), at timestamptz, j jsonb)',
    )
    frame, result = read(data_root, pg_target, {"table": f"{pg_target['schema']}.e"})
    assert frame.height == 0
    assert dict(frame.schema) == {
        "id": pl.Int64,
        "amount": pl.Decimal(30, 4),
        "at": pl.Datetime("us", "UTC"),
        "j": pl.String,
    }
    assert result.components["src"]["batches"] == 1 and result.components["src"]["rows_out"] == 0


def test_an_unbounded_numeric_keeps_the_first_batch_scale_and_refuses_to_round_later(pg_target, data_root):
    query = "SELECT g AS n, CASE WHEN g < 4 THEN g * 1.5 ELSE g / 3.0 END AS v FROM generate_series(1, 5) g ORDER BY g"
    with pytest.raises(
        EngineError, match=r"'v' is a numeric without declared precision.*::numeric\(30,"
    ) as raised:
        read(data_root, pg_target, {"query": query}, batch_size=3)
    assert raised.value.component == "src"
    frame, _ = read(data_root, pg_target, {"query": query.replace("g / 3.0", "g * 0.5")}, batch_size=3)
    assert frame["v"].to_list() == [
        Decimal("1.5"),
        Decimal("3.0"),
        Decimal("4.5"),
        Decimal("2.0"),
        Decimal("2.5"),
    ]


def test_numeric_nan_is_refused_naming_the_column(pg_target, data_root):
    with pytest.raises(EngineError, match=r"'x' has the value 'NaN'"):
        read(data_root, pg_target, {"query": "SELECT 'NaN'::numeric(10,2) AS x"})


def test_repeated_column_names_are_refused(pg_target, data_root):
    with pytest.raises(EngineError, match="several columns named 'a'") as raised:
        read(data_root, pg_target, {"query": "SELECT 1 AS a, 2 AS a"})
    assert raised.value.field == "config.query"


def test_the_server_refusing_the_query_is_its_own_words(pg_target, data_root):
    with pytest.raises(EngineError) as raised:
        read(data_root, pg_target, {"query": "SELECT nope FROM pg_class"})
    assert raised.value.field == "config.query"
    assert 'column "nope" does not exist' in str(raised.value)


def test_the_run_deadline_cuts_a_slow_read(pg_target, data_root):
    started = time.monotonic()
    with pytest.raises(EngineError, match="statement timeout"):
        read(
            data_root,
            pg_target,
            {"query": "SELECT g, pg_sleep(0.2) FROM generate_series(1, 50) g"},
            deadline=time.time() + 1.5,
        )
    assert time.monotonic() - started < 6


def test_a_stop_after_the_first_batch_ends_the_read_and_its_thread(pg_target, data_root):
    def stop_after_first_batch(progress):
        if progress.rows_read:
            raise StopRequested

    before = {thread.name for thread in threading.enumerate()}
    ctx = RunContext(
        data_roots=[str(data_root)],
        connections={"pg": pg_target["connection"]},
        batch_size=1000,
        control=stop_after_first_batch,
    )
    components = [
        {
            "name": "src",
            "type": "postgres_source",
            "config": {"connection": "pg", "query": "SELECT g FROM generate_series(1, 2000000) g"},
        },
        {"name": "out", "type": "parquet_sink", "inputs": ["src"], "config": {"path": "out.parquet"}},
    ]
    with pytest.raises(StopRequested):
        run_job(components, ctx)
    assert "etl-pg-read" not in {thread.name for thread in threading.enumerate()} - before
    assert not (data_root / "out.parquet").exists()
    busy = pg_target["conn"].execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT g FROM generate_series%%' "
        "AND pid <> pg_backend_pid()"
    )
    assert busy.fetchone()[0] == 0


def test_a_query_ending_in_a_semicolon_is_read(pg_target, data_root):
    query = "SELECT g AS n, (g / 2.0)::numeric(6,1) AS half FROM generate_series(1, 3) g ;\n"
    frame, _ = read(data_root, pg_target, {"query": query})
    assert frame.rows() == [(1, Decimal("0.5")), (2, Decimal("1.0")), (3, Decimal("1.5"))]
