"""A real `manage.py qcluster` subprocess on the test database.

The worker must see what the test writes, so tests using it are
transactional (`transaction=True`) and the subprocess gets the test
database's real name (pytest-xdist adds `_gwN`), read from the connection.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from execution.models import Execution

BASE_DIR = Path(settings.BASE_DIR)


def database_url() -> str:
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    if connection.vendor == "postgresql":
        auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
        return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    raise NotImplementedError(f"qcluster tests do not support {connection.vendor}")


class QCluster:
    def __init__(self, log_path: Path, data_root: Path, workers: int = 1):
        self.log_path = log_path
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            ETL_DATA_ROOTS=str(data_root),
            ETL_HOME=str(settings.ETL_HOME),
            Q_WORKERS=str(workers),
            PYTHONUNBUFFERED="1",
        )
        if settings.ETL_CREDENTIALS_KEY:
            # The tests' key: run-time overrides (encrypted at start) must decrypt in the worker.
            env["ETL_CREDENTIALS_KEY"] = settings.ETL_CREDENTIALS_KEY
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, workers: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output().count("ready for work") >= workers and "running." in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"qcluster did not start:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            # The cluster process stops its sentinel, workers, pusher and monitor in order.
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        # Workers of the group that outlived the sentinel.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def wait_for(execution_id: int, condition, timeout: float = 30, what: str = "condition") -> Execution:
    """Poll the execution row until `condition(execution)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        execution = Execution.objects.get(pk=execution_id)
        if condition(execution):
            return execution
        if time.monotonic() > deadline:
            logs = list(execution.logs.values_list("level", "message"))
            raise AssertionError(f"timed out waiting for {what}: state={execution.state} logs={logs}")
        time.sleep(0.02)


def wait_for_state(execution_id: int, *states: str, timeout: float = 30) -> Execution:
    return wait_for(execution_id, lambda e: e.state in states, timeout, what=f"state in {states}")
