"""Caching the standard way: HTTP revalidation for API reads, Django's cache for aggregates.

Django's ConditionalGetMiddleware gives every GET answer an ETag (a hash of
its body) and answers `304 Not Modified` when the client sends it back in
If-None-Match. `ApiCacheControlMiddleware` marks API reads `private,
no-cache`: a client may keep an answer but must revalidate it each time, so
it never shows a stale one (and no shared proxy stores it).

`cached()` keeps an expensive aggregate in the default cache (CACHE_URL: the
database table, or Redis) for a few seconds, shared by every process.
"""

from django.core.cache import cache
from django.utils.cache import patch_cache_control

SHORT_CACHE_SECONDS = 5


def cached(key: str, compute, seconds: int = SHORT_CACHE_SECONDS):
    return cache.get_or_set(f"aggregate:{key}", compute, seconds)


class ApiCacheControlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        is_api_read = request.method in ("GET", "HEAD") and request.path.startswith("/api/")
        if is_api_read and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        return response
