"""The worker side of a run: claim it, feed the engine, obey control requests.

The engine calls `RunSession.control` between batches. That call is the
heartbeat and the only place a run learns about pause/stop: one conditional
UPDATE (`state = running` -> new heartbeat, progress, counters). When it
touches no row, someone changed the state and the session looks at why.

Pausing keeps everything in memory and every sink transaction open: the
session blocks in `control`, heartbeating, until the run is resumed (it takes
the run back, queued -> running, and returns so the engine reads the next
batch) or stopped (it raises StopRequested, so the sinks roll back). A paused
run therefore holds its worker process.
"""

import logging
import threading
import time
import traceback
import uuid

from django.conf import settings
from django.db import connection

from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError, redact, resolve_run_inputs
from execution.control import RunRequest, saved_overrides, start_execution
from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import RunContext, run_job
from execution.engine.temporaries import Temporary, Tracker
from execution.incremental import state as incremental
from execution.lifecycle import run_finished
from execution.models import (
    FINISHED_STATES,
    Execution,
    ExecutionError,
    ExecutionLeftover,
    ExecutionLog,
    LogLevel,
    State,
    Trigger,
    this_worker_id,
)
from execution.reaper import remove_leftovers, sweep_leftovers
from execution.results import ThroughputSamples, progress_fields, save_result, sink_names
from schemas.resolution import schemas_for_components

logger = logging.getLogger("execution.worker")

# How often the control hook writes the heartbeat and reads control requests
# (at most; it runs at batch boundaries), and how often a paused run polls.
CONTROL_INTERVAL_SECONDS = 0.2
PAUSE_POLL_SECONDS = 0.1
# The background heartbeat, for batches (a sort, a commit) longer than this.
HEARTBEAT_SECONDS = 5


class RunTimedOut(Exception):
    pass


class RunSession:
    def __init__(self, execution: Execution, worker_id: str, timeout_seconds: int, on_progress=None):
        self.execution = execution
        self.on_progress = on_progress
        self.worker_id = worker_id
        self.secrets: list[str] = []
        self.deadline = time.monotonic() + timeout_seconds
        self.timeout_seconds = timeout_seconds
        self.last_touch = 0.0
        self.last_progress: dict = {}
        self.sinks: set[str] = set()
        self.samples = ThroughputSamples()

    # --- logging ------------------------------------------------------------

    def log(self, level: str, component: str | None, message: str) -> None:
        """Store a log line (autocommitted, never inside a sink transaction), secrets masked."""
        level = level.lower() if level and level.lower() in LogLevel.values else LogLevel.INFO
        ExecutionLog.objects.create(
            execution_id=self.execution.pk,
            level=level,
            component=component or "",
            message=redact(str(message), self.secrets),
        )

    def record_error(self, message: str, component=None, field=None, location=None) -> dict:
        summary = {
            "component": component,
            "field": field,
            "location": redact(location or "", self.secrets) or None,
            "message": redact(message, self.secrets),
        }
        ExecutionError.objects.create(
            execution_id=self.execution.pk,
            component=component or "",
            field=field or "",
            location=summary["location"] or "",
            message=summary["message"],
        )
        self.log(LogLevel.ERROR, component, summary["message"])
        return summary

    # --- the control hook -------------------------------------------------------

    def timed_out_message(self) -> str:
        return f"The run exceeded its timeout of {self.timeout_seconds} s (timeout_seconds)."

    def wall_clock_deadline(self) -> float:
        """The deadline as a time.time() value, for the engine's database limits."""
        return time.time() + (self.deadline - time.monotonic())

    def control(self, progress) -> None:
        if time.monotonic() > self.deadline:
            raise RunTimedOut(self.timed_out_message())
        if self.on_progress:
            self.on_progress(progress)
        now = time.monotonic()
        if now - self.last_touch < CONTROL_INTERVAL_SECONDS:
            return
        self.last_touch = now
        self.last_progress = progress_fields(progress, self.sinks, self.samples.add(progress.rows_read))
        if self.execution.beat(self.worker_id, **self.last_progress):
            return
        self.obey_request()

    def obey_request(self) -> None:
        """The state is no longer `running`: pause, stop, or carry on as asked."""
        while True:
            self.execution.refresh_from_db(fields=["state", "worker_id", "requested_action"])
            state = self.execution.state
            if state == State.RUNNING:
                return
            if state == State.STOPPING:
                self.log(LogLevel.INFO, None, "Stop requested: rolling back the sinks.")
                raise StopRequested()
            if state in FINISHED_STATES or self.execution.worker_id != self.worker_id:
                self.log(LogLevel.WARNING, None, f"The run was marked {state} elsewhere; abandoning it.")
                raise StopRequested()
            if state == State.PAUSING and self.execution.mark_paused(self.worker_id, **self.last_progress):
                progress = self.last_progress.get("progress", {})
                self.log(
                    LogLevel.INFO,
                    None,
                    f"Paused after {progress.get('rows_read', 0)} rows; "
                    "holding open transactions until resumed.",
                )
                continue
            if state == State.QUEUED and self.execution.reclaim(self.worker_id):
                self.log(LogLevel.INFO, None, "Resumed: continuing from the next batch.")
                return
            time.sleep(PAUSE_POLL_SECONDS)


