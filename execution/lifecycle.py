"""A run's life after it was queued: control requests (pause, resume, stop)
and what happens once it has ended.

    control (start) -> scheduling (retries, downstream, cron) -> lifecycle -> worker, reaper, views

Whoever sees a run end calls `run_finished` exactly once: the queue task when
its worker finished the run, the reaper when it failed an abandoned one,
`request_action` when a stop caught a run no worker had claimed yet, and
`manage.py runjob` for a run in the foreground. Other layers (monitoring's
notifications) listen to the `finished` signal; nothing here imports them.
"""

from django.dispatch import Signal

from etlsite.errors import Conflict
from execution.incremental.backfill import advance_backfills
from execution.models import ACTIVE_STATES, Action, Execution, State
from execution.scheduling import schedule_retry, start_downstream_jobs
from jobs.models import Job

# Sent once a run has reached stopped, succeeded or failed, after its retry
# (if any) was queued and its downstream jobs started.
# Arguments: execution, retry (the retry execution queued for it, or None).
finished = Signal()


def run_finished(execution: Execution) -> Execution | None:
    """Queue a retry when the job allows one, else start the downstream jobs
    (a run that will be retried has not really ended yet); then tell the
    listeners. Returns the retry, if any."""
    retry = schedule_retry(execution)
    if retry is None:
        start_downstream_jobs(execution)
    # A backfill (or catch-up) the run belongs to starts its next intervals.
    advance_backfills(execution, retry)
    finished.send(sender=Execution, execution=execution, retry=retry)
    return retry


# --- control requests ----------------------------------------------------------

# Which states each action can act on, to pick the execution when none is named.
ACTION_STATES = {
    Action.PAUSE: [State.RUNNING],
    Action.RESUME: [State.PAUSING, State.PAUSED],
    Action.STOP: list(ACTIVE_STATES),
}


def target_execution(job: Job, action: str, execution_id=None) -> Execution:
    """The execution an action applies to: the one named, else the job's only candidate."""
    active = job.executions.filter(state__in=ACTIVE_STATES)
    if execution_id is not None:
        execution = active.filter(pk=execution_id).first()
        if execution is None:
            raise Conflict(f"Job {job.name!r} has no active execution #{execution_id} to {action}.")
        return execution
    candidates = list(active.filter(state__in=ACTION_STATES[action]).order_by("id"))
    if not candidates:
        states = " or ".join(ACTION_STATES[action])
        raise Conflict(f"Job {job.name!r} has no {states} execution to {action}.")
    if len(candidates) > 1:
        ids = [c.pk for c in candidates]
        raise Conflict(
            f'Job {job.name!r} has {len(ids)} executions to {action}; name one with "execution".',
            details={"executions": ids},
        )
    return candidates[0]


def request_action(job: Job, action: str, user, execution_id=None) -> Execution:
    """Ask a run to pause, resume or stop. Only the row changes; the worker
    acts at its next batch boundary."""
    execution = target_execution(job, action, execution_id)
    request = {
        Action.PAUSE: execution.request_pause,
        Action.RESUME: execution.request_resume,
        Action.STOP: execution.request_stop,
    }[action]
    if not request(user):
        raise Conflict(f"Execution #{execution.pk} is {execution.state}; it cannot {action} now.")
    if execution.state == State.STOPPED:
        # Stopped before any worker took it: nobody else will see it end.
        run_finished(execution)
    return execution
