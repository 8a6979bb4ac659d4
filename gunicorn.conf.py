"""gunicorn's settings, read from the working directory (`make run`, bench/load_api.py).

Request metrics use prometheus-client's multiprocess mode: every worker
writes its counters to files in PROMETHEUS_MULTIPROC_DIR (default
$ETL_HOME/prometheus) and /metrics adds them up (monitoring/request_metrics.py).
"""

import os
import shutil
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(os.environ.get("ETL_HOME", BASE_DIR / "var")) / "prometheus")
)


def on_starting(server):
    # The files of a previous server would add its counts to this one's.
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


graceful_timeout = (
    5  # a stop (Ctrl-C, SIGTERM) waits at most this long for requests: make run stops in under 10 s
)
