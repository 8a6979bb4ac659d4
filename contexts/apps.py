from django.apps import AppConfig


class ContextsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contexts"

    def ready(self):
        from contexts import checks  # noqa: F401  (registers the system checks)
