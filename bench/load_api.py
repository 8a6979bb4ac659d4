"""Load benchmark: the API under concurrent clients, served by gunicorn.

    .venv/bin/python bench/load_api.py [--duration 60] [--rounds 3] [--connections 50]
    .venv/bin/python bench/load_api.py --database-url postgres://postgres@127.0.0.1:5432/etl_load

Sets up a fresh ETL_HOME in a temporary folder (SQLite there, or the empty
database given with --database-url), with an admin token, a job to read, a
history of 200 executions and 100 trivial jobs to start; then serves it with
gunicorn (2 workers x 1 thread, as `make run`) on 127.0.0.1 next to one
`manage.py qcluster` worker, and drives it with wrk (`apt-get install wrk`;
installed on the fly when missing and apt-get is available): --connections
clients for --duration seconds per endpoint in all, in --rounds interleaved
rounds (each round runs every GET below for duration/rounds seconds, so a
burst of other work on the machine weighs on the floor as on the rest):

  baseline  GET /api/v1/health/live        bare JSON, no auth, no database
  floor     GET /api/v1/component-types/csv_source   auth and rate limit, no other query
  list      GET /api/v1/jobs/
  detail    GET /api/v1/jobs/{id}
  history   GET /api/v1/jobs/{id}/executions
  status    GET /api/v1/jobs/{id}/status
  304       the four reads above again with If-None-Match: the ETag of their
            answer (Django's ConditionalGetMiddleware answers 304 Not Modified)
  start     POST /api/v1/jobs/{id}/start   (100 trivial jobs in turn, max_concurrent 100 each)

Every answer is rendered: there is no answer cache. It prints requests/s,
p50/p95/p99/max latency, bytes per answer and errors per endpoint, and each
throughput as a ratio to the floor measured in the same rounds (requests and
seconds summed over the rounds; latency: the median of the rounds' percentiles,
the largest maximum). Errors are wrk's
socket errors, timeouts (over 10 s) and answers of 400 and above. Targets: 0
errors; list and history >= 0.25x the floor, detail >= 0.45x, the 304 path
>= 0.6x. Rate limits are raised for the run (THROTTLE_USER); every other
setting is the default production one (DEBUG off).
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_suffix(".lua")
START_JOBS = 100
FLOOR = "floor: GET /component-types/{type}"


def targets(reads: dict) -> dict[str, float]:
    """Throughput against the floor (issue 16): list and history 0.25x, detail 0.45x, a 304 0.6x."""
    wanted = {"list": 0.25, "detail": 0.45, "history": 0.25}
    found = {reads[key][0]: ratio for key, ratio in wanted.items()}
    found.update({f"{name}, If-None-Match → 304": 0.6 for name, _ in reads.values()})
    return found


SETUP = """
import os

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from execution.models import Execution, State
from jobs.models import Job

admin = User.objects.create_superuser("bench", "bench@example.com", "bench-password-not-secret")
print("TOKEN", Token.objects.create(user=admin).key)

def trivial(name):
    job = Job.objects.create(name=name, config={"max_concurrent": 100})
    job.replace_components([
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
        {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": f"{name}.csv"}},
    ])
    return job

read_job = trivial("read_me")
Execution.objects.bulk_create(
    [Execution(job=read_job, state=State.SUCCEEDED, rows_read=n, rows_written=n) for n in range(200)]
)
print("READ_JOB", read_job.pk)
starts = int(os.environ["LOAD_START_JOBS"])
print("START_JOBS", ",".join(str(trivial(f"start_{n}").pk) for n in range(starts)))
"""


# The same reads in this process (Django's test client, no concurrency, no HTTP):
# SQL queries and Python function calls per request (deterministic), and the
# least CPU time and least wall time of 7 x 20 requests, to see where a read's
# cost goes (the wall time includes the database server's work, which this
# process's CPU time does not: PostgreSQL's planning and execution).
IN_PROCESS = """
import cProfile, json, os, pstats, time
from django.db import connection
from django.test import Client

client = Client(HTTP_AUTHORIZATION="Token " + os.environ["LOAD_TOKEN"], HTTP_ACCEPT="application/json",
                HTTP_HOST="127.0.0.1")
rows = {}
for name, path, etag in json.loads(os.environ["LOAD_READS"]):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    status = [client.get(path, **headers).status_code for _ in range(10)][-1]
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        client.get(path, **headers)
    profile = cProfile.Profile()
    profile.enable()
    client.get(path, **headers)
    profile.disable()
    best_cpu = best_wall = float("inf")
    for _ in range(7):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(20):
            client.get(path, **headers)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / 20)
        best_wall = min(best_wall, (time.perf_counter() - wall) / 20)
    rows[name] = [status, len(queries), pstats.Stats(profile).total_calls, best_cpu * 1000, best_wall * 1000]
