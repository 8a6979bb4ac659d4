"""Benchmark: every data path through `manage.py runjob` against the best plain tool.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/compare.py                  # 1M rows, 3 rounds, every path
    .venv/bin/python bench/compare.py --rows 5000000
    .venv/bin/python bench/compare.py --rows 100000 --rounds 1 --paths csv_pg transform   # quick look

Generates a fixed-seed CSV of 10 mixed columns (bench/engine_load.py's:
int, name, email, decimal amount, date, timestamptz, bool, category, city,
note) and, per path, runs the etlsite job as a user does (`manage.py runjob`,
a whole process: Django setup included) and the best plain tool for the same
work, interleaved, --rounds times; prints the median rows/s of each, their
ratio and the peak RSS of each (the largest process of the command, from
`/usr/bin/time`'s maximum resident set size; for a pipeline, its largest
member). Targets are those of issue 18.

The runjob processes use a throwaway SQLite Django database and ETL_HOME in a
temporary folder (the bench sets DATABASE_URL itself); the databases get a
schema / database `bench_compare`, dropped at the end. PostgreSQL and MariaDB
from ETL_BENCH_PG_URL and ETL_BENCH_MYSQL_URL (defaults: the local servers).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pymysql
from engine_load import COLUMNS_SQL, generate_csv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
PG_URL = os.environ.get("ETL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("ETL_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/bench_compare")
SCHEMA = DATABASE = "bench_compare"
MYSQL_COLUMNS = (
    "id bigint, name text, email text, amount decimal(12,2), day date, at datetime(6), "
    "active boolean, category text, city text, note text"
)
SQLITE_COLUMNS = (
    "id integer, name text, email text, amount real, day text, at text, "
    "active integer, category text, city text, note text"
)
DECLARED = {"amount": "decimal(12,2)"}
TARGETS = {"csv_pg": 0.9, "pg_pg": 0.7, "pg_parquet": 0.7, "csv_mariadb": 0.7, "transform": 0.5}
LABELS = {
    "csv_pg": ("CSV → PostgreSQL", "psql \\copy"),
    "pg_pg": ("PostgreSQL → PostgreSQL", "\\copy binary pipe"),
    "pg_parquet": ("PostgreSQL → Parquet", "\\copy to CSV + DuckDB"),
    "csv_mariadb": ("CSV → MariaDB", "LOAD DATA LOCAL INFILE"),
    "transform": ("filter+derive+aggregate+join → Parquet", "Polars lazy script"),
    "sqlite_csv": ("SQLite → CSV", "sqlite3 -csv"),
    "csv_sqlite": ("CSV → SQLite", "sqlite3 .import"),
    "startup": ("trivial job startup", "manage.py check"),
}
POLARS_SCRIPT = """
import sys, polars as pl
csv, cities, out = sys.argv[1:]
(
    pl.scan_csv(csv)
    .filter(pl.col("amount") >= 100)
    .with_columns(amount_cents=pl.col("amount") * 100, high=pl.col("amount") > 50000)
    .group_by("city", "category")
    .agg(n=pl.len(), total=pl.col("amount_cents").sum(), avg_amount=pl.col("amount").mean(),
         highs=pl.col("high").sum())
    .join(pl.scan_csv(cities), on="city")
    .sort("city", "category")
    .sink_parquet(out)
)
"""
DUCKDB_SCRIPT = """
import sys, duckdb
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""


