"""API key authentication: `Authorization: Api-Key <key>`.

The key acts as its owner, narrowed by its scopes (checked in
etlsite.permissions) and, if it lists jobs, to those jobs.
"""

from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = KeyParser.keyword

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        keyword, _, key = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("Api-Key header without a key.")
        try:
            api_key = ApiKey.objects.get_from_key(key)
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not api_key.owner.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API key is inactive.")
        api_key.mark_used()
        return api_key.owner, api_key

    def authenticate_header(self, request):
        return self.keyword
