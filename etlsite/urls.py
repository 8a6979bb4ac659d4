"""Top-level routes. Each app's API lives under /api/v1/ in its own urls.py."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from etlsite.errors import api_route_not_found

api_v1 = [
    path("", include("authoring.urls")),
    path("", include("jobs.urls")),
    path("", include("execution.urls")),
    path("", include("contexts.urls")),
    path("", include("schemas.urls")),
    path("", include("monitoring.urls")),
    path("", include("accounts.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

# Last under /api/: a path no route matches answers the JSON error body. With
# DEBUG on Django would answer its HTML debug page instead of handler404.
api_fallback = re_path(r"^api/", api_route_not_found)

# ReDoc adds style elements at run time, some before it could be given a
# nonce, and builds its search index in a worker made from a blob: URL. Its
# page allows both; scripts still need the nonce, and images (so anything a
# style could send out) stay limited to this site.
redoc_policy = csp_replace({"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", redoc_policy(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    api_fallback,
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include("monitoring.root_urls")),
    path("", include("etlsite.page_urls")),
]

handler404 = "etlsite.errors.json_page_not_found"
handler500 = "etlsite.errors.json_server_error"
