"""When notifications happen: a run's end, a run that is slow, a slot that was missed.

- `failed`, `succeeded`, `stopped`: when a run ends, after its retry is
  decided. A failed run that will be retried is not announced: only its last
  attempt is (which may then succeed, fail or be stopped).
- `slow`: a run whose running time (paused time not counted) is longer than
  the job's `config.expected_seconds`, or, without it, longer than SLOW_FACTOR
  times the median duration of the job's last successful runs (at least
  SLOW_MIN_RUNS of them). Checked when a run ends and every minute for runs
  still going; at most once per run and channel.
- `missed`: a scheduled slot with no run OVERDUE_GRACE after its time
  (execution.stats.overdue_schedule), checked every minute; at most once per
  slot and channel.

None of this may fail or slow a run: errors are logged and swallowed, and
anything written is in a savepoint of its own.
"""

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from execution.models import HELD_STATES, Execution, State
from execution.stats import PERFORMANCE_WINDOW, overdue_schedule, paused_seconds, percentile
from jobs.models import Job
from monitoring.models import NotificationEvent
from monitoring.notifications.delivery import notify, resume_stalled
from monitoring.notifications.payloads import missed_payload, run_payload
from monitoring.notifications.rules import any_rule_for

logger = logging.getLogger("monitoring.notifications")

SLOW_FACTOR = 3
SLOW_MIN_RUNS = 3
FINISH_EVENTS = {
    State.FAILED: NotificationEvent.FAILED,
    State.SUCCEEDED: NotificationEvent.SUCCEEDED,
    State.STOPPED: NotificationEvent.STOPPED,
}


def run_finished(execution: Execution, retry: Execution | None) -> None:
    """The receiver's work (monitoring/signals.py)."""
    try:
        with transaction.atomic():
            execution = Execution.objects.select_related("job").get(pk=execution.pk)
            event = FINISH_EVENTS.get(execution.state)
            if event and retry is None:
                notify(event, execution.job, run_payload(event, execution), execution=execution)
            check_slow(execution)
    except Exception:
        logger.exception("Notifications for the end of execution #%s failed", execution.pk)


def slow_threshold(execution: Execution) -> dict | None:
    """`{"threshold_seconds", "reason"}` for the run's job, or None when it has no measure yet."""
    expected = execution.job.effective_config.get("expected_seconds")
    if expected:
        return {
            "threshold_seconds": float(expected),
            "reason": f"longer than expected_seconds ({expected} s)",
        }
    runs = (
        execution.job.executions.filter(
            state=State.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False
        )
        .exclude(pk=execution.pk)
        .order_by("-id")
        .values_list("started_at", "finished_at")[:PERFORMANCE_WINDOW]
    )
    durations = [(finished - started).total_seconds() for started, finished in runs]
    if len(durations) < SLOW_MIN_RUNS:
        return None
    median = percentile(durations, 0.5)
    return {
        "threshold_seconds": round(SLOW_FACTOR * median, 3),
        "reason": f"longer than {SLOW_FACTOR}x the median of the last {len(durations)} successful runs ({median} s)",
    }


def check_slow(execution: Execution) -> bool:
    """Announce the run as slow if it is (once per channel: deliveries are unique per run and event)."""
    duration = execution.duration_seconds
    if duration is None or not any_rule_for(NotificationEvent.SLOW):
        return False
    threshold = slow_threshold(execution)
    # Paused time is not running time (asked only of a run already past the threshold).
    if threshold is None or duration <= threshold["threshold_seconds"]:
        return False
    elapsed = round(duration - paused_seconds(execution), 3)
    if elapsed <= threshold["threshold_seconds"]:
        return False
    payload = run_payload(NotificationEvent.SLOW, execution, slow={**threshold, "elapsed_seconds": elapsed})
    return bool(notify(NotificationEvent.SLOW, execution.job, payload, execution=execution))


def check_running_runs() -> int:
    """Slow runs among those still going (the periodic check)."""
    if not any_rule_for(NotificationEvent.SLOW):
        return 0
    running = Execution.objects.filter(state__in=HELD_STATES, started_at__isnull=False).select_related("job")
    return sum(check_slow(execution) for execution in running)


def check_missed_slots(now=None) -> int:
    """Scheduled slots that did not start (the periodic check)."""
    if not any_rule_for(NotificationEvent.MISSED):
        return 0
    now = now or timezone.now()
    jobs = Job.objects.filter(config__schedule__isnull=False).annotate(
        last_queued=Max("executions__queued_at")
    )
    sent = 0
    for job in jobs:
        overdue = overdue_schedule(job, job.last_queued, now)
        if overdue:
            payload = missed_payload(job, overdue)
            sent += bool(notify(NotificationEvent.MISSED, job, payload, slot=overdue["expected_at"]))
    return sent


def periodic_check() -> dict:
    """Every minute (a django-q2 Schedule created by `manage.py initialize`)."""
    with transaction.atomic():
        return {
            "slow": check_running_runs(),
            "missed": check_missed_slots(),
            "resumed": resume_stalled(timezone.now()),
        }
