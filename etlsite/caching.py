"""Caching the standard way: HTTP revalidation for API reads, Django's cache for aggregates.

Django's ConditionalGetMiddleware gives every GET answer an ETag (a hash of
its body) and answers `304 Not Modified` when the client sends it back in
If-None-Match. That costs a whole answer, so the reads clients poll (the job
list and detail, a job's history and status) compute their validator first,
from a small aggregate query over the rows the answer is built from
(`answer_unless_current`): a current copy is a 304 before anything is
serialized. Those ETags are weak (`W/"..."`): they stand for the data an
answer shows, not its bytes (a running execution's elapsed seconds move
between two heartbeats without changing it). `ApiCacheControlMiddleware`
marks API reads `private, no-cache`: a client may keep an answer but must
revalidate it each time, so it never shows a stale one (and no shared proxy
stores it).

`cached()` keeps an expensive aggregate in the default cache (CACHE_URL: the
database table, or Redis) for a few seconds, shared by every process.
"""

import hashlib

from django.core.cache import cache
from django.http import HttpResponseNotModified
from django.utils.cache import get_conditional_response, patch_cache_control

from etlsite import __version__

SHORT_CACHE_SECONDS = 5


def cached(key: str, compute, seconds: int = SHORT_CACHE_SECONDS):
    return cache.get_or_set(f"aggregate:{key}", compute, seconds)


def answer_unless_current(request, version: tuple | None, answer):
    """`answer()` with a weak ETag made of `version` (what the answer is built
    from), or a 304 when the client's If-None-Match holds that ETag already.

    `version` None (the object does not exist, an HTML rendering) leaves the
    request to the answer, and its ETag to ConditionalGetMiddleware. The query
    string, the rendering and this code's version are part of every ETag.
    """
    if version is None or request.accepted_renderer.format != "json":
        return answer()
    parts = (__version__, request.get_full_path(), request.accepted_media_type, *version)
    etag = f'W/"{hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()}"'
    refused = get_conditional_response(request, etag=etag)  # a 304, or a 412 for If-Match
    if refused is not None:
        if isinstance(refused, HttpResponseNotModified):
            refused["ETag"] = etag
        return refused
    response = answer()
    if response.status_code == 200:
        response["ETag"] = etag
    return response


def aggregate(queryset, **aggregates) -> dict:
    """`queryset.aggregate(...)` for a validator, whose aggregates join more rows
    (Max over a job's components): a distinct queryset (rows restricted through
    a join, as group grants do) is narrowed to its ids first."""
    if queryset.query.distinct:
        queryset = queryset.model.objects.filter(pk__in=queryset.values("pk"))
    return queryset.aggregate(**aggregates)


class ApiCacheControlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        is_api_read = request.method in ("GET", "HEAD") and request.path.startswith("/api/")
        if is_api_read and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        return response
