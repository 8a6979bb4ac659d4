"""Executions: one run of a job, its state machine, logs, errors and rejects.

State changes are model methods built on conditional updates
(`filter(pk=..., state__in=allowed).update(...)`): whoever changes the row
first wins, the loser sees 0 rows and re-reads. Every successful change writes
an `ExecutionEvent`, which is the job's timeline.

    queued -> running -> succeeded | failed
    running -> pausing -> paused -> queued (resume) -> running (same worker)
    running | pausing | paused -> stopping -> stopped
    queued (never claimed) -> stopped
"""

import os
import socket
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


class State(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE_STATES = (State.QUEUED, State.RUNNING, State.PAUSING, State.PAUSED, State.STOPPING)
FINISHED_STATES = (State.STOPPED, State.SUCCEEDED, State.FAILED)
# States in which a worker process holds the run (and must heartbeat).
HELD_STATES = (State.RUNNING, State.PAUSING, State.PAUSED, State.STOPPING)


class Trigger(models.TextChoices):
    API = "api"
    UI = "ui"
    SCHEDULE = "schedule"
    DEPENDENCY = "dependency"
    CLI = "cli"
    RETRY = "retry"
    BACKFILL = "backfill"


class Action(models.TextChoices):
    """What a user (or the system) asked for; the worker acts on it between batches."""

    NONE = ""
    PAUSE = "pause"
    STOP = "stop"
    RESUME = "resume"


@cache
def this_worker_id() -> str:
    """`host:pid:start-time`: unique per process, and checkable for liveness on this host."""
    import psutil

    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{int(psutil.Process(pid).create_time())}"


class ExecutionQuerySet(models.QuerySet):
    def active(self):
        """Runs that are not over yet (`job.executions.active()` works too)."""
        return self.filter(state__in=ACTIVE_STATES)


class Execution(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="executions")
    # The job's version (JobVersion.number) this run was started from.
    job_version = models.PositiveIntegerField(null=True, blank=True)
    context = models.ForeignKey(
        "contexts.Context", null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    # Kept as text too, so history still says which context after it is deleted.
    context_name = models.CharField(max_length=100, blank=True, default="")
    # Resolved parameter values with secret ones masked: safe to show.
    parameters = models.JSONField(default=dict, blank=True)
    # The run-time overrides as given, Fernet-encrypted (they may hold secret
    # parameter values); a retry or restart resolves them again.
    encrypted_overrides = models.TextField(blank=True, default="")

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_action = models.CharField(max_length=10, choices=Action.choices, blank=True, default="")
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.API)
    attempt = models.PositiveIntegerField(default=1)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The execution this one restarts or retries (for retries: the first attempt).",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)

    task_id = models.CharField(max_length=64, blank=True, default="")
    worker_id = models.CharField(max_length=200, blank=True, default="")
    queued_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(null=True, blank=True, help_text="A delayed retry starts after this.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    progress = models.JSONField(default=dict, blank=True, help_text="percent and rows read so far")
    # Totals as columns, so history and statistics can sum them in the database.
    rows_read = models.BigIntegerField(default=0, help_text="Rows read by the sources.")
    rows_written = models.BigIntegerField(default=0, help_text="Rows written by the sinks.")
    rows_rejected = models.BigIntegerField(default=0, help_text="Rows rejected by validate components.")
    counters = models.JSONField(default=dict, blank=True, help_text="Per component: rows in/out/rejected...")
    custom_metrics = models.JSONField(default=list, blank=True)
    error = models.JSONField(default=dict, blank=True, help_text="Why it failed: component, message...")
    files = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per file-set source: the files this run read (path, size, mtime).",
    )

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["job", "state"]),
            models.Index(fields=["state", "heartbeat_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="unique_execution_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["job", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="unique_execution_per_scheduled_time",
            ),
        ]
        permissions = [("control_execution", "Can start, stop, pause, resume and restart job executions")]

    def __str__(self):
        return f"{self.job.name} #{self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 3)

    @property
    def first_attempt(self) -> "Execution":
        return self.parent if self.trigger == Trigger.RETRY and self.parent_id else self

    def add_log(self, level: str, message: str, component: str = "") -> None:
        """A log line from outside the worker (reaper, retries, dependencies)."""
        ExecutionLog.objects.create(execution=self, level=level, component=component, message=message)

    # --- state machine --------------------------------------------------------

    def _transition(
        self, allowed, new_state, *, by="system", user=None, action="", message="", where=None, **fields
    ) -> bool:
        """Move to `new_state` if the row is still in one of `allowed` (and matches
        `where`); record the change. False, with fresh fields, when another
        process changed the row first."""
        if new_state in FINISHED_STATES:
            fields.setdefault("finished_at", timezone.now())
        rows = Execution.objects.filter(pk=self.pk, **(where or {}))
        for old_state in allowed:
            # One transaction: whoever acts on the new state (the worker, the
            # reaper) sees it only with its event, so the timeline stays in order.
            with transaction.atomic():
                if not rows.filter(state=old_state).update(state=new_state, **fields):
                    continue
                ExecutionEvent.objects.create(
                    execution_id=self.pk,
                    from_state=old_state,
                    to_state=new_state,
                    action=action,
                    by=by,
                    user=user,
                    message=message,
                )
            self.refresh_from_db()
            return True
        self.refresh_from_db()
        return False

    def claim(self, worker_id: str) -> bool:
        """A worker takes a never-claimed queued run. A duplicate delivery gets False."""
        now = timezone.now()
        return self._transition(
            [State.QUEUED],
            State.RUNNING,
            by=worker_id,
            message="claimed by a worker",
            where={"worker_id": ""},
            worker_id=worker_id,
            started_at=now,
            heartbeat_at=now,
        )

    def reclaim(self, worker_id: str) -> bool:
        """The worker that kept a paused run takes it back after a resume."""
        return self._transition(
            [State.QUEUED],
            State.RUNNING,
            by=worker_id,
            message="resumed from the next batch",
            where={"worker_id": worker_id},
            requested_action=Action.NONE,
            heartbeat_at=timezone.now(),
        )

    def request_pause(self, user) -> bool:
        return self._transition(
            [State.RUNNING],
            State.PAUSING,
            by=_name(user),
            user=user,
            action=Action.PAUSE,
            requested_action=Action.PAUSE,
        )

    def mark_paused(self, worker_id: str, **progress) -> bool:
        return self._transition(
            [State.PAUSING],
            State.PAUSED,
            by=worker_id,
            message="paused at a batch boundary",
            heartbeat_at=timezone.now(),
            **progress,
        )

    def request_resume(self, user) -> bool:
        """A pause not yet reached is cancelled; a reached one goes back to queued
        for the worker holding it."""
        if self._transition(
            [State.PAUSING],
            State.RUNNING,
            by=_name(user),
            user=user,
            action=Action.RESUME,
            message="pause cancelled",
            requested_action=Action.NONE,
        ):
            return True
        return self._transition(
            [State.PAUSED],
            State.QUEUED,
            by=_name(user),
            user=user,
            action=Action.RESUME,
            requested_action=Action.RESUME,
        )

    def request_stop(self, user) -> bool:
        """A run no worker holds stops at once; a held one stops at the next batch."""
        if self._transition(
            [State.QUEUED],
            State.STOPPED,
            by=_name(user),
            user=user,
            action=Action.STOP,
            message="stopped before it started",
            where={"worker_id": ""},
            requested_action=Action.STOP,
        ):
            return True
        return self._transition(
            [State.RUNNING, State.PAUSING, State.PAUSED, State.QUEUED],
            State.STOPPING,
            by=_name(user),
            user=user,
            action=Action.STOP,
            requested_action=Action.STOP,
        )

    def finish(self, new_state: str, worker_id: str, message: str = "", error: dict | None = None) -> bool:
        """The worker ends the run: succeeded, failed or stopped."""
        allowed = {
            State.SUCCEEDED: [State.RUNNING, State.PAUSING, State.STOPPING],
            State.STOPPED: [State.STOPPING, State.RUNNING, State.PAUSING, State.PAUSED, State.QUEUED],
            State.FAILED: list(ACTIVE_STATES),
        }[new_state]
        fields = {"requested_action": Action.NONE}
        if error is not None:
            fields["error"] = error
        return self._transition(
            allowed, new_state, by=worker_id, message=message, where={"worker_id": worker_id}, **fields
        )

    def fail_abandoned(self, reason: str) -> bool:
        """The reaper: the worker holding this run is gone. Only if nothing moved
        since the reaper looked (same state, worker and heartbeat)."""
        if not (self.worker_id and self.state in ACTIVE_STATES):
            return False
        return self._transition(
            [self.state],
            State.FAILED,
            by="reaper",
            message=reason,
            where={"worker_id": self.worker_id, "heartbeat_at": self.heartbeat_at},
            requested_action=Action.NONE,
            error={"component": None, "field": None, "location": None, "message": reason},
        )

    def beat(self, worker_id: str, **fields) -> bool:
        """Heartbeat (with progress/counters) while running; False when the state
        changed under us (a control request), so the caller re-reads it."""
        return bool(
            Execution.objects.filter(pk=self.pk, state=State.RUNNING, worker_id=worker_id).update(
                heartbeat_at=timezone.now(), **fields
            )
        )

    def keep_alive(self, worker_id: str) -> None:
        """Heartbeat in any held state (a paused run, a long batch)."""
        Execution.objects.filter(
            pk=self.pk, worker_id=worker_id, state__in=list(HELD_STATES) + [State.QUEUED]
        ).update(heartbeat_at=timezone.now())

    def is_stale(self, stale_after: timedelta) -> bool:
        return self.heartbeat_at is None or self.heartbeat_at < timezone.now() - stale_after


def _name(user) -> str:
    return user.get_username() if user else "system"


class ExecutionEvent(models.Model):
    """One line of a job's timeline: a state change or a control request, and who."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=20, blank=True, default="")
    from_state = models.CharField(max_length=10, blank=True, default="")
    to_state = models.CharField(max_length=10, blank=True, default="")
    by = models.CharField(max_length=200, default="system", help_text="A username, a worker id, or 'system'.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        change = f"{self.from_state} -> {self.to_state}" if self.to_state else self.action
        return f"#{self.execution_id} {change} by {self.by}"


class ExecutionLeftover(models.Model):
    """A temporary object a sink of the run was about to make (a temporary
    file, a staging table, a write transaction on a SQLite file) or a spill
    folder of one of its aggregates, sorts or metrics, stored
    before the object exists and deleted once it is gone: what is still
    here after the run ended is what it left, for the reaper to remove
    (execution/engine/temporaries.py)."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="leftovers")
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20)
    # A file path, a database file, or `schema.table`.
    name = models.CharField(max_length=1000)
    # The credential name a table is reached through.
    connection = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.execution_id} {self.kind} {self.name}"


