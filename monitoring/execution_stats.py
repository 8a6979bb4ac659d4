"""Job, component and execution statistics read from Execution rows, and the
job/component health checks built on them.

Each function counts only the executions of `jobs`, the jobs the caller may
see (accounts.access.visible_jobs), so no figure reveals a job hidden from
them; `None` is the whole system.

Per-component counters are stored on each execution by component name; the
component's type comes from the counters when present, else from the job's
current definition.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.utils import timezone

from execution import stats
from execution.engine.registry import SINK, UnknownComponentType, all_specs, get_spec
from execution.models import ACTIVE_STATES, FINISHED_STATES, Execution, State
from jobs.models import Component
from monitoring.health import DEGRADED, FAILING, OK, worst
from monitoring.models import ArchivedTotal

COMPONENT_HEALTH_WINDOW = timedelta(hours=24)
COMPONENT_FAILING_RATE = 0.5
UNKNOWN_TYPE = "unknown"


def _component_types(job_ids) -> dict[int, dict[str, str]]:
    types = defaultdict(dict)
    for job_id, name, type_name in Component.objects.filter(job_id__in=set(job_ids)).values_list(
        "job_id", "name", "type"
    ):
        types[job_id][name] = type_name
    return types


def _is_sink(type_name: str) -> bool:
    try:
        return get_spec(type_name).kind == SINK
    except UnknownComponentType:
        return False


class CounterReader:
    """Reads executions' per-component counters with the component types resolved."""

    def __init__(self, executions: list[dict]):
        self.types = _component_types(execution["job_id"] for execution in executions)

    def components(self, execution: dict):
        """(type, counters) for each component of one execution."""
        job_types = self.types.get(execution["job_id"], {})
        for name, counters in (execution["counters"] or {}).items():
            if isinstance(counters, dict):
                yield counters.get("type") or job_types.get(name, UNKNOWN_TYPE), counters

    def rows_moved(self, execution: dict) -> int:
        """Rows written by the sinks of one execution."""
        return sum(int(c.get("rows_out", 0)) for t, c in self.components(execution) if _is_sink(t))

    def failed_type(self, execution: dict) -> str | None:
        component = (execution["error"] or {}).get("component")
        if execution["state"] != State.FAILED or not component:
            return None
        counters = (execution["counters"] or {}).get(component) or {}
        return counters.get("type") or self.types.get(execution["job_id"], {}).get(component, UNKNOWN_TYPE)


def _executions_of(jobs):
    return Execution.objects.all() if jobs is None else Execution.objects.filter(job__in=jobs)


def _finished_between(since: datetime, until: datetime, jobs) -> list[dict]:
    return list(
        _executions_of(jobs)
        .filter(finished_at__gte=since, finished_at__lte=until)
        .values("id", "job_id", "state", "counters", "error", "started_at", "finished_at")
    )


def throughput(since: datetime, until: datetime, *, jobs) -> dict:
    """Finished executions, rows moved and failure rate over a window."""
    executions = _finished_between(since, until, jobs)
    reader = CounterReader(executions)
    states = Counter(execution["state"] for execution in executions)
    rows = sum(reader.rows_moved(execution) for execution in executions)
    seconds = max((until - since).total_seconds(), 1.0)
    durations = sorted(
        (e["finished_at"] - e["started_at"]).total_seconds() for e in executions if e["started_at"]
    )
    return {
        "finished": len(executions),
        "by_state": {state: states.get(state, 0) for state in FINISHED_STATES},
        "failure_rate": round(states.get(State.FAILED, 0) / len(executions), 4) if executions else 0.0,
        "executions_per_hour": round(len(executions) * 3600 / seconds, 4),
        "rows_moved": rows,
        "rows_per_second": round(rows / seconds, 4),
        "duration_seconds": {
            "p50": stats.percentile(durations, 0.5),
            "p95": stats.percentile(durations, 0.95),
            "max": round(durations[-1], 3) if durations else None,
        },
    }


def active_counts(*, jobs) -> dict[str, int]:
    counts = dict(
        _executions_of(jobs).filter(state__in=ACTIVE_STATES).values_list("state").annotate(n=Count("id"))
    )
    return {state: counts.get(state, 0) for state in ACTIVE_STATES}


def state_counts(*, jobs) -> dict[str, int]:
    counts = dict(_executions_of(jobs).values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in State.values}


def execution_metrics(since: datetime, until: datetime, *, jobs) -> dict:
    return {
        "window": {"since": since, "until": until},
        "now": active_counts(jobs=jobs),
        **throughput(since, until, jobs=jobs),
    }


def job_metrics(since: datetime, until: datetime, *, jobs) -> list[dict]:
    """Per job: executions by state (all time), and over the window success rate and rows moved."""
    executions = _executions_of(jobs)
    by_state = defaultdict(dict)
    for job_id, state, count in executions.values_list("job_id", "state").annotate(n=Count("id")):
        by_state[job_id][state] = count
    last_runs = dict(executions.values_list("job_id").annotate(last=Max("queued_at")))
    window = _finished_between(since, until, jobs)
    reader = CounterReader(window)
    per_job = defaultdict(list)
    for execution in window:
        per_job[execution["job_id"]].append(execution)
    results = []
    for job in jobs.order_by("name").only("id", "name"):
        runs = per_job.get(job.pk, [])
        succeeded = sum(1 for run in runs if run["state"] == State.SUCCEEDED)
        results.append(
            {
                "job": {"id": job.pk, "name": job.name},
                "executions_by_state": {state: by_state[job.pk].get(state, 0) for state in State.values},
                "finished_in_window": len(runs),
                "success_rate": round(succeeded / len(runs), 4) if runs else None,
                "rows_moved": sum(reader.rows_moved(run) for run in runs),
                "last_run_at": last_runs.get(job.pk),
            }
        )
    return results


