"""Benchmark: ways of reading a database table into Polars batches, in one
process, against the database's own command-line client.

    .venv/bin/python bench/db_source_options.py [--rows 1000000] [--repeat 3]

PostgreSQL (10-column table as in bench/db_paths.py):
  psql                `psql -c "\\copy (SELECT ...) TO '/dev/null' (FORMAT binary)"` (the baseline)
  copy_binary_raw     psycopg `COPY (SELECT ...) TO STDOUT (FORMAT binary)`, bytes received and not
                      decoded: the floor of any COPY-and-decode-in-Python design
  adbc                ADBC (`adbc-driver-postgresql`), numeric cast to text and parsed to Decimal(12,2)
  psycopg_fetchmany   the previous postgres_source: named cursor, fetchmany -> pl.DataFrame(rows)
  engine              today's postgres_source (ADBC, exact batches, read-ahead)
MariaDB:
  mariadb             `mariadb --batch --quick -e "SELECT ..."` to /dev/null (the baseline)
  pymysql_rows        the previous mysql_source: SSCursor, fetchmany -> pl.DataFrame(rows)
  pymysql_columns     SSCursor, fetchmany -> one pyarrow array per column
  connectorx          connectorx `arrow_stream` batches
  engine              today's mysql_source (connectorx, DECIMAL/TIME cast on the server)
Interleaved --repeat times; medians, rows/s and the ratio to the baseline.
Tables: schema/database `bench_source_options`, dropped at the end (same
ETL_BENCH_PG_URL / ETL_BENCH_MYSQL_URL as bench/db_paths.py).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psycopg
import pyarrow as pa
import pymysql
import pymysql.cursors

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from db_paths import MYSQL_COLUMNS_SQL, PG_URL, mysql_command, mysql_params  # noqa: E402

from execution.engine.components.db_sources import MySQLSource, PostgresSource  # noqa: E402
from execution.engine.connections import from_url  # noqa: E402
from execution.engine.runner import RunContext  # noqa: E402

NAME = "bench_source_options"
BATCH = 50_000
PG_SQL = """
CREATE TABLE {name}.src AS
SELECT g AS id, 'name ' || g AS name, 'user' || g || '@example.com' AS email,
       ((g % 100000)::numeric / 7)::numeric(12,2) AS amount, DATE '2020-01-01' + (g % 1000)::int AS day,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '1 second' AS at, g % 2 = 0 AS active,
       (ARRAY['a','b','c'])[g % 3 + 1] AS category, 'city' || (g % 500) AS city, repeat('x', 40) AS note
