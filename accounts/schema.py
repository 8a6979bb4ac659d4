"""How our authentication classes appear in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Send "Api-Key <key>".',
        }


class OAuth2Scheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.OAuth2Authentication"
    name = "OAuth2"

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        scopes = settings.OAUTH2_PROVIDER["SCOPES"]
        return {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "scopes": scopes,
                },
                "clientCredentials": {"tokenUrl": "/o/token/", "scopes": scopes},
            },
        }
