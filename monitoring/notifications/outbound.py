"""Outbound HTTP for webhooks, under the URL policy.

A webhook URL is configured by an admin (channels need the admin role), but a
server that POSTs wherever it is told can still be pointed at internal
services (SSRF). So: only http and https; no user:password in the URL (it would
end up in logs and audit rows); when `ETL_WEBHOOK_ALLOWED_HOSTS` is set, only
those hosts (`hooks.example.com`, or `.example.com` for a domain and its
subdomains); redirects are never followed (a 3xx is the answer, so an allowed
host cannot bounce the request elsewhere). The policy is checked when a
channel is saved and again before every attempt, so narrowing the setting
also stops channels saved before.
"""

import urllib.error
import urllib.request
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
# How much of an answer's body is kept in the delivery log.
KEPT_RESPONSE_CHARS = 500


class Outcome(NamedTuple):
    """One attempt's result. `retry`: whether trying again later may help."""

    ok: bool
    response_code: int | None = None
    error: str = ""
    retry: bool = False


def host_allowed(host: str) -> bool:
    allowed = [entry.strip().lower() for entry in settings.ETL_WEBHOOK_ALLOWED_HOSTS if entry.strip()]
    if not allowed:
        return True
    host = host.lower()
    return any(host == entry or (entry.startswith(".") and host.endswith(entry)) for entry in allowed)


def url_problem(url) -> str | None:
    """Why `url` may not be used as a webhook, or None."""
    if not isinstance(url, str) or not url.strip():
        return "Give the webhook URL (http:// or https://)."
    try:
        parts = urlsplit(url.strip())
        if parts.port == 0:
            return "Port 0 cannot be reached."
    except ValueError as error:
        return f"Not a valid URL: {error}."
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"Only http:// and https:// URLs are allowed, not {parts.scheme or 'no scheme'!r}."
    if not parts.hostname:
        return "The URL names no host."
    if parts.username is not None or parts.password is not None:
        return "Put no user name or password in the URL; the channel's secret signs every request."
    if not host_allowed(parts.hostname):
        return f"Host {parts.hostname!r} is not in ETL_WEBHOOK_ALLOWED_HOSTS."
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx itself becomes the answer (an HTTPError)


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST `body`; 2xx is delivered. A 5xx, 429, timeout or connection error may
    pass (retry); other 4xx and 3xx will not."""
    problem = url_problem(url)
    if problem:
        return Outcome(False, error=problem)
    request = urllib.request.Request(
        url.strip(), data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Outcome(True, response.status)
    except urllib.error.HTTPError as error:
        text = error.read(KEPT_RESPONSE_CHARS).decode("utf-8", "replace")
        retry = error.code >= 500 or error.code == 429
        return Outcome(False, error.code, f"HTTP {error.code} {error.reason}: {text}".strip(), retry)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Outcome(False, error=f"{type(reason).__name__}: {reason}", retry=True)
