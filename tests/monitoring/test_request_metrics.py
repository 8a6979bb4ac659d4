"""Request metrics in prometheus-client: several processes read together, histogram percentiles."""

import subprocess
import sys

import pytest
from django.conf import settings

from monitoring import request_metrics
from monitoring.request_metrics import RouteStats, read_stats

RECORD = "from monitoring import request_metrics as m\nfor _ in range(25): m.record('GET', '/api/v1/jobs', 200, 0.02)"


def test_requests_recorded_by_other_processes_are_read_together(tmp_path, monkeypatch):
    for _ in range(3):  # one after the other, as gunicorn workers that come and go
        subprocess.run(
            [sys.executable, "-c", RECORD],
            cwd=settings.BASE_DIR,
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            check=True,
            timeout=60,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (stats,), since = read_stats()
    assert (stats.method, stats.route, stats.count) == ("GET", "/api/v1/jobs", 75)
    assert stats.duration_sum == pytest.approx(75 * 0.02)
    assert since is not None


def test_without_a_multiprocess_directory_this_process_counts_alone(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    request_metrics.record("POST", "/x", 503, 0.3)
    (stats,), _since = read_stats()
    assert (stats.count, stats.server_errors, stats.client_errors) == (1, 1, 0)


def test_quantiles_interpolate_within_histogram_buckets():
    stats = RouteStats("GET", "/x", count=100)  # 90 requests of 4 ms, 10 of 800 ms
    stats.cumulative = {bound: (90 if bound < 1.0 else 100) for bound in request_metrics.LATENCY_BUCKETS}
    assert stats.quantile(0.5) <= 0.005
    assert 0.5 < stats.quantile(0.95) <= 1.0
    assert stats.quantile(0.99) == pytest.approx(0.95, abs=0.01)


def test_route_patterns_become_readable_templates():
    assert (
        request_metrics.normalize_route("api/v1/^jobs/(?P<pk>[^/.]+)/start/?$") == "/api/v1/jobs/{pk}/start"
    )
    assert (
        request_metrics.normalize_route("api/v1/contexts/<int:pk>/credentials")
        == "/api/v1/contexts/{pk}/credentials"
    )
