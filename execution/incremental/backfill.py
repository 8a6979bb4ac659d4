"""Backfills: one run per interval of a range, at most `max_parallel` at once.

`create_backfill` checks everything and cuts the range (at most
MAX_INTERVALS intervals), then starts the first runs. Each run gets the
backfill's parameters plus `interval_start`/`interval_end`. Whenever a run
of a backfill ends, `advance_backfills` starts the next pending intervals
(a retry of a failed run takes its interval's place), and marks the
backfill succeeded or failed once every interval has ended. A stopped
backfill starts nothing more; a failed (or stopped) interval can be rerun
alone.

Catch-up (a schedule with `config.catchup`) is a backfill too: the missed
cron slots become its intervals, each run with `scheduled_for` set to its
slot, so no slot ever runs twice.
"""

import logging

from django.db import transaction
from django.utils import timezone

from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution.control import RunRequest, check_context_grant, check_job_runs, start_execution
from execution.engine.intervals import UNITS, cut, interval_values, parse_instant
from execution.incremental.state import is_incremental
from execution.models import ACTIVE_STATES, Backfill, BackfillInterval, Execution, State, Trigger

logger = logging.getLogger("execution.backfill")

# The most intervals one backfill may have (docs/execution.md).
MAX_INTERVALS = 1000
PENDING, RUNNING = "pending", "running"
RUNNING_STATE = Backfill.BackfillState.RUNNING


def interval_state(interval: BackfillInterval) -> str:
    execution = interval.execution
    if execution is None:
        return PENDING
    return RUNNING if execution.state in ACTIVE_STATES else execution.state


def create_backfill(job, user, data: dict) -> Backfill:
    """`data`: start, end, interval, context, parameters, max_parallel (as
    given). RunInputError naming the field; nothing is created then."""
    problems: dict[str, list[str]] = {}
    bounds = {}
    for field in ("start", "end"):
        try:
            bounds[field] = parse_instant(data.get(field))
        except ValueError as error:
            problems[field] = [str(error)]
    unit = data.get("interval")
    if unit not in UNITS:
        problems["interval"] = [f"Give one of {', '.join(UNITS)} (got {unit!r})."]
    max_parallel = data.get("max_parallel", 1)
    limit = job.effective_config["max_concurrent"]
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        problems["max_parallel"] = ["Give a whole number of at least 1."]
    elif max_parallel > limit:
        problems["max_parallel"] = [f"At most the job's max_concurrent ({limit}); raise that first."]
    elif max_parallel > 1 and is_incremental(job.component_dicts()):
        # Each run reads the watermark the previous one saved (state.py): they cannot overlap.
        problems["max_parallel"] = [
            "This job has incremental sources: its runs in one context go one at a time. Give 1."
        ]
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        problems["parameters"] = ["Give parameters as an object of name -> value."]
    if len(bounds) == 2 and bounds["start"] >= bounds["end"]:
        problems["start"] = ["start must be before end."]
    if problems:
        raise RunInputError(problems)
    try:
        intervals = cut(bounds["start"], bounds["end"], unit, MAX_INTERVALS)
    except ValueError as error:
        raise RunInputError({"end": [str(error)]}) from None
    context_name = data.get("context") or None
    check_context_grant(job, context_name, user, Trigger.BACKFILL)
    resolved = check_job_runs(job, context_name, {**parameters, **interval_values(*intervals[0])})
    with transaction.atomic():
        backfill = Backfill.objects.create(
            job=job,
            context_name=resolved.context_name or "",
            start=bounds["start"],
            end=bounds["end"],
            interval=unit,
            parameters=parameters,
            max_parallel=max_parallel,
            created_by=user,
        )
        BackfillInterval.objects.bulk_create(
            BackfillInterval(backfill=backfill, start=start, end=end) for start, end in intervals
        )
    advance(backfill)
    return backfill


def catch_up(job, slots: list[tuple]) -> Backfill | None:
    """A backfill of the missed cron slots [(start, end)] that have no run yet, one run each."""
    taken = set(
        job.executions.filter(scheduled_for__in=[s for s, _ in slots]).values_list("scheduled_for", flat=True)
    )
    slots = [(start, end) for start, end in slots if start not in taken]
    if not slots:
        return None
    with transaction.atomic():
        backfill = Backfill.objects.create(
            job=job,
            context_name=job.default_context.name if job.default_context else "",
            start=slots[0][0],
            end=slots[-1][1],
            interval=Backfill.Interval.SCHEDULE,
            # An incremental job's runs in one context cannot overlap (see create_backfill).
            max_parallel=1
            if is_incremental(job.component_dicts())
            else job.effective_config["max_concurrent"],
        )
        BackfillInterval.objects.bulk_create(
            BackfillInterval(backfill=backfill, start=start, end=end) for start, end in slots
        )
    advance(backfill)
    return backfill


