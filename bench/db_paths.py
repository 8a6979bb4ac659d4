"""Benchmark: the database connectors through `manage.py runjob`, against the
plain client tools, in the same run.

    .venv/bin/python bench/db_paths.py [--rows 1000000] [--repeat 3] [--no-inserts] [--paths pg_pg mariadb_csv]

Paths (each engine run is a whole `manage.py runjob` process, as a user runs it):
  PostgreSQL -> PostgreSQL   engine postgres_source -> postgres_sink
                             vs `psql \\copy (SELECT ...) TO STDOUT (FORMAT binary) | psql \\copy ... FROM STDIN (FORMAT binary)`
  CSV -> MariaDB             engine csv_source -> mysql_sink (LOAD DATA LOCAL INFILE)
                             vs `mariadb --local-infile=1 -e "LOAD DATA LOCAL INFILE ..."`
  CSV -> MariaDB, INSERTs    the same job with the connection option local_infile=false
                             (the fallback, and what the sink did before)
  MariaDB -> CSV             engine mysql_source -> csv_sink
                             vs `mariadb --batch --quick -e "SELECT ..." > file`
Each method runs --repeat times, interleaved; the median is reported with
every run's seconds and the peak RSS (GNU time's maximum resident set size).

Data: a 10-column table (int, name, email, numeric(12,2), date, timestamptz,
bool, category, city, 40-char note) generated in PostgreSQL; the CSV is its
`\\copy` export. PostgreSQL from ETL_BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/postgres, schema `bench_db_paths`),
MariaDB from ETL_BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306, database
`bench_db_paths`); both are dropped at the end. The Django side uses a fresh
SQLite database in bench/out/db_paths_home.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pymysql

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HOME = OUT / "db_paths_home"
PG_URL = os.environ.get("ETL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("ETL_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")
NAME = "bench_db_paths"
COLUMNS_SQL = (
    "id bigint, name text, email text, amount numeric(12,2), day date, at timestamptz, "
    "active boolean, category text, city text, note text"
)
MYSQL_COLUMNS_SQL = (
    "id bigint, name varchar(100), email varchar(200), amount decimal(12,2), day date, at datetime(6), "
    "active boolean, category varchar(20), city varchar(50), note varchar(100)"
)
GENERATE_SQL = """
CREATE TABLE {name}.src AS
SELECT g::bigint AS id,
       (ARRAY['Bala','Corin','Dunst','Fenna','Galt','Kiri','Lomas','Perle'])[g % 8 + 1] || ' ' || (g % 997) AS name,
       'user' || g || '@example.com' AS email,
       (((g * 7919) % 10000000)::numeric / 100)::numeric(12,2) AS amount,
       DATE '2020-01-01' + ((g * 37) % 1826)::int AS day,
       TIMESTAMPTZ '2020-01-01 00:00:00+00' + ((g * 104729) % (1826 * 86400)) * interval '1 second' AS at,
       g % 3 = 0 AS active,
       (ARRAY['books','games','garden','music','sports','tools','toys','travel'])[g % 8 + 1] AS category,
       'City ' || (1000 + g % 50) AS city,
       substr(md5(g::text) || md5((g + 1)::text), 1, 40) AS note
