"""Job-level figures computed from its executions: progress, health,
performance and statistics."""

import zoneinfo
from datetime import datetime, timedelta
from statistics import quantiles

from croniter import croniter
from django.db.models import Count, Max, Sum
from django.utils import timezone

from execution.charts import throughput_points
from execution.models import Execution, State
from jobs.models import Job

# Health looks at this many recent finished runs.
HEALTH_WINDOW = 20
PERFORMANCE_WINDOW = 50
# Consecutive failures from which a job is "failing" (fewer, but some: "degraded").
FAILING_AFTER = 3
# A success rate under this over the window makes a job "degraded".
DEGRADED_BELOW = 0.8
# How late a scheduled run may be before the job counts as overdue.
OVERDUE_GRACE = timedelta(minutes=5)


def rows_per_second(rows: int, seconds: float | None) -> float | None:
    return round(rows / seconds, 1) if seconds else None


# Time spent in these after the start is not running time: paused, or queued
# again after a resume until its worker takes it back.
NOT_RUNNING = (State.PAUSED, State.QUEUED)


def paused_seconds(execution: Execution, now: datetime | None = None) -> float:
    """How long the run stood still since it started (from its state events)."""
    if not execution.started_at:
        return 0.0
    changes = (
        execution.events.filter(created_at__gte=execution.started_at)
        .exclude(to_state="")
        .order_by("id")
        .values_list("created_at", "to_state")
    )
    total, since = 0.0, None
    for at, state in changes:
        if state in NOT_RUNNING and since is None:
            since = at
        elif state not in NOT_RUNNING and since is not None:
            total += (at - since).total_seconds()
            since = None
    if since is not None:
        total += ((execution.finished_at or now or timezone.now()) - since).total_seconds()
    return round(total, 3)


def progress_of(execution: Execution) -> dict:
    """Elapsed time, the rate and the time left count running time only: they
    stand still while the run is paused."""
    percent = execution.progress.get("percent")
    # One "now" for both: while paused they grow together and elapsed stays put.
    now = timezone.now()
    duration = None
    if execution.started_at:
        duration = round(((execution.finished_at or now) - execution.started_at).total_seconds(), 3)
    paused = paused_seconds(execution, now) if duration else 0.0
    elapsed = None if duration is None else round(max(duration - paused, 0.0), 3)
    eta = None
    if execution.is_active and percent and elapsed and 0 < percent < 100:
        eta = round(elapsed * (100 - percent) / percent, 1)
    return {
        "execution": execution.pk,
        "state": execution.state,
        "percent": percent,
        "rows_read": execution.rows_read,
        "rows_written": execution.rows_written,
        "rows_rejected": execution.rows_rejected,
        "elapsed_seconds": elapsed,
        "paused_seconds": paused,
        "eta_seconds": eta,
        "rows_per_second": rows_per_second(execution.rows_read, elapsed),
        "heartbeat_at": execution.heartbeat_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
    }


def metrics_of(execution: Execution) -> dict:
    components = {}
    for name, counters in execution.counters.items():
        rows = max(counters.get("rows_in", 0), counters.get("rows_out", 0))
        components[name] = {**counters, "rows_per_second": rows_per_second(rows, counters.get("seconds"))}
    elapsed = execution.duration_seconds
    return {
        "execution": execution.pk,
        "state": execution.state,
        "duration_seconds": elapsed,
        "rows_read": execution.rows_read,
        "rows_written": execution.rows_written,
        "rows_rejected": execution.rows_rejected,
        "rows_per_second": rows_per_second(execution.rows_read, elapsed),
        "components": components,
        "custom": execution.custom_metrics,
        "throughput": throughput_points(execution.progress.get("samples") or []),
    }


def last_due(schedule: str, time_zone: str, now: datetime) -> datetime | None:
    """The latest cron slot at or before `now` (None for a schedule croniter refuses)."""
    try:
        local_now = timezone.localtime(now, timezone=zoneinfo.ZoneInfo(time_zone))
        return croniter(schedule, local_now).get_prev(datetime)
    except (ValueError, KeyError):
        return None


def overdue_schedule(job: Job, last_queued_at: datetime | None, now: datetime) -> dict | None:
    """The slot a scheduled job missed: its last due time is more than
    OVERDUE_GRACE ago, the job existed then, and no run was queued since."""
    config = job.effective_config
    if not config.get("schedule") or not config.get("enabled", True):
        return None
    due = last_due(config["schedule"], config.get("timezone") or "UTC", now)
    if due is None or now - due <= OVERDUE_GRACE or due < job.created_at:
        return None
    if last_queued_at is not None and last_queued_at >= due:
        return None
    return {
        "expected_at": due,
        "late_seconds": int((now - due).total_seconds()),
        "last_run_at": last_queued_at,
    }


