"""A live etlsite as `make run` serves it, for tests that drive it from the
outside: a temporary ETL_HOME (SQLite, sample data), set up with the same
commands as `make setup`, then `make serve` (gunicorn and a qcluster under
etlsite/devserver.py) on a free loopback port, in its own session."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = BASE_DIR / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_environment(home: Path) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "DATABASE_URL", "ETL_", "Q_"))
    }
    return {**environment, "ETL_HOME": str(home), "SECRET_KEY": "live-site-test-key", "PYTHONUNBUFFERED": "1"}


def set_up(home: Path) -> str:
    """`make setup` without the install; returns initialize's output (the admin password)."""
    environment = site_environment(home)
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run(
            [PYTHON, "manage.py", *command], cwd=BASE_DIR, env=environment, check=True, capture_output=True
        )
    done = subprocess.run(
        [PYTHON, "manage.py", "initialize"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


class LiveSite:
    def __init__(self, home: Path, port: int):
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(home / "serve.log", "w+b")  # noqa: SIM115 - kept for the life of the server
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=BASE_DIR,
            env=site_environment(home),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"make serve exited early:\n{self.output()}")
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the site did not answer in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def terminate_group(self, signum=signal.SIGTERM) -> float:
        """Signal make's whole process group, as `kill -TERM -PGID` or Ctrl-C
        does; the seconds until every process of the site is gone."""
        started = time.monotonic()
        os.killpg(self.process.pid, signum)
        self.process.wait(timeout=30)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def processes_serving(home: Path) -> list[int]:
    """Pids of processes still running with this ETL_HOME (the servers' environment)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"ETL_HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]
