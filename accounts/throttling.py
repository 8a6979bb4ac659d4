"""Rate limits per user, per API key, per anonymous IP, and a stricter one for
logins. Counters live in the shared store (a database table unless CACHE_URL
names a cache service; accounts/rate_counter.py), so every web process shares them. Rates come from the system
configuration (`throttle_rate_<scope>`, defaulting to settings.ETL_THROTTLE_RATES),
so they change without a restart."""

import time

from rest_framework import throttling

from accounts.client_address import client_address
from accounts.models import ApiKey
from accounts.rate_counter import count_hit
from monitoring.configuration import get_setting


class ConfiguredRateMixin:
    """Configured rates, counted in fixed windows.

    DRF's throttles keep a list of every request time per client and rewrite
    it whole on each request; in the database cache that is a growing row
    rewritten by every request of the same user. Here each window is one
    small counter, incremented atomically. A client may burst up to twice the
    rate across a window boundary, never more.
    """

    def get_ident(self, request):
        # The same address the audit records (X-Forwarded-For only from trusted proxies).
        return client_address(request)

    def get_rate(self):
        # An admin's change (PUT /setup/configuration) wins over the start-up
        # value from settings; it reaches every process within seconds.
        return get_setting(f"throttle_rate_{self.scope}")

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window_start = now - now % self.duration
        window_key = f"{key}:{int(window_start)}"
        count = count_hit(window_key, self.duration + 1)
        self.seconds_left = window_start + self.duration - now
        return count <= self.num_requests

    def wait(self):
        return self.seconds_left


class AnonThrottle(ConfiguredRateMixin, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(ConfiguredRateMixin, throttling.UserRateThrottle):
    """Per user, for every credential but API keys (those have their own bucket)."""

    scope = "user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return None
        return super().get_cache_key(request, view)


class ApiKeyThrottle(ConfiguredRateMixin, throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class LoginThrottle(ConfiguredRateMixin, throttling.SimpleRateThrottle):
    """Password logins per client IP: slows brute force down to a crawl."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
