"""Top-level routes. Each app's API lives under /api/v1/ in its own urls.py."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

api_v1 = [
    path("", include("jobs.urls")),
    path("", include("execution.urls")),
    path("", include("contexts.urls")),
    path("", include("schemas.urls")),
    path("", include("monitoring.urls")),
    path("", include("accounts.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include("monitoring.root_urls")),
    path("", include("etlsite.page_urls")),
]

handler404 = "etlsite.errors.json_page_not_found"
handler500 = "etlsite.errors.json_server_error"