class LeftoverRecorder(Tracker):
    """Stores each temporary object a sink is about to make with the execution,
    committed before the object exists, and deletes it once it is gone: if
    the process is killed, the reaper finds it listed (reaper.remove_leftovers)."""

    def __init__(self, execution: Execution):
        self.execution = execution

    def _rows(self, temporary: Temporary):
        return ExecutionLeftover.objects.filter(
            execution_id=self.execution.pk,
            kind=temporary.kind,
            name=temporary.name,
            connection=temporary.connection,
        )

    def making(self, temporary: Temporary) -> None:
        ExecutionLeftover.objects.create(
            execution_id=self.execution.pk,
            kind=temporary.kind,
            name=temporary.name,
            connection=temporary.connection,
        )

    def gone(self, temporary: Temporary) -> None:
        self._rows(temporary).delete()


class Heartbeat:
    """Keeps `heartbeat_at` fresh from a thread while the engine is busy in one
    long step (a blocking sort, a commit), so the reaper only reaps dead workers."""

    def __init__(self, execution: Execution, worker_id: str):
        self.execution = execution
        self.worker_id = worker_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{execution.pk}", daemon=True)

    def _run(self):
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                self.execution.keep_alive(self.worker_id)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


ABANDONED = "abandoned"
# A database error this close to the deadline is the deadline's doing.
TIMEOUT_SLACK_SECONDS = 0.5


def run_claimed(execution: Execution, worker_id: str, on_progress=None, given_connections=None) -> str:
    """Run an execution this worker has claimed; returns the final state it
    recorded, or ABANDONED when someone else ended the run first (the reaper).
    `on_progress(progress)` is called at every batch boundary (a progress bar)."""
    job = execution.job
    session = RunSession(execution, worker_id, job.effective_config["timeout_seconds"], on_progress)
    try:
        resolved = resolve_run_inputs(
            job, execution.context_name or None, saved_overrides(execution), given_connections
        )
    except (RunInputError, CredentialKeyError) as error:
        summary = session.record_error(f"The run's inputs are no longer valid: {error}")
        recorded = execution.finish(State.FAILED, worker_id, message=summary["message"], error=summary)
        return execution.state if recorded else ABANDONED
    session.secrets = resolved.secrets
    session.sinks = sink_names(resolved.components)
    session.log(
        LogLevel.INFO,
        None,
        f"Started on {worker_id} (attempt {execution.attempt}, context {execution.context_name or 'none'}).",
    )
    with Heartbeat(execution, worker_id):
        # What earlier runs of this job left (killed while the reaper was not running).
        sweep_leftovers(job)
        final, message, error = _run_engine(session, resolved)
        # Before the temporary files go: they are the evidence of the file sinks.
        undecided = final != State.SUCCEEDED and (
            incremental.resolve_pending(execution, resolved.connections) == incremental.UNDECIDED
        )
        left = [] if undecided else _clean_up(session, resolved.connections)
    if left:
        what = f"could not be removed yet (the reaper retries every minute): {'; '.join(left)}."
        stopped = final == State.STOPPED
        session.log(
            LogLevel.WARNING,
            None,
            f"Stopped; the sinks rolled back, but this {what}" if stopped else f"This {what}",
        )
    elif final == State.STOPPED:
        session.log(LogLevel.INFO, None, "Stopped; every target was left as it was.")
    if not execution.finish(final, worker_id, message=message, error=error):
        session.log(
            LogLevel.WARNING, None, f"Could not record the end ({final}): the run is {execution.state}."
        )
        return ABANDONED
    return execution.state


class EarlierLoadUndecided(Exception):
    pass


