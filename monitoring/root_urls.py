"""Routes outside /api/v1: the Prometheus exposition at /metrics."""

from django.urls import path

from monitoring.prometheus import PrometheusView

urlpatterns = [path("metrics", PrometheusView.as_view(), name="prometheus-metrics")]
