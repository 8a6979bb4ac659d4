from django.apps import AppConfig


class AuthoringConfig(AppConfig):
    """Writing jobs: previews, jobs as code (export and apply) and the history pages.
    Above jobs, contexts and schemas, whose objects it reads and writes."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "authoring"
