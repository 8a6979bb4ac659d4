"""What happens around runs: after one ends, when a job is saved or deleted,
and when a worker process starts."""

import logging

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver
from django_q.models import Schedule
from django_q.signals import post_spawn

from execution.incremental.backfill import advance_backfills
from execution.models import Execution, ExecutionRejects
from execution.scheduling import schedule_name, schedule_retry, start_downstream_jobs, sync_job_schedule
from jobs.models import Job

logger = logging.getLogger("execution")

# Sent once a run has reached stopped, succeeded or failed.
# Arguments: execution, retry (the retry execution queued for it, or None).
execution_finished = Signal()


def after_finish(execution: Execution) -> None:
    retry = schedule_retry(execution)
    execution_finished.send(sender=Execution, execution=execution, retry=retry)


@receiver(execution_finished)
def move_backfills_on(sender, execution, retry, **kwargs):
    advance_backfills(execution, retry)


@receiver(execution_finished)
def start_dependent_jobs(sender, execution, retry, **kwargs):
    # A run that will be retried has not really ended yet.
    if retry is None:
        start_downstream_jobs(execution)


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
    from execution.engine import runner  # noqa: F401  (import cost paid here, not in a run's latency)
    from execution.reaper import ensure_reaper_schedule, reap_abandoned_executions

    try:
        ensure_reaper_schedule()
        reap_abandoned_executions()
    except Exception:
        logger.exception("Reaping at worker start failed in %s", proc_name)
