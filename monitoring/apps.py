from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self):
        # Connects the receivers; Django's documented place for it.
        from monitoring import signals  # noqa: F401