def component_metrics(since: datetime, until: datetime, *, jobs, include_idle: bool = False) -> list[dict]:
    """Per component type over the window: runs, rows in/out/rejected, rows/s, failures.
    With include_idle, every type of the catalogue appears, run or not."""
    executions = _finished_between(since, until, jobs)
    reader = CounterReader(executions)
    totals = defaultdict(Counter)
    if include_idle:
        for spec in all_specs():
            totals[spec.type] = Counter()
    for execution in executions:
        for type_name, counters in reader.components(execution):
            total = totals[type_name]
            total["runs"] += 1
            for key in ("rows_in", "rows_out", "rows_rejected", "batches"):
                total[key] += int(counters.get(key, 0))
            total["seconds"] += float(counters.get("seconds", 0.0))
        failed = reader.failed_type(execution)
        if failed:
            totals[failed]["failures"] += 1
    results = []
    for type_name, total in sorted(totals.items()):
        rows = max(total["rows_in"], total["rows_out"])
        runs = max(total["runs"], total["failures"])
        results.append(
            {
                "type": type_name,
                "runs": total["runs"],
                "rows_in": total["rows_in"],
                "rows_out": total["rows_out"],
                "rows_rejected": total["rows_rejected"],
                "batches": total["batches"],
                "seconds": round(total["seconds"], 3),
                "mean_rows_per_second": round(rows / total["seconds"], 1) if total["seconds"] > 0 else None,
                "failures": total["failures"],
                "error_rate": round(total["failures"] / runs, 4) if runs else 0.0,
            }
        )
    return results


def check_jobs(*, jobs) -> dict:
    """Every visible job's health (execution.stats.health_of, the one definition):
    the failing, degraded and overdue ones by name."""
    now = timezone.now()
    failing, degraded, overdue = [], [], []
    checked = list(jobs.order_by("name"))
    for job in checked:
        health = stats.health_of(job, now)
        if health["status"] == "failing":
            failed_at = health["last_failure"]["finished_at"]
            failing.append(
                {"id": job.pk, "name": job.name, "failed_at": failed_at, "reasons": health["reasons"]}
            )
        elif health["status"] == "degraded":
            degraded.append({"id": job.pk, "name": job.name, "reasons": health["reasons"]})
        late = health["overdue_schedule"]
        if late:
            overdue.append(
                {
                    "id": job.pk,
                    "name": job.name,
                    "due_at": late["expected_at"],
                    "last_run_at": late["last_run_at"],
                }
            )
    status = FAILING if failing else (DEGRADED if degraded else OK)
    parts = [
        f"{label}: {', '.join(item['name'] for item in items)}"
        for label, items in (("failing", failing), ("degraded", degraded), ("overdue", overdue))
        if items
    ]
    return {
        "status": status,
        "message": "; ".join(parts) if parts else f"{len(checked)} jobs, none failing, degraded or overdue.",
        "jobs": len(checked),
        "failing": failing,
        "degraded": degraded,
        "overdue": overdue,
    }


def check_components(*, jobs) -> dict:
    """Error rate per component type over the last 24 hours."""
    now = timezone.now()
    types = component_metrics(now - COMPONENT_HEALTH_WINDOW, now, jobs=jobs)
    results = []
    for item in types:
        rate = item["error_rate"]
        status = FAILING if rate >= COMPONENT_FAILING_RATE else (DEGRADED if rate > 0 else OK)
        results.append(
            {
                "type": item["type"],
                "status": status,
                "runs": item["runs"],
                "failures": item["failures"],
                "error_rate": rate,
            }
        )
    overall = worst(result["status"] for result in results)
    troubled = [f"{r['type']} ({r['error_rate']:.0%})" for r in results if r["status"] != OK]
    return {
        "status": overall,
        "message": f"Errors in: {', '.join(troubled)}."
        if troubled
        else "No component errors in the last 24 hours.",
        "window_hours": COMPONENT_HEALTH_WINDOW.total_seconds() / 3600,
        "component_types": results,
    }


def finished_totals(jobs=None) -> dict:
    """All-time finished executions by state and rows moved. For the whole system
    (no `jobs`) that includes the executions the retention job already deleted, so
    Prometheus counters never go down; those belong to no job any more, so they
    are not counted for a list of jobs."""
    archived = dict(ArchivedTotal.objects.values_list("name", "value")) if jobs is None else {}
    finished = _executions_of(jobs).filter(state__in=FINISHED_STATES)
    states = dict(finished.values_list("state").annotate(n=Count("id")))
    executions = list(finished.values("id", "job_id", "state", "counters", "error"))
    reader = CounterReader(executions)
    return {
        "by_state": {
            state: states.get(state, 0) + archived.get(f"executions_{state}", 0) for state in FINISHED_STATES
        },
        "rows_moved": sum(reader.rows_moved(e) for e in executions) + archived.get("rows_moved", 0),
    }