class Bench:
    def __init__(self, rows: int):
        self.rows = rows
        self.home = Path(tempfile.mkdtemp(prefix="etl-compare-"))
        self.data = self.home / "data"
        self.data.mkdir()
        self.csv = generate_csv(rows)
        self.cities = self._cities()
        self.polars_script = self.home / "polars_lazy.py"
        self.polars_script.write_text(POLARS_SCRIPT)
        self.duckdb_script = self.home / "duckdb_parquet.py"
        self.duckdb_script.write_text(DUCKDB_SCRIPT)
        self.env = {
            **os.environ,
            "ETL_HOME": str(self.home),
            "DATABASE_URL": f"sqlite:///{self.home / 'etlsite.sqlite3'}",
            "ETL_DATA_ROOTS": f"{OUT},{self.data}",
            "SECRET_KEY": "bench-only",
            "ETL_CREDENTIALS_KEY": "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=",
            "DEBUG": "false",
            # Bytecode as an installed site has it (written once, in the bench's
            # folder): this session may forbid writing it, which would make every
            # process compile its modules again, the tools' and etlsite's alike.
            "PYTHONPYCACHEPREFIX": str(self.home / "pycache"),
        }
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.pg = psycopg.connect(PG_URL, autocommit=True)
        self.my = _mysql_connect(MYSQL_URL, database=None)

    # -- setup ---------------------------------------------------------------------------
    def _cities(self) -> Path:
        path = OUT / "cities.csv"
        names = sorted({line.split(",")[8] for line in self.csv.open().readlines()[1:20001]})
        path.write_text("city,region\n" + "".join(f"{c},Region {i % 7}\n" for i, c in enumerate(names)))
        return path

    def setup(self) -> None:
        manage = [PYTHON, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], env=self.env, cwd=ROOT, check=True)
        jobs = self.home / "jobs"
        jobs.mkdir()
        for name, components in self.jobs().items():
            document = {"kind": "job", "name": name, "description": "", "components": components}
            (jobs / f"{name}.yaml").write_text(json.dumps(document))  # JSON is YAML
        subprocess.run(
            [*manage, "apply_jobs", str(jobs)], env=self.env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )
        self.pg.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        self.pg.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in ("src", "csv_pg_etl", "csv_pg_best", "pg_pg_etl", "pg_pg_best"):
            self.pg.execute(f"CREATE TABLE {SCHEMA}.{table} ({COLUMNS_SQL})")
        psql(f"\\copy {SCHEMA}.src FROM '{self.csv}' WITH (FORMAT csv, HEADER true)")
        with self.my.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            cursor.execute(f"CREATE DATABASE {DATABASE}")
            for table in ("csv_my_etl", "csv_my_best"):
                cursor.execute(f"CREATE TABLE {DATABASE}.{table} ({MYSQL_COLUMNS}) ENGINE=InnoDB")
        source_db = self.data / "source.sqlite3"
        source_db.unlink(missing_ok=True)
        sqlite(source_db, f"CREATE TABLE t ({SQLITE_COLUMNS});", f".import --csv --skip 1 {self.csv} t")

    def teardown(self) -> None:
        self.pg.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        with self.my.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        shutil.rmtree(self.home, ignore_errors=True)

    def jobs(self) -> dict[str, list[dict]]:
        csv = {"name": "src", "type": "csv_source", "inputs": [], "config": {"path": str(self.csv)}}
        typed_csv = {**csv, "config": {"path": str(self.csv), "columns": DECLARED}}
        pg_src = {
            "name": "src",
            "type": "postgres_source",
            "inputs": [],
            "config": {"connection": "pg", "table": f"{SCHEMA}.src"},
        }

        def sink(kind, **config):
            return {"name": "out", "type": kind, "inputs": [config.pop("after", "src")], "config": config}

        return {
            "bench_csv_pg": [typed_csv, sink("postgres_sink", connection="pg", table=f"{SCHEMA}.csv_pg_etl")],
            "bench_pg_pg": [pg_src, sink("postgres_sink", connection="pg", table=f"{SCHEMA}.pg_pg_etl")],
            "bench_pg_parquet": [pg_src, sink("parquet_sink", path=str(self.data / "pg_etl.parquet"))],
            "bench_csv_mariadb": [typed_csv, sink("mysql_sink", connection="my", table="csv_my_etl")],
            "bench_transform": [
                csv,
                {"name": "keep", "type": "filter", "inputs": ["src"], "config": {"where": "amount >= 100"}},
                {
                    "name": "more",
                    "type": "derive",
                    "inputs": ["keep"],
                    "config": {"columns": {"amount_cents": "amount * 100", "high": "amount > 50000"}},
                },
                {
                    "name": "by_city",
                    "type": "aggregate",
                    "inputs": ["more"],
                    "config": {
                        "group_by": ["city", "category"],
                        "aggregates": {
                            "n": "count(*)",
                            "total": "sum(amount_cents)",
                            "avg_amount": "avg(amount)",
                            "highs": "sum(CASE WHEN high THEN 1 ELSE 0 END)",
                        },
                    },
                },
                {"name": "regions", "type": "csv_source", "inputs": [], "config": {"path": str(self.cities)}},
                {
                    "name": "joined",
                    "type": "join",
                    "inputs": ["by_city", "regions"],
                    "config": {"right": "regions", "on": ["city"]},
                },
                sink("parquet_sink", path=str(self.data / "transform_etl.parquet"), after="joined"),
            ],
            "bench_sqlite_csv": [
                {
                    "name": "src",
                    "type": "sqlite_source",
                    "inputs": [],
                    "config": {"path": str(self.data / "source.sqlite3"), "table": "t"},
                },
                sink("csv_sink", path=str(self.data / "sqlite_etl.csv")),
            ],
            "bench_csv_sqlite": [csv, sink("sqlite_sink", path=str(self.data / "etl.sqlite3"), table="t")],
            "bench_trivial": [
                {"name": "src", "type": "inline_source", "inputs": [], "config": {"rows": [{"a": 1}]}},
                sink("csv_sink", path=str(self.data / "trivial.csv")),
            ],
        }

    # -- the two sides of each path ------------------------------------------------------
    def reset(self, path: str) -> None:
        """Empty the targets (not timed)."""
        if path in ("csv_pg", "pg_pg"):
            self.pg.execute(f"TRUNCATE {SCHEMA}.{path}_etl, {SCHEMA}.{path}_best")
        if path == "csv_mariadb":
            with self.my.cursor() as cursor:
                cursor.execute(f"TRUNCATE {DATABASE}.csv_my_etl")
                cursor.execute(f"TRUNCATE {DATABASE}.csv_my_best")
        for name in ("etl.sqlite3", "best.sqlite3"):
            (self.data / name).unlink(missing_ok=True)

    def etlsite(self, path: str) -> list[str]:
        job = "bench_trivial" if path == "startup" else f"bench_{path}"
        command = [PYTHON, "manage.py", "runjob", job]
        command += (
            ["--connection", f"pg={PG_URL}", "--connection", f"my={MYSQL_URL}"] if path != "startup" else []
        )
        return command

    def best(self, path: str) -> list[str]:
        csv, data = self.csv, self.data
        copy_in = f"\\copy {SCHEMA}.csv_pg_best FROM '{csv}' WITH (FORMAT csv, HEADER true)"
        commands = {
            "csv_pg": ["psql", PG_URL, "-q", "-c", copy_in],
            "pg_pg": [
                "bash",
                "-c",
                f"psql '{PG_URL}' -q -c '\\copy {SCHEMA}.src TO STDOUT (FORMAT binary)' | "
                f"psql '{PG_URL}' -q -c '\\copy {SCHEMA}.pg_pg_best FROM STDIN (FORMAT binary)'",
            ],
            "pg_parquet": [
                "bash",
                "-c",
                f"psql '{PG_URL}' -q -c \"\\copy {SCHEMA}.src TO '{data}/pg_best.csv' (FORMAT csv, HEADER true)\" && "
                f"{PYTHON} {self.duckdb_script} {data}/pg_best.csv {data}/pg_best.parquet",
            ],
            "csv_mariadb": ["mariadb", "--local-infile=1", "-e", _load_data(csv), *_mysql_args(MYSQL_URL)],
            "transform": [
                PYTHON,
                str(self.polars_script),
                str(csv),
                str(self.cities),
                str(data / "transform_best.parquet"),
            ],
            "sqlite_csv": [
                "bash",
                "-c",
                f"sqlite3 -csv -header {data}/source.sqlite3 'SELECT * FROM t' > {data}/sqlite_best.csv",
            ],
            "csv_sqlite": [
                "sqlite3",
                str(data / "best.sqlite3"),
                f"CREATE TABLE t ({SQLITE_COLUMNS});",
                f".import --csv --skip 1 {csv} t",
            ],
            "startup": [PYTHON, "manage.py", "check"],
        }
        return commands[path]

    def rows_written(self, path: str) -> tuple[object, object]:
        """(etlsite, best) rows in each target, to check they did the same work."""
        if path in ("csv_pg", "pg_pg"):
            return tuple(
                self.pg.execute(f"SELECT count(*) FROM {SCHEMA}.{path}_{s}").fetchone()[0]
                for s in ("etl", "best")
            )
        if path == "csv_mariadb":
            with self.my.cursor() as cursor:
                counts = []
                for side in ("etl", "best"):
                    cursor.execute(f"SELECT count(*) FROM {DATABASE}.csv_my_{side}")
                    counts.append(cursor.fetchone()[0])
                return tuple(counts)
        if path in ("pg_parquet", "transform"):
            name = "pg" if path == "pg_parquet" else "transform"
            return tuple(_parquet_rows(self.data / f"{name}_{s}.parquet") for s in ("etl", "best"))
        if path == "sqlite_csv":
            return tuple(_lines(self.data / f"sqlite_{s}.csv") - 1 for s in ("etl", "best"))
        if path == "csv_sqlite":
            return tuple(_sqlite_rows(self.data / f"{s}.sqlite3") for s in ("etl", "best"))
        return ("-", "-")


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command; /usr/bin/time, a small C
    process, measures it (Linux would carry this Python's own high-water mark
    into a child it forks)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-q", "-f", "%M", "-o", report.name, *command],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
        return seconds, int(report.read().split()[-1]) / 1024


