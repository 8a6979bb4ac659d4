from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExecutionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "execution"

    def ready(self):
        from authoring.extensions import register_kind
        from execution import signals  # noqa: F401  (connects the receivers)
        from execution.incremental.documents import STATE_KIND

        # A job's incremental state in jobs as code (export_jobs --with-state).
        register_kind(STATE_KIND)

        post_migrate.connect(_create_reaper_schedule, sender=self)


def _create_reaper_schedule(sender, using="default", **kwargs):
    from execution.reaper import ensure_reaper_schedule

    ensure_reaper_schedule()