print("IN_PROCESS " + json.dumps(rows))
"""


def in_process(env, token, reads) -> dict:
    env = dict(env, LOAD_TOKEN=token, LOAD_READS=json.dumps(reads))
    output = manage(env, "shell", "-c", IN_PROCESS, capture=True)
    line = next(line for line in output.splitlines() if line.startswith("IN_PROCESS "))
    return json.loads(line.removeprefix("IN_PROCESS "))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    if not shutil.which("wrk") and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("This benchmark needs wrk (Debian: apt-get install wrk).")
    return wrk


def manage(env, *args, capture=False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=capture, text=True
    )
    return result.stdout if capture else ""


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def etag_of(url: str, token: str) -> str:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Token {token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        etag = response.headers["ETag"]
    request.add_header("If-None-Match", etag)
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as answer:
        if answer.code == 304:
            return etag
    raise SystemExit(f"{url} does not answer 304 to If-None-Match: {etag}")


def run_wrk(wrk, base, token, name, paths, args, method="GET", body=None, etag=None, seconds=None) -> dict:
    env = dict(os.environ, LOAD_TOKEN=token, LOAD_METHOD=method, LOAD_PATHS=",".join(paths))
    if body is not None:
        env["LOAD_BODY"] = body
    if etag is not None:
        env["LOAD_IF_NONE_MATCH"] = etag
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds or args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base + paths[0],
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["name"] = name
    result["errors"] = sum(
        result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return result


def combined(name: str, rounds: list[dict]) -> dict:
    """One endpoint's rounds as one result: counts and time summed, latency
    percentiles the median of the rounds', the largest maximum."""
    result = {"name": name, "max_us": max(r["max_us"] for r in rounds)}
    for key in ("requests", "bytes", "duration_us", "errors"):
        result[key] = sum(r[key] for r in rounds)
    for key in ("p50_us", "p95_us", "p99_us"):
        result[key] = statistics.median(r[key] for r in rounds)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60, help="seconds per endpoint, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every GET endpoint")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--database-url", help="an empty database to use instead of a fresh SQLite file")
    parser.add_argument(
        "--cache-url",
        help="the shared cache (rate limits, aggregates), e.g. redis://127.0.0.1:6379/3, instead of the database",
    )
    parser.add_argument(
        "--threads-per-worker", type=int, default=1, help="gunicorn threads per worker (make run: 1)"
    )
    args = parser.parse_args()
    wrk = ensure_wrk()

    home = Path(tempfile.mkdtemp(prefix="etl-load-"))
    (home / "data").mkdir()
    env = dict(
        os.environ,
        ETL_HOME=str(home),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ETL_CREDENTIALS_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        THROTTLE_USER="1000000/second",
        LOG_LEVEL="WARNING",
        Q_WORKERS="1",
        LOAD_START_JOBS=str(START_JOBS),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    env.pop("CACHE_URL", None)
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "createcachetable")
    facts = dict(
        line.split(" ", 1)
        for line in manage(env, "shell", "-c", SETUP, capture=True).splitlines()
        if " " in line
    )
    token, read_job, start_jobs = facts["TOKEN"], facts["READ_JOB"], facts["START_JOBS"].split(",")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = home / "logs"
    logs.mkdir()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=(logs / "qcluster.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "etlsite.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            str(args.threads_per_worker),
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=(logs / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(base + "/api/v1/health/live", web)
        print(
            f"{args.connections} clients x {args.duration} s per endpoint in {args.rounds} rounds against {base} "
            f"({'PostgreSQL' if args.database_url else 'SQLite'}, cache {args.cache_url or 'in the database'}, "
            f"{args.threads_per_worker} threads per worker; load average {os.getloadavg()[0]:.1f}; logs in {logs})",
            flush=True,
        )
        reads = {
            "list": ("GET /jobs/", "/api/v1/jobs/"),
            "detail": ("GET /jobs/{id}", f"/api/v1/jobs/{read_job}"),
            "history": ("GET /jobs/{id}/executions", f"/api/v1/jobs/{read_job}/executions"),
            "status": ("GET /jobs/{id}/status", f"/api/v1/jobs/{read_job}/status"),
        }
        runs = [
            ("baseline: GET /health/live", ["/api/v1/health/live"], "GET", None, None),
            # The floor of any authenticated read: token lookup, rate-limit count, no other query.
            (FLOOR, ["/api/v1/component-types/csv_source"], "GET", None, None),
            *[(name, [path], "GET", None, None) for name, path in reads.values()],
            *[
                (f"{name}, If-None-Match → 304", [path], "GET", None, etag_of(base + path, token))
                for name, path in reads.values()
            ],
            ("POST /jobs/{id}/start", [f"/api/v1/jobs/{pk}/start" for pk in start_jobs], "POST", "{}", None),
        ]
        local_reads = [(name, paths[0], etag) for name, paths, method, _, etag in runs if method == "GET"]
        # The reads in interleaved rounds; the starts once, at the end (each
        # start leaves a run behind, which would change the reads after it).
        rounds = {name: [] for name, *_ in runs}
        seconds = max(1, round(args.duration / args.rounds))
        for number in range(1, args.rounds + 1):
            for name, paths, method, body, etag in runs:
                if method == "GET":
                    rounds[name].append(
                        run_wrk(wrk, base, token, name, paths, args, method, body, etag, seconds)
                    )
            print(
                f"  round {number} of {args.rounds}: done (load average {os.getloadavg()[0]:.1f})", flush=True
            )
        for name, paths, method, body, etag in runs:
            if method != "GET":
                rounds[name].append(run_wrk(wrk, base, token, name, paths, args, method, body, etag))
        results = [combined(name, measured) for name, measured in rounds.items()]
    finally:
        stop(web)
        stop(worker)

    local = in_process(env, token, local_reads)
    # On PostgreSQL, the same reads again with Django's defaults (client-side
    # binding, nothing prepared): what DATABASE_PREPARED_STATEMENTS saves.
    unprepared = (
        in_process(dict(env, DATABASE_PREPARED_STATEMENTS="false"), token, local_reads)
        if args.database_url
        else {}
    )
    floor = next(r["rps"] for r in results if r["name"] == FLOOR)
    print()
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| endpoint | requests/s | vs floor | p50 ms | p95 ms | p99 ms | max ms | bytes/answer | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['name']} | {r['rps']:,.0f} | {r['rps'] / floor:.2f}× | {r['p50_us'] / 1000:.1f} | "
            f"{r['p95_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {r['max_us'] / 1000:.0f} | "
            f"{r['bytes'] / max(r['requests'], 1):,.0f} | {r['errors']} |"
        )
    print()
    print(f"In-process (one process, no HTTP; load average {os.getloadavg()[0]:.1f}):")
    extra = " | not prepared: wall ms | vs floor" if unprepared else ""
    print(f"| endpoint | status | queries | Python calls | CPU ms | wall ms | wall vs floor{extra} |")
    print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if unprepared else ""))
    for name, (status, queries, calls, cpu_ms, wall_ms) in local.items():
        line = (
            f"| {name} | {status} | {queries} | {calls:,} | {cpu_ms:.2f} | {wall_ms:.2f} | "
            f"{local[FLOOR][4] / wall_ms:.2f}× |"
        )
        if unprepared:
            line += f" {unprepared[name][4]:.2f} | {unprepared[FLOOR][4] / unprepared[name][4]:.2f}× |"
        print(line)
    errors = {r["name"]: r["errors"] for r in results if r["errors"]}
    ratios = {r["name"]: r["rps"] / floor for r in results}
    missed = {
        name: round(ratios[name], 2) for name, target in targets(reads).items() if ratios[name] < target
    }
    print()
    print("errors: " + (json.dumps(errors) if errors else "0"))
    print("ratio targets: " + ("met" if not missed else f"NOT met {json.dumps(missed, ensure_ascii=False)}"))
    if errors:
        print(f"logs kept in {logs}")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
