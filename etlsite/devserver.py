"""`make run`'s local development server: gunicorn and one django-q2 cluster,
started together and stopped together.

    python etlsite/devserver.py check-port HOST PORT     # exit 1, naming PORT=, when it is taken
    python etlsite/devserver.py serve HOST PORT -- GUNICORN_ARGS...

Why not a shell `trap 'kill 0' INT TERM EXIT`: `kill 0` signals the shell's
own process group, the shell included, so the trap fires again on its own
TERM, without end, until the shell overflows its stack (make reports
"Segmentation fault"). Every round also hits every qcluster process: the
sentinel dies at once (it keeps SIGTERM's default action) while the cluster's
main process re-enters its TERM handler inside its own stop() until a
RecursionError leaves it hanging, so a second TERM does nothing either.

Here each server runs in its own session and gets exactly one TERM from this
supervisor (on SIGINT/Ctrl-C or SIGTERM): the cluster then stops its workers
the way django-q2 means to, gunicorn finishes its requests. Whatever is still
there after STOP_SECONDS (a worker in the middle of a long batch) is killed
with its process group; the reaper fails such a run and its sinks leave their
targets as they were (atomic loads).

No Django import: the port check runs before anything is installed or migrated.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

STOP_SECONDS = 8.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # What gunicorn sets too: a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_port(host: str, port: int) -> int:
    if port_is_free(host, port):
        return 0
    print(
        f"Port {port} on {host} is already in use (another `make run`?). "
        f"Pick another one: make run PORT={port + 1}",
        file=sys.stderr,
    )
    return 1


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_SECONDS:.0f} s: killing it.", file=sys.stderr)
        # Its children too (the cluster's workers), also after a clean exit of the parent.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serve(host: str, port: int, gunicorn_args: list[str]) -> int:
    if check_port(host, port):
        return 1
    print(
        "This is a local development server (DEBUG on unless .env says otherwise, one worker).\n"
        "Do not expose it: production settings and processes are in docs/operations.md.\n"
        f"etlsite on http://{host}:{port}/  (admin: /admin/, API docs: /api/docs/)  Ctrl-C stops it.",
        flush=True,
    )
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # Own sessions: a Ctrl-C on the terminal reaches only this process, which
    # then stops each server once.
    processes = {
        "qcluster": subprocess.Popen([sys.executable, "manage.py", "qcluster"], start_new_session=True),
        "gunicorn": subprocess.Popen([*gunicorn_args, "--bind", f"{host}:{port}"], start_new_session=True),
    }
    status = 0
    while not stopping:
        ended = [name for name, process in processes.items() if process.poll() is not None]
        if ended:
            print(
                f"{ended[0]} exited with status {processes[ended[0]].returncode}: stopping.", file=sys.stderr
            )
            status = 1
            break
        time.sleep(0.2)
    _stop(processes)
    if stopping:
        print("etlsite stopped.", flush=True)
    return status


def main(argv: list[str]) -> int:
    command, host, port = argv[0], argv[1], int(argv[2])
    if command == "check-port":
        return check_port(host, port)
    if command == "serve":
        rest = argv[3:]
        return serve(host, port, rest[1:] if rest[:1] == ["--"] else rest)
    raise SystemExit(f"unknown command {command!r}: check-port or serve")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
