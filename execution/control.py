"""Starting runs: new ones, restarts, and (for execution.scheduling) retries.

Requests never move data (house rule 2): `start_execution` checks the inputs,
creates the Execution and enqueues its django-q2 task in one transaction (the
ORM broker's queue row is written on the same connection, so a rolled-back
start enqueues nothing) and returns. Control requests only change the row;
the worker acts on them at the next batch boundary (execution.lifecycle).
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from accounts.audit import record
from contexts import crypto
from contexts.resolution import RunInputError, choose_context, resolve_run_inputs
from etlsite.errors import Conflict
from execution.engine.errors import EngineError
from execution.engine.graph import validate_components
from execution.engine.incremental import watermark_problems
from execution.engine.runner import RunContext
from execution.models import ACTIVE_STATES, Execution, ExecutionEvent, State, Trigger
from jobs.access import check_person_may_use_context, job_may_use_context
from jobs.models import Job
from jobs.versions import version_for_run
from schemas.resolution import schemas_for_components

RUN_TASK = "execution.tasks.run_execution"
# A start asks an incremental source's database about its watermark column for at most this long.
WATERMARK_CHECK_SECONDS = 5


def check_job_runs(job: Job, context_name: str | None, overrides: dict | None, given_connections=None):
    """Everything that would stop the run before any data moves, as a RunInputError."""
    components = job.component_dicts()
    if not components:
        raise RunInputError(
            {"components": [f"Job {job.name!r} has no components; add some before running it."]}
        )
    problems = validate_components(components, data_roots=settings.ETL_DATA_ROOTS)
    if problems:
        raise RunInputError(
            {f"components.{p.component}.{p.field or 'config'}": [p.message] for p in problems}
        )
    resolved = resolve_run_inputs(job, context_name, overrides, given_connections)
    try:
        schemas_for_components(resolved.components)
    except EngineError as error:
        raise RunInputError(
            {f"components.{error.component}.{error.field or 'config'}": [error.message]}
        ) from None
    probe = RunContext(
        data_roots=list(settings.ETL_DATA_ROOTS),
        connections=resolved.connections,
        batch_size=1,
        deadline=time.time() + WATERMARK_CHECK_SECONDS,
    )
    problems = watermark_problems(resolved.components, probe)
    if problems:
        raise RunInputError(
            {f"components.{name}.config.incremental.column": [message] for name, message in problems}
        )
    return resolved


def check_context_grant(job: Job, context_name: str | None, user, trigger: str) -> None:
    """Refuse a context the run may not use, before anything reads it.

    A run started by or for a person (the API, the admin, a page; a retry of
    their run) uses their grants: the context they name, else the one the job
    would use, must be one they may see, and a hidden name answers exactly like
    one that does not exist. A run the system starts with nobody behind it
    (schedule, dependency) follows accounts.access.job_may_use_context.
    `manage.py runjob` is a local admin tool and is not checked.
    """
    if trigger == Trigger.CLI:
        return
    if user is None:
        context = choose_context(job, context_name)
        if not job_may_use_context(job, context):
            raise RunInputError(
                {
                    "context": [
                        f"Runs the system starts for job {job.name!r} may not use context "
                        f"{context.name!r}: it is restricted to groups, and people outside them may "
                        "change the job. Make it the job's default context, or restrict the job to "
                        "groups that may see it."
                    ]
                }
            )
        return
    check_person_may_use_context(job, context_name, user)


@dataclass(frozen=True)
class RunRequest:
    """Who asks for a run, of what and why: everything a start needs besides the job."""

    context_name: str | None = None
    overrides: dict | None = None  # parameters (and env values) for this run only
    trigger: str = Trigger.API
    user: object = None  # the person behind the run; None for one the system starts
    parent: Execution | None = None  # the run this one restarts or retries
    attempt: int = 1
    scheduled_for: datetime | None = None  # the cron slot a scheduled run stands for
    idempotency_key: str | None = None
    delay_seconds: int = 0
    # `manage.py runjob` only: connections standing in for the context's credentials.
    given_connections: dict | None = None


def start_execution(job: Job, run: RunRequest = RunRequest(), *, enqueue_task: bool = True):
    """Queue a run of `job`; returns (execution, created). With
    `enqueue_task=False` the caller runs it itself (`manage.py runjob`).

    Raises RunInputError (bad context/parameters, a context the run may not
    use (check_context_grant), invalid graph) or Conflict (the job already runs
    `max_concurrent` executions).
    """
    if run.idempotency_key:
        existing = Execution.objects.filter(job=job, idempotency_key=run.idempotency_key).first()
        if existing:
            return existing, False
    check_context_grant(job, run.context_name, run.user, run.trigger)
    resolved = check_job_runs(job, run.context_name, run.overrides, run.given_connections)
    try:
        with transaction.atomic():
            execution = _create_and_enqueue(job, run, resolved, enqueue_task)
    except IntegrityError:
        # A concurrent request with the same idempotency key (or scheduled time) won.
        existing = Execution.objects.filter(job=job)
        if run.idempotency_key:
            existing = existing.filter(idempotency_key=run.idempotency_key).first()
        elif run.scheduled_for:
            existing = existing.filter(scheduled_for=run.scheduled_for).first()
        if existing is None:
            raise
        return existing, False
    return execution, True


def _create_and_enqueue(job: Job, run: RunRequest, resolved, enqueue_task: bool) -> Execution:
    # Lock the job row so concurrent starts count active runs one at a time
    # (on SQLite the IMMEDIATE transaction already serializes writers).
    Job.objects.select_for_update().filter(pk=job.pk).first()
    limit = job.effective_config["max_concurrent"]
    active = list(job.executions.filter(state__in=ACTIVE_STATES).order_by("id").values("id", "state"))
    if len(active) >= limit:
        running = ", ".join(f"#{row['id']} ({row['state']})" for row in active)
        raise Conflict(
            f"Job {job.name!r} already has {len(active)} active execution(s): {running}; "
            f"max_concurrent is {limit}. Stop it or wait for it to finish.",
            details={"active_executions": [row["id"] for row in active], "max_concurrent": limit},
        )
    now = timezone.now()
    delay = run.delay_seconds
    execution = Execution.objects.create(
        job=job,
        job_version=version_for_run(job).number,
        context=resolved.context,
        context_name=resolved.context_name or "",
        parameters=resolved.parameters,
        encrypted_overrides=crypto.encrypt(json.dumps(run.overrides)) if run.overrides else "",
        trigger=run.trigger,
        started_by=run.user,
        parent=run.parent,
        attempt=run.attempt,
        scheduled_for=run.scheduled_for,
        idempotency_key=run.idempotency_key or None,
        queued_at=now,
        not_before=now + timedelta(seconds=delay) if delay else None,
    )
    ExecutionEvent.objects.create(
        execution=execution,
        action="retry" if run.trigger == Trigger.RETRY else ("restart" if run.parent else "start"),
        to_state=State.QUEUED,
        by=run.user.get_username() if run.user else run.trigger,
        user=run.user,
        message=f"queued ({run.trigger})" + (f", starts after {delay}s" if delay else ""),
    )
    if enqueue_task:
        enqueue(execution)
    return execution


def enqueue(execution: Execution) -> None:
    """Hand the run to the workers (now, or at `not_before` through a one-off schedule)."""
    if execution.not_before and execution.not_before > timezone.now():
        Schedule.objects.create(
            name=f"etlsite.execution.{execution.pk}",
            func=RUN_TASK,
            args=repr((execution.pk,)),
            schedule_type=Schedule.ONCE,
            repeats=-1,
            next_run=execution.not_before,
        )
        return
    execution.task_id = async_task(
        RUN_TASK, execution.pk, task_name=f"execution-{execution.pk}", group=f"job-{execution.job_id}"
    )
    Execution.objects.filter(pk=execution.pk).update(task_id=execution.task_id)


def saved_overrides(execution: Execution) -> dict | None:
    return (
        json.loads(crypto.decrypt(execution.encrypted_overrides)) if execution.encrypted_overrides else None
    )


def restart_execution(
    job: Job, user, execution_id=None, context_name=None, overrides=None, trigger=Trigger.API
):
    """A new run of a finished execution, linked to it, with the same inputs unless given."""
    executions = job.executions.all()
    old = executions.filter(pk=execution_id).first() if execution_id else executions.order_by("-id").first()
    if old is None:
        raise Conflict(
            f"Job {job.name!r} has no execution #{execution_id} to restart."
            if execution_id
            else f"Job {job.name!r} has never run; start it instead."
        )
    if old.is_active:
        raise Conflict(
            f"Execution #{old.pk} is still {old.state}; stop it (or wait for it) before restarting.",
            details={"active_executions": [old.pk]},
        )
    execution, _ = start_execution(
        job,
        RunRequest(
            context_name=context_name or old.context_name or None,
            overrides=overrides if overrides is not None else saved_overrides(old),
            trigger=trigger,
            user=user,
            parent=old,
        ),
    )
    return execution


def record_start(request, job: Job, execution: Execution) -> None:
    """The audit event of a start, the same whether the API or the admin started it."""
    record(
        request,
        "start",
        execution,
        after={"job": job.name, "context": execution.context_name, "parameters": execution.parameters},
    )