FROM generate_series(1::bigint, {rows}) g
"""
MYSQL_SQL = (
    "INSERT INTO src SELECT seq, CONCAT('name ', seq), CONCAT('user', seq, '@example.com'), (seq % 100000) / 7, "
    "DATE '2020-01-01' + INTERVAL (seq % 1000) DAY, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND, "
    "seq % 2 = 0, ELT(seq % 3 + 1, 'a', 'b', 'c'), CONCAT('city', seq % 500), REPEAT('x', 40) "
    "FROM seq_1_to_{rows}"
)


def pg_psql():
    command = f"\\copy (SELECT * FROM {NAME}.src) TO '/dev/null' (FORMAT binary)"
    subprocess.run(["psql", PG_URL, "-q", "-c", command], check=True)


def pg_copy_binary_raw():
    statement = f"COPY (SELECT * FROM {NAME}.src) TO STDOUT (FORMAT binary)"
    with psycopg.connect(PG_URL) as connection, connection.cursor() as cursor, cursor.copy(statement) as copy:
        for _ in copy:
            pass


def pg_adbc():
    import adbc_driver_postgresql.dbapi as adbc

    query = (
        "SELECT id, name, email, amount::text AS amount, day, at, active, category, city, note "
        f"FROM {NAME}.src"
    )
    with adbc.connect(PG_URL) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        for batch in cursor.fetch_record_batch():
            pl.from_arrow(batch).with_columns(pl.col("amount").cast(pl.Decimal(12, 2)))


def pg_psycopg_fetchmany():
    with psycopg.connect(PG_URL) as connection, connection.cursor(name="bench") as cursor:
        cursor.execute(f"SELECT * FROM {NAME}.src")
        while rows := cursor.fetchmany(BATCH):
            pl.DataFrame(rows, orient="row", infer_schema_length=None)


def engine(source_class, connection, table):
    ctx = RunContext(data_roots=[str(ROOT)], connections={"db": connection}, batch_size=BATCH)
    for _ in source_class("src", {"connection": "db", "table": table}, ctx).batches():
        pass


def my_client():
    command = [*mysql_command(), "--batch", "--quick", NAME, "-e", "SELECT * FROM src"]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)


def my_pymysql(as_columns: bool):
    connection = pymysql.connect(**mysql_params(NAME), charset="utf8mb4")
    try:
        cursor = connection.cursor(pymysql.cursors.SSCursor)
        cursor.execute("SELECT * FROM src")
        names = [column[0] for column in cursor.description]
        while rows := cursor.fetchmany(BATCH):
            if as_columns:
                pl.from_arrow(
                    pa.table({n: pa.array(c) for n, c in zip(names, zip(*rows, strict=True), strict=True)})
                )
            else:
                pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    finally:
        connection.close()


def my_connectorx():
    import connectorx

    params = mysql_params(NAME)
    auth = params["user"] + (f":{params['password']}" if params["password"] else "")
    url = f"mysql://{auth}@{params['host']}:{params['port']}/{NAME}"
    reader = connectorx.read_sql(url, "SELECT * FROM src", return_type="arrow_stream", batch_size=BATCH)
    for batch in reader:
        pl.from_arrow(batch)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pg = psycopg.connect(PG_URL, autocommit=True)
    my = pymysql.connect(**mysql_params(), autocommit=True, charset="utf8mb4")
    pg.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
    pg.execute(f"CREATE SCHEMA {NAME}")
    with my.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {NAME}")
        cursor.execute(f"CREATE DATABASE {NAME} CHARACTER SET utf8mb4")
        cursor.execute(f"USE {NAME}")
        cursor.execute(f"CREATE TABLE src ({MYSQL_COLUMNS_SQL}) ENGINE=InnoDB")
    try:
        pg.execute(PG_SQL.format(name=NAME, rows=args.rows))
        with my.cursor() as cursor:
            cursor.execute(MYSQL_SQL.format(rows=args.rows))
        my_connection = {"kind": "mysql", **mysql_params(NAME)}
        groups = {
            "PostgreSQL": {
                "psql": pg_psql,
                "copy_binary_raw": pg_copy_binary_raw,
                "adbc": pg_adbc,
                "psycopg_fetchmany": pg_psycopg_fetchmany,
                "engine": lambda: engine(PostgresSource, from_url(PG_URL), f"{NAME}.src"),
            },
            "MariaDB": {
                "mariadb": my_client,
                "pymysql_rows": lambda: my_pymysql(False),
                "pymysql_columns": lambda: my_pymysql(True),
                "connectorx": my_connectorx,
                "engine": lambda: engine(MySQLSource, my_connection, "src"),
            },
        }
        seconds = {group: {name: [] for name in methods} for group, methods in groups.items()}
        for _ in range(args.repeat):
            for group, methods in groups.items():
                for name, method in methods.items():
                    started = time.perf_counter()
                    method()
                    seconds[group][name].append(time.perf_counter() - started)
        for group, methods in seconds.items():
            baseline_name = next(iter(methods))
            baseline = statistics.median(methods[baseline_name])
            print(f"\n{group}, {args.rows:,} rows, median of {args.repeat} (ratio to {baseline_name}):")
            for name, runs in methods.items():
                median = statistics.median(runs)
                print(
                    f"  {name:<18} {median:6.2f} s  {args.rows / median:>10,.0f} rows/s  "
                    f"{baseline / median:5.2f}x   [{' '.join(f'{s:.2f}' for s in runs)}]"
                )
    finally:
        pg.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
        pg.close()
        with my.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {NAME}")
        my.close()


if __name__ == "__main__":
    main()