class LogLevel(models.TextChoices):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


LEVEL_ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]


class ExecutionLog(models.Model):
    """A log line of a run. Written in autocommit, outside any sink transaction,
    so lines survive a rolled-back load. Messages are redacted before saving."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=7, choices=LogLevel.choices, default=LogLevel.INFO)
    component = models.CharField(max_length=63, blank=True, default="")
    message = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.execution_id} {self.level} {self.component}: {self.message[:80]}"


class ExecutionError(models.Model):
    """Why a run failed, naming the component, and a sample of the offending rows."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="errors")
    created_at = models.DateTimeField(default=timezone.now)
    component = models.CharField(max_length=63, blank=True, default="")
    field = models.CharField(max_length=200, blank=True, default="")
    location = models.CharField(max_length=500, blank=True, default="")
    message = models.TextField()
    sample = models.JSONField(default=list, blank=True, help_text="A few offending rows, when known.")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.execution_id} {self.component}: {self.message[:80]}"


def rejects_root():
    return settings.ETL_HOME / "rejects"


class ExecutionRejects(models.Model):
    """The rows a `validate` component rejected in a run, kept as a CSV file."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="rejects")
    component = models.CharField(max_length=63)
    rows = models.PositiveIntegerField(default=0)
    # Relative to rejects_root(); the file is removed with the row.
    path = models.CharField(max_length=300)
    sample = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["component"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "component"], name="unique_rejects_per_component")
        ]
        verbose_name_plural = "execution rejects"

    def __str__(self):
        return f"#{self.execution_id} {self.component}: {self.rows} rejected rows"

    @property
    def file_path(self):
        return rejects_root() / self.path


# Incremental state and backfills live in their own module (this one stays short).
from execution.incremental.models import (  # noqa: E402, F401 - re-exported
    Backfill,
    BackfillInterval,
    IncrementalState,
    PendingState,
)
