from django.urls import path

from accounts import views
from etlsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.include_root_view = False
router.register("auth/api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("audit", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/rotate", views.TokenRotateView.as_view(), name="auth-token-rotate"),
    path("auth/jwt/", views.JWTObtainView.as_view(), name="auth-jwt"),
    path("auth/jwt/refresh/", views.JWTRefreshView.as_view(), name="auth-jwt-refresh"),
    path("auth/jwt/verify/", views.JWTVerifyView.as_view(), name="auth-jwt-verify"),
    path("auth/jwt/logout/", views.JWTLogoutView.as_view(), name="auth-jwt-logout"),
    *router.urls,
]
