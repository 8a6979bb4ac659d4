"""postgres_sink's binary COPY (execution/engine/pg_binary.py): every covered
pair of data type and column type round-trips, and other pairs fall back to
CSV with the server's own conversion."""

import datetime as dt
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
