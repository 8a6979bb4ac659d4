from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_read_cache_triggers(sender, using, **kwargs):
    from etlsite import read_cache

    read_cache.install(using)
    read_cache.ensure_compaction_schedule(using)


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"

    def ready(self):
        # After every migrate and flush: (re)create the triggers behind the API's
        # read cache (etlsite/read_cache.py), as SQLite drops them when a
        # migration rebuilds a table, and on PostgreSQL the schedule that
        # folds its change log (like the reaper's, it exists wherever workers run).
        post_migrate.connect(_install_read_cache_triggers, sender=self, dispatch_uid="jobs.read_cache")
