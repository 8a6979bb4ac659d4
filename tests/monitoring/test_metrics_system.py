import os

import psutil
import pytest
from django.core.cache import cache

from tests.api_base import assert_error_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/system"


def test_it_reports_this_host_and_process(viewer_client):
    body = viewer_client.get(URL).json()
    assert body["cpu"]["count_logical"] == psutil.cpu_count()
    assert 0 <= body["cpu"]["percent"] <= 100
    assert body["memory"]["total_bytes"] == psutil.virtual_memory().total
    assert body["disk"]["total_bytes"] > 0
    assert body["process"]["pid"] == os.getpid()
    assert body["uptime"]["system_seconds"] > 0
    assert body["network"]["bytes_sent"] >= 0


def test_it_is_cached_for_a_few_seconds(viewer_client):
    first = viewer_client.get(URL).json()
    second = viewer_client.get(URL).json()
    assert first["measured_at"] == second["measured_at"]


def test_memory_use_follows_the_process(viewer_client):
    before = viewer_client.get(URL).json()["process"]["memory_rss_bytes"]
    ballast = bytearray(64 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    cache.clear()
    after = viewer_client.get(URL).json()["process"]["memory_rss_bytes"]
    assert after - before > 48 * 1024 * 1024
    del ballast


def test_system_metrics_need_authentication(anon_client):
    assert_error_body(anon_client.get(URL), 401)


def test_system_metrics_are_read_only(viewer_client):
    assert_error_body(viewer_client.post(URL, {}, format="json"), 405)
