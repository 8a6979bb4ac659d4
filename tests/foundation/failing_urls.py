"""The real URLs plus an API view that crashes, to test the 500 body."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from etlsite.urls import handler404, handler500  # noqa: F401
from etlsite.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):
    raise RuntimeError("secret internals")


urlpatterns = [path("api/v1/crash", crash), *real_urlpatterns]
