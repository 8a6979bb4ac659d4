"""The shared request-metrics store: several processes, histogram percentiles, rollup."""

import multiprocessing
import time

import pytest

from monitoring import request_metrics
from monitoring.request_metrics import RequestRecorder, RouteStats, bucket_index, read_stats


def _record_in_another_process(path, count):
    from django.conf import settings

    settings.REQUEST_METRICS_DB = path
    recorder = RequestRecorder()
    for _ in range(count):
        recorder.record("GET", "/api/v1/jobs", 200, 0.02)
    recorder.flush()


def test_requests_recorded_by_other_processes_are_read_together(settings):
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_record_in_another_process, args=(settings.REQUEST_METRICS_DB, 25))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    (stats,) = read_stats()
    assert stats.count == 75


def test_buffered_requests_reach_the_store_within_the_flush_interval_without_another_request(settings):
    settings.REQUEST_METRICS_FLUSH_SECONDS = 0.3
    RequestRecorder().record("GET", "/x", 200, 0.01)
    assert read_stats() == []
    deadline = time.monotonic() + 10
    while not read_stats() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read_stats()[0].count == 1


def test_quantiles_interpolate_within_histogram_buckets():
    stats = RouteStats("GET", "/x")
    for _ in range(90):
        stats.add(200, bucket_index(0.004), 1, 0.004)
    for _ in range(10):
        stats.add(200, bucket_index(0.8), 1, 0.8)
    assert stats.quantile(0.5) <= 0.005
    assert 0.5 < stats.quantile(0.95) <= 1.0
    assert stats.quantile(0.99) == pytest.approx(0.95, abs=0.01)


def test_old_minutes_fold_into_totals_without_changing_them(settings, monkeypatch):
    recorder = RequestRecorder()
    recorder.record("GET", "/x", 200, 0.01)
    recorder.flush()
    # Two days later the old minute is rolled up: recent windows drop it, totals keep it.
    later = time.time() + 2 * 86400
    monkeypatch.setattr(request_metrics.time, "time", lambda: later)
    recorder.record("GET", "/x", 500, 0.01)
    recorder.flush()
    assert sum(s.count for s in read_stats()) == 2
    assert sum(s.count for s in read_stats(since_epoch=later - 3600)) == 1
    totals = {status: count for _m, _r, status, count in request_metrics.read_totals_by_status()}
    assert totals == {200: 1, 500: 1}


def test_route_patterns_become_readable_templates():
    assert (
        request_metrics.normalize_route("api/v1/^jobs/(?P<pk>[^/.]+)/start/?$") == "/api/v1/jobs/{pk}/start"
    )
    assert (
        request_metrics.normalize_route("api/v1/contexts/<int:pk>/credentials")
        == "/api/v1/contexts/{pk}/credentials"
    )
