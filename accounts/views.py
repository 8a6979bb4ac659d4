from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from accounts import audit
from accounts.filters import AuditEventFilterSet
from accounts.models import ApiKey, AuditEvent
from accounts.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    AuditEventSerializer,
    LoginSerializer,
    TokenSerializer,
)
from accounts.throttling import LoginThrottle
from etlsite.permissions import is_admin


class TokenView(APIView):
    """Trade a username and password for an API token (`Authorization: Token ...`)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(request=LoginSerializer, responses=TokenSerializer)
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A failed authenticate() fires user_login_failed, which audits it.
        user = authenticate(request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        request.user = user
        audit.record(request, "login", user, username=user.get_username(), after={"method": "token"})
        return Response({"token": token.key})


class TokenRotateView(APIView):
    """Replace the caller's token with a new one; the old one stops working at once."""

    @extend_schema(request=None, responses=TokenSerializer)
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        token = Token.objects.create(user=request.user)
        audit.record(request, "token_rotate", request.user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        """Log out: delete the caller's token."""
        Token.objects.filter(user=request.user).delete()
        audit.record(request, "logout", request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JWTObtainView(jwt_views.TokenObtainPairView):
    """Username + password -> `{"access", "refresh"}` (`Authorization: Bearer <access>`)."""

    throttle_classes = [LoginThrottle]
    extra_error_statuses = ("401",)  # wrong username or password

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            audit.record(
                request, "login", None, username=request.data.get("username", ""), after={"method": "jwt"}
            )
        return response


class JWTLogoutView(jwt_views.TokenBlacklistView):
    """Blacklist a refresh token so it can no longer mint access tokens."""

    extra_error_statuses = ("401",)  # the token in the body is invalid or expired


class JWTRefreshView(jwt_views.TokenRefreshView):
    """A refresh token -> a new access token (and a new refresh token; the old one is blacklisted)."""

    extra_error_statuses = ("401",)


class JWTVerifyView(jwt_views.TokenVerifyView):
    """200 when the token in the body is valid, 401 when not."""

    extra_error_statuses = ("401",)


class ApiKeyViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Your API keys (admins see everyone's). The key is shown once, in the create response."""

    serializer_class = ApiKeySerializer
    lookup_field = "prefix"
    lookup_url_kwarg = "id"
    owner_scoped = True
    # A scoped credential may only mint or revoke keys with the admin scope.
    action_scopes = {"create": "admin", "destroy": "admin", "revoke": "admin"}
    filterset_fields = ["name", "revoked"]
    search_fields = ["name", "prefix"]
    ordering_fields = ["created", "name", "last_used_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiKey.objects.none()
        keys = ApiKey.objects.select_related("owner").prefetch_related("jobs")
        return keys if is_admin(self.request.user) else keys.filter(owner=self.request.user)

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = serializer.save(owner=request.user)
        audit.record(request, "api_key_create", api_key, after=audit.snapshot(api_key))
        body = {**ApiKeySerializer(api_key).data, "key": serializer.plaintext_key}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, api_key):
        self._revoke(api_key)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, id=None):
        """Revoke a key for good (the same as DELETE, but keeps answering with the key)."""
        api_key = self.get_object()
        self._revoke(api_key)
        return Response(ApiKeySerializer(api_key).data)

    def _revoke(self, api_key):
        if not api_key.revoked:
            api_key.revoked = True
            api_key.save(update_fields=["revoked"])
            audit.record(self.request, "api_key_revoke", api_key)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Audit events, newest first (admins only)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    admin_only = True
    search_fields = ["username", "object_repr", "action"]
    ordering_fields = ["timestamp", "id"]
