"""postgres_sink's binary COPY (execution/engine/pg_binary.py): every covered
pair of data type and column type round-trips, and other pairs fall back to
CSV with the server's own conversion."""

import datetime as dt
import random
from decimal import Decimal

import polars as pl
import pytest

from execution.engine import pg_binary
from execution.engine.runner import run_job
from tests.engine.helpers import context, inline, run_to_frame

UTC = dt.UTC
COLUMNS = (
    "small smallint, medium integer, big bigint, single real, double double precision, "
    "label varchar(20), body text, flag boolean, day date, local timestamp, at timestamptz, "
    "money numeric(12,2), huge numeric"
)
TYPES = {
    "small": "int",
    "medium": "int",
    "big": "int",
    "single": "double",
    "double": "double",
    "label": "string",
    "body": "string",
    "flag": "bool",
    "day": "date",
    "local": "timestamp",
    "at": "timestamptz",
    "money": "decimal(12,2)",
    "huge": "decimal(38,4)",
}
ROWS = [
    {
        "small": -32768,
        "medium": 2147483647,
        "big": -9223372036854775808,
        "single": 1.5,
        "double": -2.25e-300,
        "label": "",
        "body": 'Zoë "quoted", with\nnewline and \\ backslash',
        "flag": True,
        "day": "1969-12-31",
        "local": "2000-01-01T00:00:00.000001",
        "at": "2024-02-29T23:59:58.123456+02:00",
        "money": "-1234567890.99",
        "huge": "1234567890123456789012345678901234.5678",
    },
    {name: None for name in TYPES},
    {
        "small": 0,
        "medium": -1,
        "big": 0,
        "single": 0.0,
        "double": 1e300,
        "label": "x" * 20,
        "body": "",
        "flag": False,
        "day": "2000-01-01",
        "local": "1900-06-15T12:30:00",
        "at": "1999-12-31T23:59:59+00:00",
        "money": "0.00",
        "huge": "-0.0001",
    },
]
EXPECTED = [
    (
        -32768,
        2147483647,
        -9223372036854775808,
        1.5,
        -2.25e-300,
        "",
        'Zoë "quoted", with\nnewline and \\ backslash',
        True,
        dt.date(1969, 12, 31),
        dt.datetime(2000, 1, 1, 0, 0, 0, 1),
        dt.datetime(2024, 2, 29, 21, 59, 58, 123456, tzinfo=UTC),
        Decimal("-1234567890.99"),
        Decimal("1234567890123456789012345678901234.5678"),
    ),
    (None,) * 13,
    (
        0,
        -1,
        0,
        0.0,
        1e300,
        "x" * 20,
        "",
        False,
        dt.date(2000, 1, 1),
        dt.datetime(1900, 6, 15, 12, 30),
        dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        Decimal("0.00"),
        Decimal("-0.0001"),
    ),
]


def load(pg_target, data_root, table, components, batch_size=2):
    sink = {"name": "out", "type": "postgres_sink", "inputs": [components[-1]["name"]]}
    sink["config"] = {"connection": "pg", "table": f"{pg_target['schema']}.{table}"}
    run_job(
        components + [sink],
        context(data_root, connections={"pg": pg_target["connection"]}, batch_size=batch_size),
    )


def read(pg_target, table, columns="*"):
    rows = pg_target["conn"].execute(f"SELECT {columns} FROM {pg_target['schema']}.{table}").fetchall()
    return [
        tuple(v.astimezone(UTC) if isinstance(v, dt.datetime) and v.tzinfo else v for v in r) for r in rows
    ]


@pytest.mark.postgres
def test_every_covered_column_type_round_trips_through_binary_copy(pg_target, data_root):
    pg_target["conn"].execute(f"CREATE TABLE {pg_target['schema']}.typed ({COLUMNS})")
    load(pg_target, data_root, "typed", [inline("src", ROWS, TYPES)])
    assert sorted(read(pg_target, "typed"), key=repr) == sorted(EXPECTED, key=repr)
    # ...and it was binary: the source's types and the table's all have an encoding.
    column_types = dict(
        pg_target["conn"]
        .execute(
            "SELECT attname, atttypid::regtype::text FROM pg_attribute WHERE attnum > 0 AND attrelid = %s::regclass",
            (f"{pg_target['schema']}.typed",),
        )
        .fetchall()
    )
    source_schema = run_to_frame(data_root, [inline("src", ROWS, TYPES)]).schema
    assert pg_binary.encoder_for(source_schema, column_types) is not None


def test_the_benchmark_columns_are_covered_and_floats_into_numeric_are_not():
    schema = pl.Schema({"id": pl.Int64, "amount": pl.Decimal(12, 2), "at": pl.Datetime("us", "UTC")})
    types = {"id": "bigint", "amount": "numeric", "at": "timestamp with time zone"}
    assert pg_binary.encoder_for(schema, types) is not None
    assert pg_binary.encoder_for(pl.Schema({"amount": pl.Float64}), {"amount": "numeric"}) is None
    assert pg_binary.encoder_for(pl.Schema({"at": pl.Datetime("us")}), types) is None


