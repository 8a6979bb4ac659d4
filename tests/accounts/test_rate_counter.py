"""The rate-limit counter: atomic in the database table, and in a cache service."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import rate_counter
from accounts.models import RateLimitCounter


@pytest.fixture(params=["upsert", "row lock"])
def counting(request, monkeypatch):
    """Both ways of counting: the one-statement upsert (SQLite, PostgreSQL) and
    the row-lock fallback other databases get, run here on the same database."""
    if request.param == "row lock":
        monkeypatch.setattr(rate_counter, "UPSERT_VENDORS", set())
    return request.param


@pytest.mark.django_db
def test_each_window_counts_on_its_own(counting):
    assert [rate_counter.count_hit("user_1:100", 61) for _ in range(3)] == [1, 2, 3]
    assert rate_counter.count_hit("user_1:160", 61) == 1
    assert rate_counter.count_hit("user_2:100", 61) == 1
    assert dict(RateLimitCounter.objects.values_list("window_key", "hits")) == {
        "user_1:100": 3,
        "user_1:160": 1,
        "user_2:100": 1,
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_lose_no_count(counting):
    """Eight threads (eight database connections) hit one window at once: every
    hit gets its own count, so the limit cannot be overrun by racing requests."""
    key = f"race:{uuid.uuid4().hex}"

    def hits(_):
        try:
            return [rate_counter.count_hit(key, 61) for _ in range(25)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = [count for batch in pool.map(hits, range(8)) for count in batch]
    assert sorted(counts) == list(range(1, 201))
    assert RateLimitCounter.objects.get(window_key=key).hits == 200


@pytest.mark.django_db
def test_expired_windows_are_deleted_and_live_ones_kept():
    now = timezone.now()
    RateLimitCounter.objects.create(window_key="gone", hits=9, expires_at=now - timedelta(seconds=1))
    RateLimitCounter.objects.create(window_key="kept", hits=9, expires_at=now + timedelta(seconds=30))
    assert rate_counter.delete_expired(now) == 1
    assert list(RateLimitCounter.objects.values_list("window_key", flat=True)) == ["kept"]


@pytest.mark.django_db
def test_with_a_cache_service_the_count_lives_there(redis_cache):
    key = f"svc:{uuid.uuid4().hex}"
    assert [rate_counter.count_hit(key, 61) for _ in range(3)] == [1, 2, 3]
    assert not RateLimitCounter.objects.exists()
