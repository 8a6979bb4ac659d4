"""API request metrics: counts, latency histograms and errors per route.

Recording must cost almost nothing per request and be visible to every
gunicorn worker process, without touching the application database inside
other apps' requests (their transactions and query counts stay their own).
So each process adds requests to an in-memory buffer, and a background thread
folds it every `REQUEST_METRICS_FLUSH_SECONDS` (default 5) into a small SQLite
file of this host (`REQUEST_METRICS_DB`) that all processes share. Readers
flush their own buffer first, so what they show includes their latest requests.
With several web hosts, each host keeps its own file (as Prometheus expects:
it scrapes every instance).

Rows are per minute, route, method, status and latency bucket. Minutes older
than `ROLLUP_AFTER_SECONDS` are folded into minute 0, so totals (which
Prometheus treats as counters) never go down.
"""

import atexit
import logging
import os
import re
import sqlite3
import threading
import time
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Upper bounds in seconds, as Prometheus' default histogram buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))
ROLLUP_AFTER_SECONDS = 24 * 3600
UNMATCHED_ROUTE = "<unmatched>"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_stats (
    minute INTEGER NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    duration_sum REAL NOT NULL,
    PRIMARY KEY (minute, method, route, status, bucket)
)
"""
_UPSERT = """
INSERT INTO request_stats (minute, method, route, status, bucket, count, duration_sum)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (minute, method, route, status, bucket) DO UPDATE SET
    count = count + excluded.count, duration_sum = duration_sum + excluded.duration_sum
"""
_ROLLUP = """
INSERT INTO request_stats (minute, method, route, status, bucket, count, duration_sum)
SELECT 0, method, route, status, bucket, SUM(count), SUM(duration_sum)
FROM request_stats WHERE minute > 0 AND minute < ? GROUP BY method, route, status, bucket
ON CONFLICT (minute, method, route, status, bucket) DO UPDATE SET
    count = count + excluded.count, duration_sum = duration_sum + excluded.duration_sum
"""


def store_path() -> Path:
    return Path(getattr(settings, "REQUEST_METRICS_DB", settings.ETL_HOME / "request-metrics.sqlite3"))


def flush_interval() -> float:
    return float(getattr(settings, "REQUEST_METRICS_FLUSH_SECONDS", 5.0))


def _connect() -> sqlite3.Connection:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(_SCHEMA)
    return connection


def bucket_index(seconds: float) -> int:
    return bisect_left(LATENCY_BUCKETS, seconds)


class RequestRecorder:
    """The per-process buffer of request observations.

    A daemon thread of each process writes the buffer out every flush interval,
    so an idle worker's last requests are not held back until its next request.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
        self._flusher_pid: int | None = None

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (int(time.time() // 60) * 60, method, route, status, bucket_index(seconds))
        with self._lock:
            entry = self._pending[key]
            entry[0] += 1
            entry[1] += seconds
        if flush_interval() <= 0:
            self.flush()
        elif self._flusher_pid != os.getpid():
            # Threads do not survive a fork: each gunicorn worker starts its own.
            self._flusher_pid = os.getpid()
            threading.Thread(target=self._flush_forever, name="request-metrics-flusher", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(max(flush_interval(), 0.1))
            self.flush()

    def flush(self) -> None:
        """Write the buffer to the shared store; on failure keep it for the next try."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0.0])
        if not pending:
            return
        rows = [(*key, count, total) for key, (count, total) in pending.items()]
        try:
            connection = _connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(_UPSERT, rows)
                cutoff = int(time.time()) - ROLLUP_AFTER_SECONDS
                connection.execute(_ROLLUP, (cutoff,))
                connection.execute("DELETE FROM request_stats WHERE minute > 0 AND minute < ?", (cutoff,))
                connection.execute("COMMIT")
            finally:
                connection.close()
        except sqlite3.Error:
            logger.warning("Could not write request metrics to %s; will retry.", store_path(), exc_info=True)
            with self._lock:
                for key, (count, total) in pending.items():
                    entry = self._pending[key]
                    entry[0] += count
                    entry[1] += total


recorder = RequestRecorder()
atexit.register(recorder.flush)


def route_of(request) -> str:
    """The URL pattern that served the request (`api/v1/jobs/{pk}/start`), never the raw
    path, so ids do not multiply the series."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED_ROUTE
    return normalize_route(match.route)


@lru_cache(maxsize=2048)  # routes are few; skip the regexes on every request
def normalize_route(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/" + route.lstrip("/")


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        recorder.record(
            request.method, route_of(request), response.status_code, time.perf_counter() - started
        )
        return response


@dataclass
class RouteStats:
    method: str
    route: str
    count: int = 0
    client_errors: int = 0
    server_errors: int = 0
    duration_sum: float = 0.0

    def __post_init__(self):
        self.buckets = [0] * len(LATENCY_BUCKETS)

    def add(self, status: int, bucket: int, count: int, duration_sum: float) -> None:
        self.count += count
        self.duration_sum += duration_sum
        self.buckets[bucket] += count
        if 400 <= status < 500:
            self.client_errors += count
        elif status >= 500:
            self.server_errors += count

    def quantile(self, q: float) -> float | None:
        """Estimated from the histogram as Prometheus' histogram_quantile does."""
        if not self.count:
            return None
        rank = q * self.count
        cumulative = 0
        for index, count in enumerate(self.buckets):
            if cumulative + count >= rank and count:
                lower = LATENCY_BUCKETS[index - 1] if index else 0.0
                upper = LATENCY_BUCKETS[index]
                if upper == float("inf"):
                    return lower
                return round(lower + (upper - lower) * (rank - cumulative) / count, 6)
            cumulative += count
        return LATENCY_BUCKETS[-2]


def read_stats(since_epoch: int | None = None) -> list[RouteStats]:
    """Per (method, route) statistics of requests since a time (all time when None)."""
    recorder.flush()
    query = "SELECT method, route, status, bucket, SUM(count), SUM(duration_sum) FROM request_stats"
    params: tuple = ()
    if since_epoch is not None:
        query += " WHERE minute >= ?"
        params = (int(since_epoch // 60) * 60,)
    query += " GROUP BY method, route, status, bucket"
    connection = _connect()
    try:
        rows = connection.execute(query, params).fetchall()
    finally:
        connection.close()
    by_route: dict[tuple, RouteStats] = {}
    for method, route, status, bucket, count, duration_sum in rows:
        stats = by_route.setdefault((method, route), RouteStats(method, route))
        stats.add(status, bucket, count, duration_sum)
    return sorted(by_route.values(), key=lambda stats: (stats.route, stats.method))


def read_totals_by_status() -> list[tuple]:
    """(method, route, status, count) over all time, for Prometheus' request counter."""
    recorder.flush()
    connection = _connect()
    try:
        return connection.execute(
            "SELECT method, route, status, SUM(count) FROM request_stats GROUP BY method, route, status"
        ).fetchall()
    finally:
        connection.close()
