"""A real gunicorn serving the test database, for tests that need concurrency
across processes and threads (the test client runs one request at a time).

Tests using it are transactional, like the qcluster ones: the server's
processes must see what the test wrote.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.conftest import TEST_CREDENTIALS_KEY
from tests.execution.qcluster import database_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """`gunicorn etlsite.wsgi` with 2 workers x 2 threads on a free loopback port."""

    def __init__(self, log_path: Path, workers: int = 2, threads: int = 2):
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{free_port()}"
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "etlsite.wsgi",
            "--bind",
            self.url.removeprefix("http://"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
        ]
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "ETL_HOME": str(settings.ETL_HOME),
            "DEBUG": "false",
            "SECRET_KEY": "test-only-web-server-key",
            "ETL_CREDENTIALS_KEY": TEST_CREDENTIALS_KEY,
            "PYTHONUNBUFFERED": "1",
        }

    def __enter__(self) -> "WebServer":
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.command,
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/api/v1/health/live", timeout=2),
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text()

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()
        print(self.output())  # shown when the test fails
