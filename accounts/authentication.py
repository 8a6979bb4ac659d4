"""API authentication beyond DRF's defaults.

`Authorization: Api-Key <key>`: the key acts as its owner, narrowed by its
scopes (checked in etlsite.permissions) and, if it lists jobs, to those jobs.
`Authorization: Token <key>`: DRF's token, looked up in one precompiled query.
"""

from django.contrib.auth import get_user_model
from oauth2_provider.contrib.rest_framework import authentication as oauth2
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ApiKey


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, same answers, cheaper lookup.

    Every API request authenticates, and building the ORM query for
    `Token.objects.select_related("user").get(key=...)` cost more CPU than the
    rest of a small request (a third of a gunicorn worker under load). The
    same join is written once here, as SQL over the models' own tables and
    columns, and runs as a raw query that still yields a real User.
    """

    _sql = None

    @classmethod
    def lookup_sql(cls) -> str:
        if cls._sql is None:
            from django.db import connection

            quote = connection.ops.quote_name
            user_meta, token_meta = get_user_model()._meta, Token._meta
            user_columns = ", ".join(f"u.{quote(field.column)}" for field in user_meta.concrete_fields)
            cls._sql = (
                f"SELECT {user_columns} "  # noqa: S608 - model table and column names
                f"FROM {quote(token_meta.db_table)} t JOIN {quote(user_meta.db_table)} u "
                f"ON u.{quote(user_meta.pk.column)} = t.{quote(token_meta.get_field('user').column)} "
                f"WHERE t.{quote(token_meta.get_field('key').column)} = %s"
            )
        return cls._sql

    def authenticate_credentials(self, key):
        users = list(get_user_model().objects.raw(self.lookup_sql(), [key]))
        if not users:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, Token(key=key, user=user)


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
