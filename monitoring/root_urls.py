"""Routes outside /api/v1: Prometheus /metrics (monitoring issue)."""

urlpatterns = []
