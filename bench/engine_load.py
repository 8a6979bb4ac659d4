"""Benchmark: loading a generated CSV into PostgreSQL.

    .venv/bin/python bench/engine_load.py [--rows 1000000] [--rss-rows 1000000 5000000]

Measured in the same run, on the same 10-column CSV (fixed seed), each
method --repeat times, interleaved, the median reported:
  (a) psql \\copy                      -- the ceiling
  (b) engine: csv_source -> postgres_sink
  (c) engine: csv_source -> filter -> derive -> postgres_sink
(b) and (c) run twice over: with the column types csv_source infers (`amount`
becomes a double, so the sink falls back to CSV COPY into the numeric column),
and with `columns: {amount: decimal(12,2)}` declared (binary COPY). Then the
peak RSS of (b) at each --rss-rows size, median of --repeat runs. Each engine
run happens in a fresh child process, so its peak RSS is its own.

PostgreSQL comes from ETL_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
tables go to a schema `bench_engine`, dropped at the end. Files go to bench/out/.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("ETL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCHEMA = "bench_engine"
SEED = 20240229
COLUMNS_SQL = (
    "id bigint, name text, email text, amount numeric(12,2), day date, at timestamptz, "
    "active boolean, category text, city text, note text"
)
FILTER_WHERE = "amount >= 0 AND id IS NOT NULL"
DERIVED = {"name_upper": "upper(name)", "amount_cents": "amount * 100"}
DECLARED_TYPES = {"amount": "decimal(12,2)"}
METHODS = {
    "a": "(a) psql \\copy",
    "b": "(b) engine csv -> postgres",
    "c": "(c) engine csv -> filter -> derive -> postgres",
    "b+": "(b) with amount declared decimal(12,2)",
    "c+": "(c) with amount declared decimal(12,2)",
}


def generate_csv(rows: int) -> Path:
    """A deterministic CSV: value pools from a seeded RNG, picked per row by a seeded hash."""
    path = OUT / f"load_{rows}.csv"
    if path.exists():
        return path
    rng = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz     "
    names = [
        rng.choice("BCDFGKLMNPRST") + "".join(rng.choices("aeiou" + "lnrst", k=rng.randint(3, 8)))
        for _ in range(500)
    ]
    cities = [f"City {rng.randint(1000, 9999)}" for _ in range(50)]
    categories = ["books", "games", "garden", "music", "sports", "tools", "toys", "travel"]
    notes = ["".join(rng.choices(letters, k=40)).strip() or "note" for _ in range(1000)]
    index = pl.int_range(rows, dtype=pl.UInt64)

    def pick(pool, seed):
        return pl.lit(pl.Series(pool)).gather((index.hash(seed) % len(pool)).cast(pl.Int64))

    frame = pl.select(
        id=index.cast(pl.Int64) + 1,
        name=pick(names, 1),
        email=pl.concat_str(pick(names, 2).str.to_lowercase(), index.cast(pl.String), pl.lit("@example.com")),
        amount=(index.hash(3) % 10_000_000).cast(pl.Int64) / 100,
        day=pl.date(2020, 1, 1) + pl.duration(days=(index.hash(4) % 1826).cast(pl.Int64)),
        at=pl.datetime(2020, 1, 1, time_zone="UTC")
        + pl.duration(seconds=(index.hash(5) % (1826 * 86400)).cast(pl.Int64)),
        active=(index.hash(6) % 2) == 0,
        category=pick(categories, 7),
        city=pick(cities, 8),
        note=pick(notes, 9),
    ).with_columns(pl.col("amount").cast(pl.Decimal(12, 2)))
    OUT.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def reset_table(conn, table: str, extra: str = "") -> None:
    conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
    conn.execute(f"CREATE TABLE {SCHEMA}.{table} ({COLUMNS_SQL}{extra})")


def run_psql_copy(conn, csv_path: Path) -> float:
    reset_table(conn, "copy_a")
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            PG_URL,
            "-q",
            "-c",
            f"\\copy {SCHEMA}.copy_a FROM '{csv_path}' WITH (FORMAT csv, HEADER true)",
        ],
        check=True,
    )
    return time.perf_counter() - started


def run_engine_child(kind: str, csv_path: Path, table: str, declared: bool) -> dict:
    """Run the engine in a fresh process; it reports its seconds and peak RSS."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--csv", str(csv_path), "--table", table]
        + (["--declare-types"] if declared else []),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child(kind: str, csv_path: str, table: str, declared: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from execution.engine.connections import from_url
    from execution.engine.runner import RunContext, run_job

    source = {"path": Path(csv_path).name}
    if declared:
        source["columns"] = DECLARED_TYPES
    components = [{"name": "src", "type": "csv_source", "config": source}]
    last = "src"
    if kind == "c":
        components += [
            {"name": "keep", "type": "filter", "inputs": ["src"], "config": {"where": FILTER_WHERE}},
            {"name": "more", "type": "derive", "inputs": ["keep"], "config": {"columns": DERIVED}},
        ]
        last = "more"
    sink_config = {"connection": "pg", "table": f"{SCHEMA}.{table}", "mode": "append"}
    components.append({"name": "load", "type": "postgres_sink", "inputs": [last], "config": sink_config})
    context = RunContext(
        data_roots=[str(Path(csv_path).parent)], connections={"pg": from_url(PG_URL)}, batch_size=50_000
    )
    started = time.perf_counter()
    result = run_job(components, context)
    seconds = time.perf_counter() - started
    peak_mib = peak_rss_mib()
    print(
        json.dumps(
            {"seconds": seconds, "rows": result.components["load"]["rows_out"], "peak_rss_mib": peak_mib}
        )
    )


def peak_rss_mib() -> float:
    """This process's own peak RSS. (ru_maxrss is not used: Linux carries the
    parent's high-water mark into a child across fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rss-rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="Runs per figure; the median is reported.")
    parser.add_argument("--child", choices=["b", "c"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--declare-types", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.csv, args.table, args.declare_types)
        return

    csv_path = generate_csv(args.rows)
    size_mib = csv_path.stat().st_size / 2**20
    print(f"CSV: {args.rows:,} rows, 10 columns, {size_mib:.0f} MiB ({csv_path.relative_to(ROOT)})")
    conn = psycopg.connect(PG_URL, autocommit=True)
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    try:
        seconds = {key: [] for key in METHODS}
        for _ in range(args.repeat):
            seconds["a"].append(run_psql_copy(conn, csv_path))
            for key in ("b", "c", "b+", "c+"):
                seconds[key].append(run_engine(conn, key, csv_path)["seconds"])
        ceiling = args.rows / statistics.median(seconds["a"])
        print(
            f"\nLoad into PostgreSQL, median of {args.repeat} (rows/s, ratio to psql \\copy; all runs' seconds):"
        )
        for key, label in METHODS.items():
            median = statistics.median(seconds[key])
            rate = args.rows / median
            runs = " ".join(f"{s:.2f}" for s in seconds[key])
            print(f"  {label:<48} {median:7.2f} s  {rate:>10,.0f} rows/s  {rate / ceiling:5.2f}x   [{runs}]")

        for key in ("b", "b+"):
            print(f"\nPeak RSS of {METHODS[key]}, median of {args.repeat}:")
            peaks = {}
            for rows in args.rss_rows:
                path = generate_csv(rows)
                reports = [run_engine(conn, key, path, table="engine_rss") for _ in range(args.repeat)]
                peaks[rows] = statistics.median(r["peak_rss_mib"] for r in reports)
                rate = statistics.median(rows / r["seconds"] for r in reports)
                print(f"  {rows:>10,} rows: {peaks[rows]:6.0f} MiB  ({rate:,.0f} rows/s)")
            if len(peaks) > 1:
                smallest, largest = min(peaks), max(peaks)
                print(
                    f"  growth {smallest:,} -> {largest:,} rows: {peaks[largest] / peaks[smallest] - 1:+.0%}"
                )
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.close()


def run_engine(conn, key: str, csv_path: Path, table: str | None = None) -> dict:
    """One engine run of method `key` into a fresh table, checked for its row count."""
    kind = key[0]
    table = table or f"engine_{kind}"
    reset_table(conn, table, ", name_upper text, amount_cents numeric" if kind == "c" else "")
    report = run_engine_child(kind, csv_path, table, declared=key.endswith("+"))
    loaded = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0]
    assert loaded == report["rows"], f"{table} holds {loaded} rows, the engine reported {report['rows']}"
    return report


if __name__ == "__main__":
    main()
