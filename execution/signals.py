"""Receivers of Django's, django-q2's and contexts' signals: a job saved or
deleted, a rejects file's row deleted, a worker process started, the
credentials key rotated. (What happens when a run
ends is execution.lifecycle.)"""

import logging

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_q.models import Schedule
from django_q.signals import post_spawn

from contexts import crypto
from contexts.signals import secrets_reencrypting
from execution.models import Execution, ExecutionRejects
from execution.reaper import ensure_reaper_schedule, reap_abandoned_executions
from execution.scheduling import schedule_name, sync_job_schedule
from jobs.models import Job

logger = logging.getLogger("execution")


@receiver(post_save, sender=Job)
def keep_schedule_in_sync(sender, instance, raw=False, **kwargs):
    if not raw:
        sync_job_schedule(instance)


@receiver(post_delete, sender=Job)
def drop_schedule(sender, instance, **kwargs):
    Schedule.objects.filter(name=schedule_name(instance.pk)).delete()


@receiver(post_delete, sender=ExecutionRejects)
def remove_rejects_file(sender, instance, **kwargs):
    instance.file_path.unlink(missing_ok=True)


@receiver(post_spawn)
def prepare_worker(sender, proc_name, **kwargs):
    """A django-q2 worker process started (or replaced a dead one): reap runs
    whose worker is gone, and load the engine before the first task."""
    # Imported here for its cost only: the web process never needs the engine's runner.
    from execution.engine import runner  # noqa: F401

    try:
        ensure_reaper_schedule()
        reap_abandoned_executions()
    except Exception:
        logger.exception("Reaping at worker start failed in %s", proc_name)


@receiver(secrets_reencrypting)
def reencrypt_saved_overrides(sender, **kwargs):
    """A run's start-time overrides are kept encrypted for its retries and
    restarts: they move to the newest key with every other secret."""
    runs = Execution.objects.select_for_update().exclude(encrypted_overrides="").only("encrypted_overrides")
    count = 0
    for execution in runs:
        execution.encrypted_overrides = crypto.reencrypt(execution.encrypted_overrides)
        execution.save(update_fields=["encrypted_overrides"])
        count += 1
    return count, "execution's saved run overrides"
