"""What incremental runs remember, and backfills over a range of intervals.

Re-exported by execution.models (import them from there).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class IncrementalState(models.Model):
    """One incremental source's state for a job in a context: the saved
    watermark (database sources) or the files loaded (file sets)."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="incremental_states")
    # The context's name ("" without one): state is per job and context.
    context_name = models.CharField(max_length=100, blank=True, default="")
    component = models.CharField(max_length=63)
    watermark = models.JSONField(null=True, blank=True)
    # [{"path", "size", "mtime"}] of a file set in `new_files` mode.
    files = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The run that saved it (null: set through the API).
    execution = models.ForeignKey(
        "execution.Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "context_name", "component"], name="unique_incremental_state"
            )
        ]

    def __str__(self):
        return f"{self.job_id}/{self.context_name or '-'}/{self.component}"

    def as_dict(self) -> dict:
        return {"watermark": self.watermark, "files": self.files, "updated_at": self.updated_at.isoformat()}


class PendingState(models.Model):
    """A run's new incremental state, recorded after its last batch and before
    its sinks commit. Applied with the run's result, or, after a kill, applied
    or discarded from the sinks' commit evidence (execution/incremental/state.py)."""

    execution = models.OneToOneField(
        "execution.Execution", on_delete=models.CASCADE, related_name="pending_state"
    )
    load_id = models.CharField(max_length=64)
    # component -> {"watermark", "files"}
    states = models.JSONField(default=dict)
    # One Sink.commit_evidence per sink (null: a sink that cannot tell).
    evidence = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"pending state of execution {self.execution_id}"


class Backfill(models.Model):
    class Interval(models.TextChoices):
        HOUR = "hour"
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        # The missed cron slots of a schedule (catch-up); not offered by the API.
        SCHEDULE = "schedule"

    class BackfillState(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="backfills")
    context_name = models.CharField(max_length=100, blank=True, default="")
    start = models.DateTimeField()
    end = models.DateTimeField()
    interval = models.CharField(max_length=8, choices=Interval.choices)
    # Parameters given for every interval's run (besides interval_start/interval_end).
    parameters = models.JSONField(default=dict, blank=True)
    max_parallel = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=BackfillState.choices, default=BackfillState.RUNNING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"backfill {self.pk} of job {self.job_id}"


class BackfillInterval(models.Model):
    backfill = models.ForeignKey(Backfill, on_delete=models.CASCADE, related_name="intervals")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The latest run for this interval (a rerun replaces it); null: not started yet.
    execution = models.ForeignKey(
        "execution.Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["start"]

    def __str__(self):
        return f"{self.start.isoformat()}..{self.end.isoformat()}"
