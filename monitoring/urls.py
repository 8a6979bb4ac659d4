"""The Metrics and Setup routes under /api/v1/ (no trailing slash needed, one accepted)."""

from django.urls import re_path

from etlsite.routers import OptionalSlashRouter
from monitoring import views
from monitoring.notifications import views as notification_views


def route(pattern: str, view, name: str):
    return re_path(rf"^{pattern}/?$", view.as_view() if isinstance(view, type) else view, name=name)


def resource_view(resource: str):
    return views.ResourceHistoryView.as_view(resource=resource)


def read_only(view_class):
    return view_class.as_view(http_method_names=["get", "head", "options"])


def check_view(check: str):
    return views.SingleCheckView.as_view(check_name=check)


notifications = OptionalSlashRouter()
notifications.include_root_view = False
notifications.register(
    "notifications/channels", notification_views.ChannelViewSet, basename="notification-channel"
)
notifications.register("notifications/rules", notification_views.RuleViewSet, basename="notification-rule")
notifications.register(
    "notifications/deliveries", notification_views.DeliveryViewSet, basename="notification-delivery"
)

urlpatterns = notifications.urls + [
    route("metrics/system", views.SystemMetricsView, "metrics-system"),
    route("metrics/jobs", views.JobMetricsView, "metrics-jobs"),
    route("metrics/components", views.ComponentMetricsView, "metrics-components"),
    route("metrics/executions", views.ExecutionMetricsView, "metrics-executions"),
    route("metrics/performance", views.PerformanceView, "metrics-performance"),
    route("metrics/performance/cpu", resource_view("cpu"), "metrics-performance-cpu"),
    route("metrics/performance/memory", resource_view("memory"), "metrics-performance-memory"),
    route("metrics/performance/disk", resource_view("disk"), "metrics-performance-disk"),
    route("metrics/performance/network", resource_view("network"), "metrics-performance-network"),
    route("metrics/performance/custom", read_only(views.CustomMetricsView), "metrics-performance-custom"),
    route("metrics/custom", views.CustomMetricsView, "metrics-custom"),
    route("health", views.HealthView, "health"),
    route("health/jobs", check_view("jobs"), "health-jobs"),
    route("health/components", check_view("components"), "health-components"),
    route("health/database", check_view("database"), "health-database"),
    route("health/external", check_view("external"), "health-external"),
    route("health/ready", views.ReadyView, "health-ready"),
    route("health/live", views.LiveView, "health-live"),
    route("health/detailed", views.DetailedHealthView, "health-detailed"),
    route("setup/initialize", views.InitializeView, "setup-initialize"),
    route("setup/status", views.SetupStatusView, "setup-status"),
    route("setup/configure", views.ConfigureView, "setup-configure"),
    route("setup/configuration", views.ConfigurationView, "setup-configuration"),
    route("info", views.InfoView, "info"),
    route("info/version", views.VersionView, "info-version"),
    route("info/features", views.FeaturesView, "info-features"),
    route("info/capabilities", views.CapabilitiesView, "info-capabilities"),
]