FROM generate_series(1::bigint, {rows}) g
"""
# The CSV as a user's export would have it: ISO timestamps in UTC, true/false.
EXPORT_SQL = (
    "SELECT id, name, email, amount, day, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at, "
    f"CASE WHEN active THEN 'true' ELSE 'false' END AS active, category, city, note FROM {NAME}.src ORDER BY id"
)
# --paths names -> the labels of the table below.
PATH_NAMES = {
    "pg_pg": "PostgreSQL -> PostgreSQL",
    "csv_mariadb": "CSV -> MariaDB",
    "csv_mariadb_inserts": "CSV -> MariaDB (INSERT fallback)",
    "mariadb_csv": "MariaDB -> CSV",
}
CSV_TYPES = {"amount": "decimal(12,2)", "day": "date", "at": "timestamptz", "active": "bool"}
JOBS = {
    # What `runjob` costs before and after any row: Django, imports, the Execution record.
    "bench_trivial": [
        {"name": "src", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
        {"name": "out", "type": "csv_sink", "inputs": ["src"], "config": {"path": "db_paths_trivial.csv"}},
    ],
    "bench_pg_to_pg": [
        {"name": "src", "type": "postgres_source", "config": {"connection": "pg", "table": f"{NAME}.src"}},
        {
            "name": "out",
            "type": "postgres_sink",
            "inputs": ["src"],
            "config": {"connection": "pg", "table": f"{NAME}.engine_dst"},
        },
    ],
    "bench_csv_to_mariadb": [
        {"name": "src", "type": "csv_source", "config": {"path": "db_paths.csv", "columns": CSV_TYPES}},
        {
            "name": "out",
            "type": "mysql_sink",
            "inputs": ["src"],
            "config": {"connection": "my", "table": "engine_dst"},
        },
    ],
    "bench_mariadb_to_csv": [
        {"name": "src", "type": "mysql_source", "config": {"connection": "my", "table": "src"}},
        {
            "name": "out",
            "type": "csv_sink",
            "inputs": ["src"],
            "config": {"path": "db_paths_from_mariadb.csv"},
        },
    ],
}


def environment() -> dict:
    return {
        **os.environ,
        "ETL_HOME": str(HOME),
        "ETL_DATA_ROOTS": str(OUT),
        "DATABASE_URL": f"sqlite:///{HOME / 'etlsite.sqlite3'}",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }


def manage(*arguments: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment(),
        check=True,
        capture_output=capture,
        text=True,
    )


def set_up_site() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    manage("migrate", "-v", "0")
    code = (
        "from jobs.models import Job\n"
        f"for name, components in {JOBS!r}.items():\n"
        "    job = Job.objects.create(name=name, config={'batch_size': 50000})\n"
        "    job.replace_components(components)\n"
    )
    manage("shell", "-c", code)


def mysql_params(database: str | None = None) -> dict:
    parsed = urlparse(MYSQL_URL)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 3306,
        "user": parsed.username or "root",
        "password": parsed.password or "",
        "database": database,
    }


def mysql_url(options: str = "") -> str:
    parsed = mysql_params()
    auth = parsed["user"] + (f":{parsed['password']}" if parsed["password"] else "")
    return f"mysql://{auth}@{parsed['host']}:{parsed['port']}/{NAME}{options}"


def mysql_client(*arguments: str, **run) -> subprocess.CompletedProcess:
    params = mysql_params()
    command = ["mariadb", "-h", params["host"], "-P", str(params["port"]), "-u", params["user"]]
    if params["password"]:
        command.append(f"-p{params['password']}")
    return subprocess.run([*command, *arguments], check=True, **run)


def timed(command, **run) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of a whole process (GNU time)."""
    report = OUT / "db_paths_time.txt"
    started = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *command], check=True, **run)
    seconds = time.perf_counter() - started
    return seconds, int(report.read_text().split()[-1]) / 1024


