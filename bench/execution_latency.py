"""Benchmark: from `POST /api/v1/jobs/{id}/start` to state `running`, one idle worker.

    .venv/bin/python bench/execution_latency.py [--runs 20]

Measured in the same run, against one `manage.py qcluster` (one worker) on a
fresh SQLite database in a temporary ETL_HOME, or on the empty database given
with --database-url (e.g. postgres://postgres@127.0.0.1:5432/etl_latency):

  baseline  a bare django-q2 no-op task (`math.floor`): enqueue -> the worker
            has run it (django-q2's own `started`/`stopped` stamps).
  start     POST /start (in-process API client) -> the execution row says
            `running`, seen by polling every 2 ms; and server-side
            `queued_at` -> `started_at`.

Between samples the worker is left idle for a random 0.2-0.6 s, so the
broker poll (Q_POLL_SECONDS, default 0.1 s) is at a random phase, as for a
real user. Target: start median <= 300 ms.

Then pause and stop: a job reading the engine benchmark's 1M-row, 10-column
CSV (bench/engine_load.py generates it) into a CSV file with the default batch
size; once rows flow, POST /pause -> `paused`, POST /resume, POST /stop ->
`stopped`, each timed. Target: <= 1 s.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:6.1f} ms   p90 {p90 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms"


def start_cluster(env: dict, log_path: Path) -> subprocess.Popen:
    """A qcluster, once ready; stopped again (not left behind) if it does not start."""
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=dict(env, LOG_LEVEL="INFO"),  # readiness is read from its log
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "running." not in log_path.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            stop_cluster(process)
            raise SystemExit(f"qcluster did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    time.sleep(1)  # let the worker finish its start-up (reaper, imports)
    return process


def stop_cluster(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    parser.add_argument("--control-runs", type=int, default=5, help="pause/stop samples (0 to skip)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="etl-latency-"))
    (home / "data").mkdir()
    sys.path.insert(0, str(ROOT))
    from bench.engine_load import generate_csv

    benchmark_csv = generate_csv(1_000_000)
    roots = f"{home / 'data'},{benchmark_csv.parent}"
    env = dict(os.environ, ETL_HOME=str(home), ETL_DATA_ROOTS=roots, Q_WORKERS="1")
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    env.setdefault("CACHE_URL", "locmemcache://")
    os.environ.update(env, LOG_LEVEL="WARNING")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    from django.contrib.auth.models import User
    from django_q.models import Task
    from django_q.tasks import async_task
    from rest_framework.test import APIClient

    from execution.models import Execution
    from jobs.models import Job

    user = User.objects.create_superuser("bench", "bench@localhost", "bench-password")
    client = APIClient()
    client.force_authenticate(user)
    job = Job.objects.create(name="latency")
    job.replace_components(
        [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}]}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "out.csv"}},
        ]
    )

    big = Job.objects.create(name="control_latency")
    big.replace_components(
        [
            {"name": "rows", "type": "csv_source", "config": {"path": benchmark_csv.name}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": "big_out.csv"}},
        ]
    )

    def until(execution_id, condition):
        began = time.perf_counter()
        while not condition(Execution.objects.get(pk=execution_id)):
            time.sleep(0.002)
        return time.perf_counter() - began

    def control(action):
        response = client.post(f"/api/v1/jobs/{big.pk}/{action}", {}, format="json")
        assert response.status_code == 202, response.content

    cluster = start_cluster(env, home / "qcluster.log")
    baseline, observed, server_side, pauses, stops = [], [], [], [], []
    try:
        for _ in range(args.runs):
            time.sleep(random.uniform(0.2, 0.6))
            task_id = async_task("math.floor", 1.5)
            while not (task := Task.objects.filter(id=task_id).first()):
                time.sleep(0.002)
            baseline.append((task.stopped - task.started).total_seconds())

        for _ in range(args.runs):
            time.sleep(random.uniform(0.2, 0.6))
            began = time.perf_counter()
            response = client.post(f"/api/v1/jobs/{job.pk}/start", {}, format="json")
            assert response.status_code == 202, response.content
            execution_id = response.json()["id"]
            while not Execution.objects.filter(pk=execution_id, started_at__isnull=False).exists():
                time.sleep(0.002)
            observed.append(time.perf_counter() - began)
            while (execution := Execution.objects.get(pk=execution_id)).is_active:
                time.sleep(0.01)
            assert execution.state == "succeeded", execution.error
            server_side.append((execution.started_at - execution.queued_at).total_seconds())

        for _ in range(args.control_runs):
            execution_id = client.post(f"/api/v1/jobs/{big.pk}/start", {}, format="json").json()["id"]
            until(execution_id, lambda e: e.state == "running" and e.rows_read > 0)
            control("pause")
            pauses.append(until(execution_id, lambda e: e.state == "paused"))
            control("resume")
            until(execution_id, lambda e: e.state == "running")
            control("stop")
            stops.append(until(execution_id, lambda e: e.state == "stopped"))
    finally:
        stop_cluster(cluster)

    print(
        f"runs: {args.runs} each, one idle worker, poll {os.environ.get('Q_POLL_SECONDS', '0.1')} s, "
        f"database {connection.vendor}"
    )
    print(f"baseline  django-q2 no-op, enqueue -> run:     {summary(baseline)}")
    print(f"start     POST /start -> running (client):     {summary(observed)}")
    print(f"start     queued_at -> started_at (server):    {summary(server_side)}")
    ratio = statistics.median(observed) / statistics.median(baseline)
    print(f"ratio     start median / baseline median:      {ratio:.2f}x")
    target = statistics.median(observed) <= 0.300
    print(f"target    start median <= 300 ms:              {'met' if target else 'MISSED'}")
    if pauses:
        batch = settings.ETL_DEFAULT_BATCH_SIZE
        print(f"pause     POST /pause -> paused ({batch}-row batches): {summary(pauses)}")
        print(f"stop      POST /stop -> stopped ({batch}-row batches): {summary(stops)}")
        within = max(pauses + stops) <= 1.0
        print(f"target    pause and stop <= 1 s:                {'met' if within else 'MISSED'}")


if __name__ == "__main__":
    main()
