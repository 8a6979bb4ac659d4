"""A URL configuration with a view that crashes, for counting server errors."""

from django.urls import path


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom", boom)]
