"""Counting requests per rate-limit window, atomically, in the shared store.

With a cache service (CACHE_URL=redis://...), `add` then `incr` in that
cache: atomic there. With the default database cache, Django's `incr` reads
then writes (two concurrent requests can both write n+1) and a request
spends a dozen statements and two write transactions on it; here it is one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on `RateLimitCounter`
(SQLite and PostgreSQL), a single short write.
"""

from datetime import timedelta

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import RateLimitCounter

UPSERT_VENDORS = {"sqlite", "postgresql"}


def uses_database_table() -> bool:
    return isinstance(caches["default"], DatabaseCache)


def count_hit(window_key: str, ttl_seconds: int) -> int:
    """Count one request in the window `window_key`; return the window's count so far."""
    if not uses_database_table():
        return _count_in_cache(window_key, ttl_seconds)
    expires_at = timezone.now() + timedelta(seconds=ttl_seconds)
    if connection.vendor in UPSERT_VENDORS:
        table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (window_key, hits, expires_at) VALUES (%s, 1, %s) "  # noqa: S608 - quoted model table
                f"ON CONFLICT (window_key) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
                [window_key, expires_at],
            )
            return cursor.fetchone()[0]
    with transaction.atomic():  # other databases: row lock, then increment
        counter, created = RateLimitCounter.objects.select_for_update().get_or_create(
            window_key=window_key, defaults={"hits": 1, "expires_at": expires_at}
        )
        if created:
            return 1
        RateLimitCounter.objects.filter(pk=counter.pk).update(hits=F("hits") + 1)
        return counter.hits + 1


def _count_in_cache(window_key: str, ttl_seconds: int) -> int:
    if cache.add(window_key, 1, ttl_seconds):
        return 1
    try:
        return cache.incr(window_key)
    except ValueError:  # the window expired between add and incr
        cache.set(window_key, 1, ttl_seconds)
        return 1


def delete_expired(now=None) -> int:
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