def health_of(job: Job, now: datetime | None = None) -> dict:
    """A job's health, the one definition (GET /jobs/{id}/health, /health/jobs, the
    job page): "failing" after FAILING_AFTER failures in a row; "degraded" when
    the last run failed, the success rate of the last HEALTH_WINDOW finished
    runs is under DEGRADED_BELOW, or a scheduled run is overdue; else "ok"."""
    now = now or timezone.now()
    recent = list(
        job.executions.filter(state__in=[State.SUCCEEDED, State.FAILED]).order_by("-id")[:HEALTH_WINDOW]
    )
    consecutive = 0
    for execution in recent:
        if execution.state != State.FAILED:
            break
        consecutive += 1
    succeeded = sum(1 for e in recent if e.state == State.SUCCEEDED)
    rate = round(succeeded / len(recent), 3) if recent else None
    last_failure = next((e for e in recent if e.state == State.FAILED), None)
    overdue = overdue_schedule(job, job.executions.aggregate(last=Max("queued_at"))["last"], now)
    reasons = []
    if consecutive >= FAILING_AFTER:
        reasons.append(f"{consecutive} consecutive failures")
    elif consecutive:
        reasons.append(f"the last run failed ({consecutive} in a row)")
    if rate is not None and rate < DEGRADED_BELOW:
        reasons.append(f"success rate {rate:.0%} over the last {len(recent)} runs")
    if overdue:
        reasons.append(f"scheduled run {overdue['late_seconds']} s overdue")
    status = "failing" if consecutive >= FAILING_AFTER else ("degraded" if reasons else "ok")
    return {
        "job": job.pk,
        "status": status,
        "reasons": reasons,
        "window": len(recent),
        "success_rate": rate,
        "consecutive_failures": consecutive,
        "last_failure": last_failure
        and {
            "execution": last_failure.pk,
            "finished_at": last_failure.finished_at,
            "error": last_failure.error,
        },
        "last_success": next(
            ({"execution": e.pk, "finished_at": e.finished_at} for e in recent if e.state == State.SUCCEEDED),
            None,
        ),
        "overdue_schedule": overdue,
    }


def percentile(values: list[float], fraction: float) -> float | None:
    """The `fraction` percentile, interpolated (statistics.quantiles, inclusive); every
    p50/p95 of the API comes from here."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    cuts = quantiles(values, n=100, method="inclusive")
    return round(cuts[int(fraction * 100) - 1], 3)


def performance_of(job: Job) -> dict:
    runs = list(
        job.executions.filter(state=State.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-id")
        .values("id", "started_at", "finished_at", "rows_read", "rows_written")[:PERFORMANCE_WINDOW]
    )
    points = []
    for run in runs:
        seconds = (run["finished_at"] - run["started_at"]).total_seconds()
        points.append(
            {
                "execution": run["id"],
                "finished_at": run["finished_at"],
                "duration_seconds": round(seconds, 3),
                "rows_read": run["rows_read"],
                "rows_written": run["rows_written"],
                "rows_per_second": rows_per_second(run["rows_read"], seconds),
            }
        )
    durations = [p["duration_seconds"] for p in points]
    speeds = [p["rows_per_second"] for p in points if p["rows_per_second"] is not None]
    return {
        "job": job.pk,
        "window": len(points),
        "duration_seconds": {
            "p50": percentile(durations, 0.5),
            "p95": percentile(durations, 0.95),
            "max": max(durations, default=None),
        },
        "rows_per_second": {
            "p50": percentile(speeds, 0.5),
            "mean": round(sum(speeds) / len(speeds), 1) if speeds else None,
        },
        "recent": points,
    }


def statistics_of(job: Job) -> dict:
    executions = job.executions.all()
    by_state = dict(executions.values_list("state").annotate(n=Count("id")).order_by())
    by_trigger = dict(executions.values_list("trigger").annotate(n=Count("id")).order_by())
    totals = executions.aggregate(
        rows_read=Sum("rows_read"), rows_written=Sum("rows_written"), rows_rejected=Sum("rows_rejected")
    )
    return {
        "job": job.pk,
        "executions": sum(by_state.values()),
        "by_state": {state: by_state.get(state, 0) for state in State.values},
        "by_trigger": by_trigger,
        "rows_read": totals["rows_read"] or 0,
        "rows_written": totals["rows_written"] or 0,
        "rows_rejected": totals["rows_rejected"] or 0,
        "first_run": executions.order_by("id").values_list("queued_at", flat=True).first(),
        "last_run": executions.order_by("-id").values_list("queued_at", flat=True).first(),
    }