def advance(backfill: Backfill) -> None:
    """Start pending intervals while fewer than max_parallel run; finish the
    backfill once every interval has ended."""
    with transaction.atomic():
        # One advance at a time per backfill: two runs ending together start different intervals.
        backfill = Backfill.objects.select_for_update().get(pk=backfill.pk)
        intervals = list(backfill.intervals.select_related("execution"))
        states = [interval_state(i) for i in intervals]
        running = states.count(RUNNING)
        if backfill.state == RUNNING_STATE:
            for interval, state in zip(intervals, states, strict=True):
                if running >= backfill.max_parallel:
                    break
                if state != PENDING:
                    continue
                started = _start(backfill, interval)
                if started is None:
                    break
                # A slot that already had its run (catch-up) is taken as it is.
                running += started.state in ACTIVE_STATES
        _finish_if_done(backfill)


def _start(
    backfill: Backfill, interval: BackfillInterval, parent: Execution | None = None
) -> Execution | None:
    catching_up = backfill.interval == Backfill.Interval.SCHEDULE
    try:
        execution, _ = start_execution(
            backfill.job,
            RunRequest(
                context_name=backfill.context_name or None,
                overrides={**backfill.parameters, **interval_values(interval.start, interval.end)},
                trigger=Trigger.SCHEDULE if catching_up else Trigger.BACKFILL,
                user=backfill.created_by,
                parent=parent,
                scheduled_for=interval.start if catching_up and parent is None else None,
            ),
        )
    except Conflict:
        return None  # the job's max_concurrent is reached: the next run's end comes back here
    except RunInputError as error:
        logger.warning("Backfill %s: interval %s not started: %s", backfill.pk, interval, error)
        Backfill.objects.filter(pk=backfill.pk).update(
            state=Backfill.BackfillState.FAILED, finished_at=timezone.now()
        )
        backfill.state = Backfill.BackfillState.FAILED
        return None
    interval.execution = execution
    interval.save(update_fields=["execution"])
    return execution


def _finish_if_done(backfill: Backfill) -> None:
    states = [interval_state(i) for i in backfill.intervals.select_related("execution")]
    if backfill.state != RUNNING_STATE or PENDING in states or RUNNING in states:
        return
    ended = (
        Backfill.BackfillState.SUCCEEDED
        if set(states) <= {State.SUCCEEDED}
        else Backfill.BackfillState.FAILED
    )
    Backfill.objects.filter(pk=backfill.pk, state=RUNNING_STATE).update(
        state=ended, finished_at=timezone.now()
    )


def advance_backfills(execution: Execution, retry: Execution | None = None) -> None:
    """A run ended: the backfill it belongs to moves on (its retry, if any,
    takes its interval's place)."""
    if retry is not None:
        BackfillInterval.objects.filter(execution=execution).update(execution=retry)
    current = retry or execution
    for backfill in Backfill.objects.filter(intervals__execution=current).distinct():
        advance(backfill)


def stop_backfill(backfill: Backfill) -> list[Execution]:
    """No interval starts any more; returns its active runs (for the caller to ask them to stop)."""
    if not Backfill.objects.filter(pk=backfill.pk, state=RUNNING_STATE).update(
        state=Backfill.BackfillState.STOPPED, finished_at=timezone.now()
    ):
        raise Conflict(f"Backfill {backfill.pk} is {backfill.state}; only a running one can be stopped.")
    backfill.refresh_from_db()
    active = backfill.intervals.select_related("execution").filter(execution__state__in=ACTIVE_STATES)
    return [interval.execution for interval in active]


def rerun_interval(backfill: Backfill, start, user) -> BackfillInterval:
    """Run one failed or stopped interval again (alone), linked to its last run."""
    try:
        instant = parse_instant(start)
    except ValueError as error:
        raise RunInputError({"start": [str(error)]}) from None
    interval = backfill.intervals.select_related("execution").filter(start=instant).first()
    if interval is None:
        raise RunInputError({"start": [f"Backfill {backfill.pk} has no interval starting at {start}."]})
    if interval_state(interval) not in (State.FAILED, State.STOPPED):
        raise Conflict(
            f"The interval starting at {start} is {interval_state(interval)}; only a failed or stopped one is rerun."
        )
    backfill.created_by = backfill.created_by or user
    if _start(backfill, interval, parent=interval.execution) is None:
        raise Conflict(
            f"Job {backfill.job.name!r} already runs its max_concurrent executions; try again later."
        )
    if backfill.state in (Backfill.BackfillState.SUCCEEDED, Backfill.BackfillState.FAILED):
        Backfill.objects.filter(pk=backfill.pk).update(state=RUNNING_STATE, finished_at=None)
    return interval