def psql(command: str) -> None:
    subprocess.run(["psql", PG_URL, "-q", "-c", command], check=True)


def sqlite(path: Path, *commands: str) -> None:
    subprocess.run(["sqlite3", str(path), *commands], check=True)


def _mysql_args(url: str) -> list[str]:
    from urllib.parse import urlparse

    parts = urlparse(url)
    args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-P",
        str(parts.port or 3306),
        "-u",
        parts.username or "root",
    ]
    if parts.password:
        args.append(f"-p{parts.password}")
    return [*args, parts.path.lstrip("/")]


def _mysql_connect(url: str, database):
    from urllib.parse import urlparse

    parts = urlparse(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username,
        password=parts.password or "",
        database=database,
        autocommit=True,
        local_infile=True,
    )


def _load_data(csv: Path) -> str:
    # The CSV's timestamps end in +0000 and its booleans are words: converted on the way in.
    return (
        f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE csv_my_best FIELDS TERMINATED BY ',' "
        "OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES "
        "(id, name, email, amount, day, @at, @active, category, city, note) "
        "SET at = STR_TO_DATE(LEFT(@at, 26), '%Y-%m-%dT%H:%i:%s.%f'), active = (@active = 'true')"
    )


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _sqlite_rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM t").fetchone()[0]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", nargs="*", choices=list(LABELS), default=list(LABELS))
    args = parser.parse_args()

    bench = Bench(args.rows)
    print(
        f"{args.rows:,} rows, {bench.csv.stat().st_size / 2**20:.0f} MiB CSV; load average {load_average()}"
    )
    bench.setup()
    results = {path: {"etlsite": [], "best": []} for path in args.paths}
    try:
        for round_number in range(args.rounds):
            for path in args.paths:
                for side in ("etlsite", "best"):
                    bench.reset(path) if side == "etlsite" else None
                    command = bench.etlsite(path) if side == "etlsite" else bench.best(path)
                    results[path][side].append(timed(command, bench.env))
                if round_number == 0:
                    etl_rows, best_rows = bench.rows_written(path)
                    note = "" if etl_rows == best_rows else "  MISMATCH"
                    print(f"  {path}: rows written etlsite {etl_rows}, best {best_rows}{note}", flush=True)
            print(f"round {round_number + 1} done; load average {load_average()}", flush=True)
    finally:
        bench.teardown()
    print_table(args.rows, results)
    print(f"load average at the end {load_average()}")