def runjob(job: str, *connections: str) -> tuple[float, float]:
    arguments = [sys.executable, "manage.py", "runjob", job]
    for connection in connections:
        arguments += ["--connection", connection]
    return timed(arguments, cwd=ROOT, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-inserts", action="store_true", help="Skip the slow INSERT fallback path.")
    parser.add_argument(
        "--paths", nargs="*", choices=list(PATH_NAMES), default=list(PATH_NAMES), help="Only these paths."
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / "db_paths.csv"

    pg = psycopg.connect(PG_URL, autocommit=True)
    pg.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
    pg.execute(f"CREATE SCHEMA {NAME}")
    my = pymysql.connect(**mysql_params(), autocommit=True, charset="utf8mb4")
    with my.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {NAME}")
        cursor.execute(f"CREATE DATABASE {NAME} CHARACTER SET utf8mb4")
        cursor.execute(f"USE {NAME}")
    try:
        print(f"Generating {args.rows:,} rows...", flush=True)
        pg.execute(GENERATE_SQL.format(name=NAME, rows=args.rows))
        subprocess.run(
            [
                "psql",
                PG_URL,
                "-q",
                "-c",
                f"\\copy ({EXPORT_SQL}) TO '{csv_path}' WITH (FORMAT csv, HEADER true)",
            ],
            check=True,
        )
        with my.cursor() as cursor:
            cursor.execute(f"CREATE TABLE src ({MYSQL_COLUMNS_SQL}) ENGINE=InnoDB")
        load_sql = (
            f"LOAD DATA LOCAL INFILE '{csv_path}' INTO TABLE {{table}} FIELDS TERMINATED BY ',' "
            "OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES "
            "(id, name, email, amount, day, @at, @active, category, city, note) "
            "SET at = STR_TO_DATE(@at, '%Y-%m-%dT%H:%i:%sZ'), active = (@active = 'true')"
        )
        mysql_client("--local-infile=1", NAME, "-e", load_sql.format(table="src"))
        set_up_site()
        print(
            f"Data: {args.rows:,} rows, 10 columns; CSV {csv_path.stat().st_size / 2**20:.0f} MiB\n",
            flush=True,
        )

        def reset_pg(table):
            pg.execute(f"DROP TABLE IF EXISTS {NAME}.{table}")
            pg.execute(f"CREATE TABLE {NAME}.{table} ({COLUMNS_SQL})")

        def reset_my(table):
            with my.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(f"CREATE TABLE {table} ({MYSQL_COLUMNS_SQL}) ENGINE=InnoDB")

        def pg_rows(table):
            return pg.execute(f"SELECT count(*) FROM {NAME}.{table}").fetchone()[0]

        def my_rows(table):
            with my.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table}")
                return cursor.fetchone()[0]

        def plain_pg_to_pg():
            reset_pg("plain_dst")
            pipeline = (
                f"psql '{PG_URL}' -q -c '\\copy (SELECT * FROM {NAME}.src) TO STDOUT (FORMAT binary)' | "
                f"psql '{PG_URL}' -q -c '\\copy {NAME}.plain_dst FROM STDIN (FORMAT binary)'"
            )
            measured = timed(["bash", "-o", "pipefail", "-c", pipeline])
            assert pg_rows("plain_dst") == args.rows
            return measured

        def engine_pg_to_pg():
            reset_pg("engine_dst")
            measured = runjob("bench_pg_to_pg", f"pg={PG_URL}")
            assert pg_rows("engine_dst") == args.rows
            return measured

        def plain_csv_to_mariadb():
            reset_my("plain_dst")
            measured = timed(
                [*mysql_command(), "--local-infile=1", NAME, "-e", load_sql.format(table="plain_dst")]
            )
            assert my_rows("plain_dst") == args.rows
            return measured

        def engine_csv_to_mariadb(options=""):
            reset_my("engine_dst")
            measured = runjob("bench_csv_to_mariadb", f"my={mysql_url(options)}")
            assert my_rows("engine_dst") == args.rows
            return measured

        def plain_mariadb_to_csv():
            target = OUT / "db_paths_plain_from_mariadb.tsv"
            command = [*mysql_command(), "--batch", "--quick", NAME, "-e", "SELECT * FROM src"]
            with target.open("w") as out:
                return timed(command, stdout=out)

        def engine_mariadb_to_csv():
            return runjob("bench_mariadb_to_csv", f"my={mysql_url()}")

        paths = [
            (
                "PostgreSQL -> PostgreSQL",
                plain_pg_to_pg,
                engine_pg_to_pg,
                "psql \\copy binary, piped to \\copy",
            ),
            ("CSV -> MariaDB", plain_csv_to_mariadb, engine_csv_to_mariadb, "mariadb LOAD DATA LOCAL"),
            ("MariaDB -> CSV", plain_mariadb_to_csv, engine_mariadb_to_csv, "mariadb --batch --quick"),
        ]
        if not args.no_inserts:
            paths.insert(
                2,
                (
                    "CSV -> MariaDB (INSERT fallback)",
                    plain_csv_to_mariadb,
                    lambda: engine_csv_to_mariadb("?local_infile=false"),
                    "mariadb LOAD DATA LOCAL",
                ),
            )
        wanted = {PATH_NAMES[name] for name in args.paths}
        paths = [path for path in paths if path[0] in wanted]
        results = {label: {"plain": [], "engine": []} for label, *_ in paths}
        trivial = []
        for round_number in range(args.repeat):
            trivial.append(runjob("bench_trivial")[0])
            for label, plain, engine, _ in paths:
                results[label]["plain"].append(plain())
                results[label]["engine"].append(engine())
                print(
                    f"round {round_number + 1} {label}: plain {results[label]['plain'][-1][0]:.2f} s, "
                    f"engine {results[label]['engine'][-1][0]:.2f} s",
                    flush=True,
                )
        startup = statistics.median(trivial)
        print(f"\n{args.rows:,} rows, median of {args.repeat} interleaved runs (whole processes):\n")
        print(
            "| path | etlsite `runjob` rows/s | plain tool | plain rows/s | ratio | ratio without runjob's fixed cost "
            "| runs etlsite / plain (s) | peak RSS etlsite / plain (MiB) |"
        )
        print("|---|---:|---|---:|---:|---:|---|---|")
        for label, _, _, tool in paths:
            engine = statistics.median(s for s, _ in results[label]["engine"])
            plain = statistics.median(s for s, _ in results[label]["plain"])
            runs_engine = " ".join(f"{s:.2f}" for s, _ in results[label]["engine"])
            runs_plain = " ".join(f"{s:.2f}" for s, _ in results[label]["plain"])
            rss_engine = statistics.median(r for _, r in results[label]["engine"])
            rss_plain = statistics.median(r for _, r in results[label]["plain"])
            print(
                f"| {label} | {args.rows / engine:,.0f} | {tool} | {args.rows / plain:,.0f} | "
                f"**{plain / engine:.2f}** | {plain / max(engine - startup, 1e-9):.2f} | {runs_engine} / {runs_plain} "
                f"| {rss_engine:.0f} / {rss_plain:.0f} |"
            )
        runs = " ".join(f"{s:.2f}" for s in trivial)
        print(f"\n`runjob` of a one-row job (its fixed cost): median {startup:.2f} s [{runs}]")
    finally:
        pg.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
        pg.close()
        with my.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {NAME}")
        my.close()


def mysql_command() -> list[str]:
    params = mysql_params()
    command = ["mariadb", "-h", params["host"], "-P", str(params["port"]), "-u", params["user"]]
    if params["password"]:
        command.append(f"-p{params['password']}")
    return command


if __name__ == "__main__":
    main()
