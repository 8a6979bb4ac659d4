"""The README's shell examples, run as printed against a live server: a fresh
ETL_HOME set up as `make setup` does, `make serve` (gunicorn and a qcluster)
on a free loopback port. A command that breaks, a route that moved or an
answer that changed fails here.

`make run` and `make test` are what this test stands in for and runs around;
every other ```sh block runs, in order, in one bash with `set -eux` (each
command timed on stderr, shown when it fails), with the
README's http://127.0.0.1:8000 pointed at the test server and the admin
password `make run` printed typed in on stdin."""

import re
import subprocess

import pytest

from tests.foundation.live_site import BASE_DIR, LiveSite, free_port, set_up, site_environment

pytestmark = pytest.mark.qcluster

README = BASE_DIR / "README.md"
STANDS_IN_FOR = {"make run", "make test"}


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout


def test_the_readme_has_its_examples():
    blocks = shell_blocks(README.read_text())
    assert {block.strip() for block in blocks} >= STANDS_IN_FOR
    assert len(blocks) >= 7


def test_the_readme_examples_run_as_printed(tmp_path):
    blocks = [b for b in shell_blocks(README.read_text()) if b.strip() not in STANDS_IN_FOR]
    initialized = set_up(tmp_path)
    password = re.search(r"with password: (\S+)", initialized).group(1)
    subprocess.run(
        [BASE_DIR / ".venv/bin/python", "manage.py", "demo_data"],
        cwd=BASE_DIR,
        env=site_environment(tmp_path),
        check=True,
        capture_output=True,
    )
    before = git_status()
    site = LiveSite(tmp_path, free_port())
    try:
        site.wait_until_up()
        script = "set -eux\nPS4='+ $(date +%T.%N) '\n" + "\n".join(blocks).replace(
            "http://127.0.0.1:8000", site.url
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=BASE_DIR,
            env=site_environment(tmp_path),
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        site.terminate_group()
        site.kill()
    out = done.stdout
    assert done.returncode == 0, f"{done.stderr}\n--- output ---\n{out}"

    # Every answer is what the README says it is.
    assert '"name":"positive_amounts"' in out and '"count":1' in out
    assert '"secrets_set":["password"]' in out and "s3cret" not in out
    assert '"ok":false' in out
    assert '"valid":1,"invalid":1' in out  # the inline records
    # samples/payments.csv: one negative amount (an error), one too large (a warning).
    assert '"valid":4,"invalid":1,"errors_total":1,"warnings_total":1' in out
    assert '"state":"queued"' in out and '"state":"paused"' in out
    assert '"state":"stopped"' in out
    assert "Job 'demo_flights_by_carrier' succeeded" in out
    # One error body, the one the README shows: naming both bad components.
    errors = re.findall(r'\{"error":\{"code":"([a-z_]+)","message":"([^"]*)"', out)
    assert len(errors) == 1, errors
    code, message = errors[0]
    assert code == "invalid" and "component 'positive'" in message and "component 'out'" in message
    assert message in README.read_text()  # the answer the README prints
    # Nothing of a run landed in the checkout.
    assert git_status() == before
