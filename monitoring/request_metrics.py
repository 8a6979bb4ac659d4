"""API request metrics: counts and latency histograms per route, kept by prometheus-client.

A web server runs several processes (gunicorn workers), and each answers
part of the requests. With PROMETHEUS_MULTIPROC_DIR set (docs/operations.md),
prometheus-client's multiprocess mode has every process write its values to
files in that directory, and a reader adds up the files of all processes,
so /metrics and /metrics/performance show the whole server. Without it
(tests, `runserver`) the values live in this process only.

Counters only grow (as Prometheus expects) from the moment the directory was
emptied, i.e. the server's start.
"""

import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

# Upper bounds in seconds, as Prometheus' default histogram buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))
UNMATCHED_ROUTE = "<unmatched>"

# Our own registry, not the global one: only these metrics are read back.
registry = CollectorRegistry(auto_describe=True)
requests_total = Counter(
    "etlsite_http_requests",
    "HTTP requests served, by route and status.",
    ["method", "route", "status"],
    registry=registry,
)
request_seconds = Histogram(
    "etlsite_http_request_duration_seconds",
    "Time to answer HTTP requests.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=registry,
)
# The earliest start of a process that counted: when the counters began.
counting_since = Gauge(
    "etlsite_http_metrics_since_seconds",
    "Unix time from which the request counters count.",
    registry=registry,
    multiprocess_mode="min",
)
counting_since.set(time.time())


def record(method: str, route: str, status: int, seconds: float) -> None:
    requests_total.labels(method, route, str(status)).inc()
    request_seconds.labels(method, route).observe(seconds)


def collect():
    """The metric families, added up over every process of this server."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return registry.collect()
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=directory)
    return merged.collect()


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
        record(request.method, route_of(request), response.status_code, time.perf_counter() - started)
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
        self.cumulative: dict[float, int] = {}  # upper bound -> requests at most that long

    def quantile(self, q: float) -> float | None:
        """Estimated from the histogram as Prometheus' histogram_quantile does."""
        if not self.count:
            return None
        rank = q * self.count
        lower, below = 0.0, 0
        for upper in LATENCY_BUCKETS:
            within = self.cumulative.get(upper, below)
            if within >= rank and within > below:
                if upper == float("inf"):
                    return lower
                return round(lower + (upper - lower) * (rank - below) / (within - below), 6)
            lower, below = upper, within
        return LATENCY_BUCKETS[-2]


def read_stats() -> tuple[list[RouteStats], float | None]:
    """Per (method, route) statistics, and the Unix time the counters count from."""
    by_route: dict[tuple, RouteStats] = {}
    since = None
    for family in collect():
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "etlsite_http_metrics_since_seconds":
                since = sample.value
                continue
            key = (labels["method"], labels["route"])
            stats = by_route.setdefault(key, RouteStats(*key))
            if sample.name == "etlsite_http_requests_total":
                stats.count += int(sample.value)
                if labels["status"].startswith("4"):
                    stats.client_errors += int(sample.value)
                elif labels["status"].startswith("5"):
                    stats.server_errors += int(sample.value)
            elif sample.name == "etlsite_http_request_duration_seconds_sum":
                stats.duration_sum = sample.value
            elif sample.name == "etlsite_http_request_duration_seconds_bucket":
                stats.cumulative[float(labels["le"])] = int(sample.value)
    return sorted(by_route.values(), key=lambda s: (s.route, s.method)), since