@pytest.mark.postgres
def test_a_column_binary_does_not_cover_loads_as_csv_with_the_server_rounding(pg_target, data_root):
    # 0.145 is 0.14499999999999999 as a double; the server rounds the text "0.145" to 0.15.
    pg_target["conn"].execute(f"CREATE TABLE {pg_target['schema']}.money (amount numeric(5,2), n integer)")
    load(
        pg_target, data_root, "money", [inline("src", [{"amount": 0.145, "n": 1}, {"amount": None, "n": 2}])]
    )
    assert sorted(read(pg_target, "money"), key=repr) == [(Decimal("0.15"), 1), (None, 2)]


def _random_frame(rows: int) -> pl.DataFrame:
    """Seeded values of every covered type: NULLs at a different rate per
    column and only in some stretches (so frames differ in which columns
    have NULLs), text with tabs, newlines, backslashes, quotes and
    multi-byte characters, numerics from 0 to 30 digits."""
    rng = random.Random(18)
    alphabet = "ab \t\n\\\"',;|Zoë€😀\r"

    def column(make, null_rate):
        values = []
        for row in range(rows):
            nulls_here = null_rate and (row // 300) % 3 != 1  # a stretch of 300 rows without NULLs
            values.append(None if nulls_here and rng.random() < null_rate else make())
        return values

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 40, 300])))

    def timestamp():
        return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=rng.randint(-(2**55), 2**55))

    def numeric(digits: int, scale: int):
        return lambda: Decimal(rng.randint(-(10**digits) + 1, 10**digits - 1)).scaleb(-scale)

    return pl.DataFrame(
        {
            "small": pl.Series(column(lambda: rng.randint(-(2**15), 2**15 - 1), 0.2), dtype=pl.Int16),
            "medium": pl.Series(column(lambda: rng.randint(-(2**31), 2**31 - 1), 0.0), dtype=pl.Int32),
            "big": pl.Series(column(lambda: rng.randint(-(2**63), 2**63 - 1), 0.05), dtype=pl.Int64),
            "single": pl.Series(column(lambda: rng.uniform(-1e6, 1e6), 0.3), dtype=pl.Float32),
            "double": pl.Series(column(lambda: rng.uniform(-1e300, 1e300), 0.0), dtype=pl.Float64),
            "label": pl.Series(column(lambda: text()[:20], 0.5), dtype=pl.String),
            "body": pl.Series(column(text, 0.1), dtype=pl.String),
            "flag": pl.Series(column(lambda: rng.random() < 0.5, 0.2), dtype=pl.Boolean),
            "day": pl.Series(
                column(lambda: dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_000_000)), 0.1),
                dtype=pl.Date,
            ),
            "local": pl.Series(column(timestamp, 0.0), dtype=pl.Datetime("us")),
            "at": pl.Series(column(timestamp, 0.4), dtype=pl.Datetime("us", "UTC")),
            "money": pl.Series(column(numeric(12, 2), 0.1), dtype=pl.Decimal(12, 2)),
            "huge": pl.Series(column(numeric(30, 7), 0.0), dtype=pl.Decimal(38, 7)),
        }
    )


def _as_python(value):
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(UTC)
    return value


@pytest.mark.postgres
def test_random_frames_round_trip_exactly_through_binary_copy_and_postgres_to_postgres(pg_target, data_root):
    """Many batches whose NULLs fall in different columns (each batch is laid
    out differently) load value for value; the same rows read back by
    postgres_source and loaded into a second table are equal to the first
    table on the server (EXCEPT both ways)."""
    frame = _random_frame(3_000)
    frame.write_parquet(data_root / "random.parquet")
    schema = pg_target["schema"]
    columns = COLUMNS.replace("numeric(12,2), huge numeric", "numeric(12,2), huge numeric(38,7)")
    for table in ("loaded", "copied"):
        pg_target["conn"].execute(f"CREATE TABLE {schema}.{table} ({columns})")
    source = {"name": "src", "type": "parquet_source", "config": {"path": "random.parquet"}}
    load(pg_target, data_root, "loaded", [source], batch_size=450)
    # real as float8: the float32 value exactly (as text the server would shorten it).
    names = ", ".join("single::float8" if name == "single" else name for name in frame.columns)
    loaded = pg_target["conn"].execute(f"SELECT {names} FROM {schema}.loaded").fetchall()
    expected = [tuple(_as_python(v) for v in row) for row in frame.rows()]
    assert sorted((tuple(_as_python(v) for v in row) for row in loaded), key=repr) == sorted(
        expected, key=repr
    )
    assert len(loaded) == frame.height

    pg_source = {
        "name": "src",
        "type": "postgres_source",
        "config": {"connection": "pg", "table": f"{schema}.loaded"},
    }
    load(pg_target, data_root, "copied", [pg_source], batch_size=700)
    for left, right in (("loaded", "copied"), ("copied", "loaded")):
        difference = pg_target["conn"].execute(
            f"SELECT count(*) FROM (SELECT * FROM {schema}.{left} EXCEPT ALL SELECT * FROM {schema}.{right}) AS d"
        )
        assert difference.fetchone()[0] == 0
    assert pg_target["conn"].execute(f"SELECT count(*) FROM {schema}.copied").fetchone()[0] == frame.height


def test_encoding_a_frame_without_rows_gives_no_bytes():
    encoder = pg_binary.encoder_for(
        pl.Schema({"id": pl.Int64, "t": pl.String}), {"id": "bigint", "t": "text"}
    )
    assert bytes(encoder.encode(pl.DataFrame(schema={"id": pl.Int64, "t": pl.String}))) == b""
