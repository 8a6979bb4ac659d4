"""Runs that start on their own: cron schedules, retries, and downstream jobs.

Schedules. A job's `config.schedule` (cron) + `timezone` + `enabled` become
one django-q2 Schedule named `etlsite.job.<id>`. django-q2 computes cron
times in the server's time zone only, so the Schedule is a one-off (`ONCE`,
`repeats=1`) at the next cron time in the job's own time zone, and the task
it fires (`run_scheduled`) re-arms it for the time after. django-q2 passes the
intended time as `scheduled_for`; an execution is unique per (job,
scheduled_for), so a late, missed or doubled tick never gives two runs of the
same job for the same time. Each run gets its slot as `${interval_start}`
(the time it stands for) and `${interval_end}` (the next cron time). When
the workers were down for several slots, the tick that fires late runs the
latest slot only; with `config.catchup` every missed slot runs once, oldest
first, as a backfill (execution/incremental/backfill.py).
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_q.models import Schedule

from accounts.access import visible_wherever
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution.control import RunRequest, saved_overrides, start_execution
from execution.engine.intervals import interval_values
from execution.incremental.backfill import catch_up
from execution.models import FINISHED_STATES, Execution, LogLevel, State, Trigger
from jobs.models import Job, JobDependency

logger = logging.getLogger("execution.scheduling")

SCHEDULED_TASK = "execution.tasks.run_scheduled"
# The most missed slots one catch-up runs (the latest ones).
MAX_CATCH_UP = 1000
# Why a run could not be started automatically (it is logged, never raised).
START_PROBLEMS = (RunInputError, Conflict, CredentialKeyError)


def schedule_name(job_id: int) -> str:
    return f"etlsite.job.{job_id}"


def next_occurrence(cron: str, tz_name: str, after: datetime) -> datetime:
    """The first cron time strictly after `after`, read in the job's time zone."""
    local = after.astimezone(ZoneInfo(tz_name))
    return croniter(cron, local).get_next(datetime)


def sync_job_schedule(job: Job) -> Schedule | None:
    """Make the job's django-q2 Schedule match its config (called on every job save)."""
    config = job.effective_config
    name = schedule_name(job.pk)
    cron = config.get("schedule")
    if not cron or not config.get("enabled", True):
        Schedule.objects.filter(name=name).delete()
        return None
    now = timezone.now()
    next_run = next_occurrence(cron, config["timezone"], now)
    existing = Schedule.objects.filter(name=name).first()
    unchanged = existing and existing.repeats == 1 and existing.cron == cron
    # A due tick the scheduler has not fired yet keeps its time.
    if unchanged and (existing.next_run <= now or existing.next_run == next_run):
        return existing
    schedule, _ = Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": SCHEDULED_TASK,
            "args": repr((job.pk,)),
            "kwargs": "",
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "cron": cron,
            "next_run": next_run,
            "intended_date_kwarg": "scheduled_for",
        },
    )
    return schedule


def due_slots(cron: str, tz_name: str, first: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The cron slots (start, next cron time) from `first` up to `now`, at
    most MAX_CATCH_UP of the latest; just `first`'s when it is not due yet."""
    slots = []
    start = first
    while True:
        following = next_occurrence(cron, tz_name, start)
        slots.append((start, following))
        if following > now:
            break
        start = following
    return slots[-MAX_CATCH_UP:]


def start_scheduled_run(job_id: int, scheduled_for: str | None = None) -> Execution | None:
    """One cron tick: re-arm the schedule, then start a run for that time (once)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    sync_job_schedule(job)
    config = job.effective_config
    if not config.get("schedule") or not config.get("enabled", True):
        return None
    intended = parse_datetime(scheduled_for) if scheduled_for else timezone.now()
    slots = due_slots(config["schedule"], config["timezone"], intended, timezone.now())
    if config.get("catchup") and len(slots) > 1:
        catch_up(job, slots)
        logger.info("Job %s catches up %s missed slots from %s", job.name, len(slots), intended)
        return None
    intended, following = slots[-1]
    try:
        execution, created = start_execution(
            job,
            RunRequest(
                trigger=Trigger.SCHEDULE,
                scheduled_for=intended,
                overrides=interval_values(intended, following),
            ),
        )
    except START_PROBLEMS as error:
        logger.warning("Scheduled run of job %s for %s not started: %s", job.name, intended, error)
        return None
    if not created:
        logger.info("Job %s already has execution #%s for %s", job.name, execution.pk, intended)
    return execution


# --- retries -----------------------------------------------------------------


def schedule_retry(execution: Execution) -> Execution | None:
    """A failed run with retries left gets a new execution (linked to the first
    attempt) after `retry_delay_seconds`."""
    if execution.state != State.FAILED:
        return None
    config = execution.job.effective_config
    if execution.attempt > config["max_retries"]:
        return None
    try:
        retry, _ = start_execution(
            execution.job,
            RunRequest(
                context_name=execution.context_name or None,
                overrides=saved_overrides(execution),
                trigger=Trigger.RETRY,
                user=execution.started_by,
                parent=execution.first_attempt,
                attempt=execution.attempt + 1,
                delay_seconds=config["retry_delay_seconds"],
            ),
        )
    except START_PROBLEMS as error:
        execution.add_log(LogLevel.ERROR, f"Retry not started: {error}")
        return None
    execution.add_log(
        LogLevel.INFO,
        f"Retry {execution.attempt} of {config['max_retries']} queued as execution #{retry.pk}, "
        f"starting in {config['retry_delay_seconds']} s.",
    )
    return retry


# --- dependencies --------------------------------------------------------------

CONDITION_STATES = {
    JobDependency.Condition.ON_SUCCESS: {State.SUCCEEDED},
    JobDependency.Condition.ON_FAILURE: {State.FAILED},
    JobDependency.Condition.ALWAYS: set(FINISHED_STATES),
}


def start_downstream_jobs(execution: Execution) -> list[Execution]:
    """Start every job that depends on this one with a matching condition, in
    the same context as this run."""
    started = []
    links = JobDependency.objects.filter(upstream_id=execution.job_id).select_related("downstream")
    for link in links:
        if execution.state not in CONDITION_STATES[link.condition]:
            continue
        # This run's log is read by everyone who may see its job: it names the
        # downstream job only if they all may see that one too.
        named = visible_wherever(link.downstream, execution.job)
        try:
            downstream, _ = start_execution(
                link.downstream,
                RunRequest(context_name=execution.context_name or None, trigger=Trigger.DEPENDENCY),
            )
        except START_PROBLEMS as error:
            logger.warning(
                "Downstream job %r of execution #%s not started: %s",
                link.downstream.name,
                execution.pk,
                error,
            )
            execution.add_log(
                LogLevel.WARNING,
                f"Downstream job {link.downstream.name!r} not started: {error}"
                if named
                else f"A downstream job restricted to other groups was not started ({link.condition}); "
                "an admin finds why in the server log.",
            )
            continue
        execution.add_log(
            LogLevel.INFO,
            f"Started downstream job {link.downstream.name!r} ({link.condition}) as execution #{downstream.pk}."
            if named
            else f"Started a downstream job restricted to other groups ({link.condition}).",
        )
        started.append(downstream)
    return started
