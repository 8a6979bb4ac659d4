"""Tripwires that prove an expression opened no file and connected nowhere.

Both watch from their own process, because Polars holds the GIL while it
opens a file or a URL: a `read_csv('<canary>')` that got through would block
every thread of the test. Both were checked against the old `pl.sql_expr`
path, which tripped them.
"""

import os
import subprocess
import sys
import time
from pathlib import Path


class FifoCanary:
    """A named pipe and a watcher process beside it. A reader's open blocks
    (and Polars holds the GIL while it does), so the watching happens in
    another process: it opens the pipe for writing whenever a reader waits,
    hands it a tiny CSV so it can go on, and notes that it happened."""

    WATCHER = (
        "import errno, os, sys, time\n"
        "fifo, flag = sys.argv[1], sys.argv[2]\n"
        "while not os.path.exists(flag + '.stop'):\n"
        "    try:\n"
        "        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)\n"
        "    except OSError as error:\n"
        "        if error.errno != errno.ENXIO: raise\n"
        "        time.sleep(0.02)\n"
        "        continue\n"
        "    open(flag, 'a').write('read\\n')\n"
        "    try: os.write(fd, b'x\\n1\\n')\n"
        "    except BrokenPipeError: pass\n"
        "    os.close(fd)\n"
    )

    def __init__(self, folder):
        self.path = folder / "canary.csv"
        self.flag = folder / "canary.flag"
        os.mkfifo(self.path)
        self.watcher = subprocess.Popen([sys.executable, "-c", self.WATCHER, str(self.path), str(self.flag)])

    def someone_read(self) -> bool:
        """Stop watching; whether anything opened the pipe to read it."""
        Path(f"{self.flag}.stop").touch()
        self.watcher.wait(timeout=10)
        return self.flag.exists()


class ListenerCanary:
    """A loopback HTTP listener in its own process that counts connections
    and answers each with a 404 at once (so a fetch that got through fails
    fast instead of hanging the test)."""

    SERVER = (
        "import socket, sys\n"
        "log = sys.argv[1]\n"
        "server = socket.socket()\n"
        "server.bind(('127.0.0.1', 0))\n"
        "server.listen(16)\n"
        "open(log + '.port', 'w').write(str(server.getsockname()[1]))\n"
        "while True:\n"
        "    connection, _ = server.accept()\n"
        "    open(log, 'a').write('connected\\n')\n"
        "    connection.sendall(b'HTTP/1.0 404 Not Found\\r\\nContent-Length: 0\\r\\n\\r\\n')\n"
        "    connection.close()\n"
    )

    def __init__(self, folder):
        self.log = folder / "listener.log"
        self.server = subprocess.Popen([sys.executable, "-c", self.SERVER, str(self.log)])
        port_file = Path(f"{self.log}.port")
        deadline = time.monotonic() + 10
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline:
                raise RuntimeError("the listener canary did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port_file.read_text()}/data.csv"

    def connections(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def close(self):
        self.server.kill()
        self.server.wait(timeout=10)
