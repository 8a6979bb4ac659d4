"""Finding runs whose worker died, so none stays `running` forever.

A run is abandoned when the process holding it is gone: on this machine we
can tell at once (its pid is dead or belongs to a newer process); for other
machines we rely on the heartbeat going stale. The reaper runs as a django-q2
schedule every minute and whenever a worker process starts, so a worker
killed mid-run is noticed as soon as django-q2 replaces it.
"""

import logging
import socket
from datetime import timedelta

import psutil
from django.conf import settings
from django.db import transaction
from django_q.models import Schedule

from execution.models import ACTIVE_STATES, Execution, LogLevel

logger = logging.getLogger("execution.reaper")

REAPER_SCHEDULE = "etlsite.reap_abandoned_executions"
REAPER_TASK = "execution.tasks.reap_abandoned_executions"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.ETL_HEARTBEAT_STALE_SECONDS)


def ensure_reaper_schedule() -> None:
    Schedule.objects.get_or_create(
        name=REAPER_SCHEDULE,
        defaults={"func": REAPER_TASK, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


def local_process_is_gone(worker_id: str) -> bool:
    """True when `worker_id` (host:pid:start) names a process of this host that no longer runs."""
    host, _, rest = worker_id.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        return int(psutil.Process(int(pid)).create_time()) != int(started or 0)
    except psutil.NoSuchProcess:
        return True


def abandonment_reason(execution: Execution) -> str | None:
    if local_process_is_gone(execution.worker_id):
        return f"The worker process holding the run ({execution.worker_id}) is gone; marked failed."
    if execution.is_stale(stale_after()):
        seconds = int(stale_after().total_seconds())
        return f"No heartbeat from worker {execution.worker_id} for over {seconds} s; marked failed."
    return None


def reap_abandoned_executions() -> list[int]:
    """Fail (and retry, when the job allows) every run whose worker is gone."""
    from execution.signals import after_finish

    reaped = []
    held = Execution.objects.select_related("job").filter(state__in=ACTIVE_STATES).exclude(worker_id="")
    for execution in held:
        reason = abandonment_reason(execution)
        if not reason:
            continue
        with transaction.atomic():
            reaped_now = execution.fail_abandoned(reason)
            if reaped_now:
                execution.add_log(LogLevel.ERROR, reason)
        if reaped_now:
            logger.warning("Execution %s: %s", execution.pk, reason)
            after_finish(execution)
            reaped.append(execution.pk)
    return reaped
