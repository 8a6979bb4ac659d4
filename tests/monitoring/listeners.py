"""Real endpoints on loopback for the notification tests: an HTTP listener that
records what it receives and answers a chosen status, one that accepts
connections and never answers, and a debugging SMTP server (aiosmtpd)."""

import hashlib
import hmac
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class Received:
    def __init__(self, path: str, headers: dict, body: bytes, at: float):
        self.path, self.headers, self.body, self.at = path, headers, body, at

    def signature_valid(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Etlsite-Signature", ""))


class HttpListener:
    """`with HttpListener(status=200) as listener:` ... `listener.url`, `listener.received`."""

    def __init__(self, status: int = 200, statuses: list[int] | None = None, headers: dict | None = None):
        self.statuses = list(statuses or [])
        self.status = status
        self.extra_headers = headers or {}
        self.received: list[Received] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                status = listener.statuses.pop(0) if listener.statuses else listener.status
                self.send_response(status)
                for name, value in listener.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


class SilentListener:
    """Accepts TCP connections and never answers: a hanging endpoint."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hook"
        self.accepted: list[socket.socket] = []
        self._stop = False

    def _accept(self):
        self.socket.settimeout(0.2)
        while not self._stop:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted.append(connection)

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        for connection in self.accepted:
            connection.close()
        self.socket.close()


class SmtpRecorder:
    """aiosmtpd's handler: keeps each message's envelope."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.recorder = SmtpRecorder()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self):
        return self.recorder.messages
