from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExecutionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "execution"

    def ready(self):
        from execution import signals  # noqa: F401  (connects the receivers)

        post_migrate.connect(_create_reaper_schedule, sender=self)


def _create_reaper_schedule(sender, using="default", **kwargs):
    from execution.reaper import ensure_reaper_schedule

    ensure_reaper_schedule()
