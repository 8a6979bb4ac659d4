"""Benchmark: an incremental PostgreSQL load, first run against the next.

    .venv/bin/python bench/incremental.py [--rows 1000000] [--changed 1000]

A table of --rows rows (id, updated_at, amount, name; an index on
updated_at) is loaded by the engine, `postgres_source` with
`incremental: {column: updated_at}` -> `postgres_sink` in upsert mode by id,
exactly as a worker runs it (with a load id, so the sink writes its load
marker). Then --changed rows get a newer updated_at and the same job runs
again from the first run's watermark. Prints each run's seconds and rows read
(the source's counter) and the ratio second/first, measured in this run.

PostgreSQL comes from ETL_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
tables go to a schema `bench_incremental`, dropped at the end.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from execution.engine.runner import RunContext, run_job  # noqa: E402

PG_URL = os.environ.get("ETL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCHEMA = "bench_incremental"


def connection_dict(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "kind": "postgres",
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": parsed.path.lstrip("/") or "postgres",
        "user": parsed.username or "postgres",
        "password": parsed.password or "",
    }


def prepare(conn, rows: int) -> None:
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.src (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, "
        "amount numeric(12,2), name text)"
    )
    conn.execute(
        f"INSERT INTO {SCHEMA}.src SELECT g, timestamptz '2026-01-01' + g * interval '1 second', "
        "(g %% 100000) / 100.0, 'name ' || g FROM generate_series(1, %s) g",
        [rows],
    )
    conn.execute(f"CREATE INDEX ON {SCHEMA}.src (updated_at)")
    conn.execute(f"CREATE TABLE {SCHEMA}.copy (LIKE {SCHEMA}.src INCLUDING ALL)")
    conn.execute(f"ANALYZE {SCHEMA}.src")


def components() -> list[dict]:
    return [
        {
            "name": "src",
            "type": "postgres_source",
            "config": {"connection": "pg", "table": f"{SCHEMA}.src", "incremental": {"column": "updated_at"}},
        },
        {
            "name": "load",
            "type": "postgres_sink",
            "inputs": ["src"],
            "config": {"connection": "pg", "table": f"{SCHEMA}.copy", "mode": "upsert", "key": ["id"]},
        },
    ]


def run(state: dict, load_id: str):
    ctx = RunContext(
        data_roots=[],
        connections={"pg": connection_dict(PG_URL)},
        batch_size=50_000,
        incremental_state=state,
        load_id=load_id,
    )
    started = time.perf_counter()
    result = run_job(components(), ctx)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1_000)
    args = parser.parse_args()

    conn = psycopg.connect(PG_URL, autocommit=True)
    try:
        prepare(conn, args.rows)
        first_seconds, first = run({}, "bench-1")
        conn.execute(
            f"UPDATE {SCHEMA}.src SET updated_at = now(), amount = amount + 1 "
            f"WHERE id IN (SELECT id FROM {SCHEMA}.src ORDER BY random() LIMIT %s)",
            [args.changed],
        )
        second_seconds, second = run(first.states, "bench-2")
        copied = conn.execute(f"SELECT count(*) FROM {SCHEMA}.copy").fetchone()[0]
        changed = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.copy c JOIN {SCHEMA}.src s USING (id) WHERE c.amount = s.amount"
        ).fetchone()[0]
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.close()

    first_rows = first.components["src"]["rows_out"]
    second_rows = second.components["src"]["rows_out"]
    print(f"table: {args.rows:,} rows; changed before the second run: {args.changed:,}")
    print(f"first run  (no watermark):    {first_seconds:8.3f} s, rows read {first_rows:>10,}")
    print(f"second run (from watermark):  {second_seconds:8.3f} s, rows read {second_rows:>10,}")
    print(
        f"ratio second/first: time {second_seconds / first_seconds:.4f}, rows {second_rows / first_rows:.4f}"
    )
    print(f"target after both runs: {copied:,} rows, {changed:,} equal to the source")
    if second_rows != args.changed or copied != args.rows or changed != args.rows:
        sys.exit("unexpected counts: the incremental run did not read exactly the changed rows")


if __name__ == "__main__":
    main()
