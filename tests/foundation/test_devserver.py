"""`make run`'s servers start and stop as a user expects: a busy port is named
before any work, and a TERM or Ctrl-C on the process group stops gunicorn and
the qcluster within 10 s, without the shell's "Segmentation fault"."""

import os
import signal
import socket
import subprocess
import time

import pytest

from tests.foundation.live_site import (
    BASE_DIR,
    LiveSite,
    free_port,
    processes_serving,
    set_up,
    site_environment,
)

pytestmark = pytest.mark.qcluster


def test_a_busy_port_is_named_before_anything_is_installed_or_migrated(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=BASE_DIR,
            env=site_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"make run PORT={port + 1}" in done.stderr
    # Nothing ran: no database, no migration output.
    assert list(tmp_path.iterdir()) == [] and "migrat" not in done.stdout.lower()


@pytest.fixture(scope="module")
def site_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("site")
    set_up(home)
    return home


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_group_stops_everything_within_10_s(site_home, signum):
    site = LiveSite(site_home, free_port())
    try:
        site.wait_until_up()
        assert len(processes_serving(site_home)) >= 5  # make, devserver, gunicorn x2+, qcluster x5
        seconds = site.terminate_group(signum)
        output = site.output()
        assert seconds < 10, output
        assert processes_serving(site_home) == [], output
        assert "Segmentation fault" not in output and "RecursionError" not in output
        assert "Q Cluster" in output and "has stopped" in output
        assert "This is a local development server" in output and "docs/operations.md" in output
    finally:
        site.kill()


def test_one_term_to_the_qcluster_main_process_stops_the_whole_cluster_within_10_s(site_home):
    """What a production supervisor should do (docs/operations.md: KillMode=mixed)."""
    log = site_home / "qcluster.log"
    with open(log, "w+b") as output:
        cluster = subprocess.Popen(
            [BASE_DIR / ".venv/bin/python", "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=site_environment(site_home),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while b"running." not in log.read_bytes():
                assert time.monotonic() < deadline and cluster.poll() is None, log.read_text()
                time.sleep(0.2)
            started = time.monotonic()
            cluster.send_signal(signal.SIGTERM)
            cluster.wait(timeout=30)
            assert time.monotonic() - started < 10
            deadline = time.monotonic() + 5
            while processes_serving(site_home) and time.monotonic() < deadline:
                time.sleep(0.1)  # the sentinel's children exit right after it
            assert processes_serving(site_home) == [], log.read_text()
            assert b"has stopped" in log.read_bytes()
        finally:
            if cluster.poll() is None:
                os.killpg(cluster.pid, signal.SIGKILL)
                cluster.wait()
