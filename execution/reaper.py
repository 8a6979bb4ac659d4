"""Finding runs whose worker died, so none stays `running` forever, and
removing what they left.

A run is abandoned when the process holding it is gone: on this machine we
can tell at once (its pid is dead or belongs to a newer process); for other
machines we rely on the heartbeat going stale. The reaper runs as a django-q2
schedule every minute and whenever a worker process starts, so a worker
killed mid-run is noticed as soon as django-q2 replaces it.

A killed run cannot clean up after itself: its sinks' temporary files,
staging tables and open SQLite transactions stay. Each was recorded
(ExecutionLeftover) before it was made, so the reaper removes what is
listed once it has failed the run, and every pass (and every start of a run
of the same job) retries what could not be removed yet.
"""

import logging
import socket
from datetime import timedelta

import psutil
from django.conf import settings
from django.db import transaction
from django_q.models import Schedule

from contexts.models import Credential
from execution.engine import temporaries
from execution.engine.temporaries import Temporary
from execution.incremental.state import UNDECIDED, resolve_all_finished, resolve_pending
from execution.lifecycle import run_finished
from execution.models import ACTIVE_STATES, FINISHED_STATES, Execution, LogLevel

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
            # Its temporary files are evidence of whether file sinks committed: decide first.
            if resolve_pending(execution) != UNDECIDED:
                log_removal(execution, *remove_leftovers(execution))
            run_finished(execution)
            reaped.append(execution.pk)
    resolve_all_finished()
    sweep_leftovers()
    return reaped


def remove_leftovers(execution: Execution, connections: dict | None = None) -> tuple[list[str], list[str]]:
    """Remove what the run's sinks left; (what was removed, what was not and why).
    What was not stays listed for the next try. Tables are reached through
    `connections` (the run's own, in its worker) or the context's credentials."""
    removed, remaining = [], []
    for leftover in execution.leftovers.all():
        temporary = Temporary(leftover.kind, leftover.name, leftover.connection)
        try:
            temporaries.remove(
                temporary,
                data_roots=list(settings.ETL_DATA_ROOTS),
                connection=_connection(execution, leftover.connection, connections or {}),
                spill_root=settings.ETL_SPILL_DIR,
            )
        except Exception as error:  # noqa: BLE001 - a file, a driver or a credential error: try again later
            remaining.append(f"{temporary.describe()} ({error})")
            continue
        leftover.delete()
        removed.append(temporary.describe())
    return removed, remaining


def _connection(execution: Execution, name: str, connections: dict) -> dict | None:
    """The connection of that name; after the run, its context's credential
    (a `runjob --connection` URL was never stored)."""
    if not name:
        return None
    if name in connections:
        return connections[name]
    credential = Credential.objects.filter(context_id=execution.context_id, name=name).first()
    if credential is None:
        raise LookupError(f"the run's context has no credential {name!r} (any more)")
    return credential.connection_dict()


def log_removal(execution: Execution, removed: list[str], remaining: list[str]) -> None:
    if removed:
        execution.add_log(LogLevel.INFO, f"Removed what the run left: {'; '.join(removed)}.")
    if remaining:
        execution.add_log(
            LogLevel.WARNING,
            f"Could not remove yet (the reaper retries every minute): {'; '.join(remaining)}.",
        )


def sweep_leftovers(job=None) -> None:
    """Retry what ended runs (of `job`, or all) still list. A running one is never touched."""
    ended = Execution.objects.filter(
        state__in=FINISHED_STATES, leftovers__isnull=False, pending_state__isnull=True
    ).distinct()
    if job is not None:
        ended = ended.filter(job=job)
    for execution in ended:
        removed, remaining = remove_leftovers(execution)
        if removed:
            log_removal(execution, removed, [])
        if remaining:
            logger.info("Execution %s: still left: %s", execution.pk, "; ".join(remaining))