def _incremental_inputs(execution: Execution, components: list[dict]) -> dict:
    """The RunContext fields of an incremental run: the saved state, a load id
    and the hook recording the pending state (execution/incremental/state.py)."""
    if not incremental.is_incremental(components):
        return {}
    problems = incremental.resolve_earlier(execution.job, execution.context_name, exclude_id=execution.pk)
    if problems:
        raise EarlierLoadUndecided(
            "Not started: the incremental state of this job in this context is not settled ("
            + "; ".join(problems)
            + "). Reading now could load rows twice; run it again once that is done."
        )
    load_id = uuid.uuid4().hex

    def before_commit(states, evidence):
        incremental.record_pending(execution, load_id, states, evidence)

    return {
        "incremental_state": incremental.saved_states(execution.job, execution.context_name),
        "load_id": load_id,
        "before_commit": before_commit,
    }


def _run_engine(session: RunSession, resolved) -> tuple[str, str, dict | None]:
    execution = session.execution
    try:
        context = RunContext(
            data_roots=list(settings.ETL_DATA_ROOTS),
            connections=resolved.connections,
            schemas=schemas_for_components(resolved.components),
            batch_size=execution.job.effective_config["batch_size"],
            control=session.control,
            log=session.log,
            deadline=session.wall_clock_deadline(),
            values=resolved.values,
            temporaries=LeftoverRecorder(execution),
            spill_root=settings.ETL_SPILL_DIR,
            spill_bytes=settings.ETL_SPILL_BYTES,
            **_incremental_inputs(execution, resolved.components),
        )
        result = run_job(resolved.components, context)
    except StopRequested:
        return State.STOPPED, "stopped at a batch boundary", None
    except (RunTimedOut, EarlierLoadUndecided) as error:
        summary = session.record_error(str(error))
        return State.FAILED, summary["message"], summary
    except EngineError as error:
        # A statement or lock wait cut off at the deadline surfaces as a driver
        # error; say it is the job's timeout.
        timed_out = time.monotonic() >= session.deadline - TIMEOUT_SLACK_SECONDS
        summary = session.record_error(
            f"{session.timed_out_message()} {error.message}" if timed_out else error.message,
            component=error.component,
            field=error.field,
            location=error.location,
        )
        return State.FAILED, summary["message"], summary
    except Exception as error:  # a bug or an unexpected driver error: keep the run's record honest
        logger.exception("Execution %s failed unexpectedly", execution.pk)
        session.log(LogLevel.DEBUG, None, traceback.format_exc())
        summary = session.record_error(f"{type(error).__name__}: {error}")
        return State.FAILED, summary["message"], summary
    except BaseException as error:
        # django-q2's hard timeout (a SystemExit) or a shutdown: record it, then let it through.
        summary = session.record_error(f"The worker was interrupted: {type(error).__name__}: {error}")
        execution.finish(State.FAILED, session.worker_id, message=summary["message"], error=summary)
        raise
    save_result(execution, result, session.sinks, session.secrets, session.samples)
    session.log(LogLevel.INFO, None, "Succeeded; every sink committed.")
    return State.SUCCEEDED, "succeeded", None


def _clean_up(session: RunSession, connections: dict) -> list[str]:
    """A sink whose rollback failed (its connection broke) left a temporary
    object listed: one more try now, on fresh connections. What still cannot
    be removed."""
    if not session.execution.leftovers.exists():
        return []
    removed, remaining = remove_leftovers(session.execution, connections)
    if removed:
        session.log(LogLevel.INFO, None, f"Removed what the rollback could not: {'; '.join(removed)}.")
    return remaining


def run_execution(execution_id: int) -> str:
    """Claim and run one execution. A duplicate delivery (or a run stopped
    while queued) finds nothing to claim and returns at once."""
    worker_id = this_worker_id()
    execution = Execution.objects.select_related("job").filter(pk=execution_id).first()
    if execution is None or not execution.claim(worker_id):
        return "not claimed"
    return run_claimed(execution, worker_id)


def run_in_foreground(
    job, *, context_name=None, overrides=None, user=None, on_progress=None, given_connections=None
) -> Execution:
    """`manage.py runjob`: record an Execution (trigger `cli`) and run it in this
    process, with the same checks, records, retries and downstream jobs as a
    queued run. Raises RunInputError / Conflict like the API's start."""
    execution, _ = start_execution(
        job,
        RunRequest(
            context_name=context_name,
            overrides=overrides,
            trigger=Trigger.CLI,
            user=user,
            given_connections=given_connections,
        ),
        enqueue_task=False,
    )
    worker_id = this_worker_id()
    claimed = execution.claim(worker_id)
    if claimed and run_claimed(execution, worker_id, on_progress, given_connections) != ABANDONED:
        run_finished(execution)
    return Execution.objects.get(pk=execution.pk)
