"""Rate limits per user, per API key, per anonymous IP, and a stricter one for
logins: DRF's throttles, counted in the default cache (CACHE_URL), which every
web process shares. Rates come from the system configuration
(`throttle_rate_<scope>`, defaulting to settings.ETL_THROTTLE_RATES), so they
change without a restart. How exact the counts are depends on the cache:
docs/operations.md ("Rate limits")."""

from rest_framework import throttling

from accounts.client_address import client_address
from accounts.models import ApiKey
from etlsite.configuration import get_setting


class ConfiguredRateMixin:
    def get_ident(self, request):
        # The same address the audit records (X-Forwarded-For only from trusted proxies).
        return client_address(request)

    def get_rate(self):
        # An admin's change (PUT /setup/configuration) wins over the start-up
        # value from settings; it reaches every process within seconds.
        return get_setting(f"throttle_rate_{self.scope}")


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