def print_table(rows: int, results: dict) -> None:
    print(
        "\n| path | rows | etlsite rows/s | best tool | best rows/s | ratio | target | peak RSS etlsite | peak RSS best |"
    )
    print("|---|---:|---:|---|---:|---:|---|---:|---:|")
    for path, sides in results.items():
        label, tool = LABELS[path]
        seconds = {side: statistics.median(s for s, _ in runs) for side, runs in sides.items()}
        rss = {side: statistics.median(r for _, r in runs) for side, runs in sides.items()}
        if path == "startup":
            speed = {side: f"{seconds[side]:.2f} s" for side in seconds}
            ratio = seconds["etlsite"] / seconds["best"]
            target = "≤ 1.5×"
            verdict = "met" if ratio <= 1.5 else "missed"
            shown_rows = "-"
        else:
            speed = {side: f"{rows / seconds[side]:,.0f}" for side in seconds}
            ratio = seconds["best"] / seconds["etlsite"]
            goal = TARGETS.get(path)
            target = f"≥ {goal}" if goal else ""
            verdict = ("met" if ratio >= goal else "missed") if goal else ""
            shown_rows = f"{rows:,}"
        print(
            f"| {label} | {shown_rows} | {speed['etlsite']} | {tool} | {speed['best']} | {ratio:.2f} | "
            f"{target} {verdict} | {rss['etlsite']:.0f} MiB | {rss['best']:.0f} MiB |"
        )
    print("(startup: seconds, and ratio = runjob / check; other rows: ratio = etlsite rows/s ÷ best rows/s)")


if __name__ == "__main__":
    main()
