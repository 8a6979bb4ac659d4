"""API authentication beyond DRF's defaults.

`Authorization: Api-Key <key>`: the key acts as its owner, narrowed by its
scopes (checked in etlsite.permissions) and, if it lists jobs, to those jobs.
`Authorization: Token <key>`: DRF's token authentication.
"""

from oauth2_provider.contrib.rest_framework import authentication as oauth2
from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ApiKey

# DRF's own; the name stays importable because deployed .env files list it in
# API_AUTHENTICATION_CLASSES (docs/api.md).
TokenAuthentication = authentication.TokenAuthentication


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


class OAuth2Authentication(oauth2.OAuth2Authentication):
    """django-oauth-toolkit's bearer tokens. A client-credentials token has no
    user of its own: it acts as the application's owner, narrowed by its scopes."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if user is None:
            owner = token.application.user if token.application_id else None
            if owner is None or not owner.is_active:
                raise exceptions.AuthenticationFailed("This OAuth2 application has no active owner.")
            user = owner
        return user, token
