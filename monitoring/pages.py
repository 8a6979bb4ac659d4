"""The dashboard at `/`: health, runs in progress, recent failures and two
small server-rendered charts (executions and rows written per day)."""

from datetime import timedelta
from functools import partial

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone

from etlsite.pages import can_control, page
from execution import charts
from execution.models import ACTIVE_STATES, Execution, State
from jobs.access import visible_jobs
from monitoring import execution_stats, health

CHART_DAYS = 14
RECENT_FAILURES = 8
# Only checks that answer quickly; the full report, external services included,
# is GET /api/v1/health.
QUICK_CHECKS = {
    "database": health.check_database,
    "migrations": health.check_migrations,
    "worker": health.check_worker,
}


@page
def dashboard(request):
    jobs = visible_jobs(request)
    executions = Execution.objects.filter(job__in=jobs).select_related("job")
    days = daily_totals(executions, CHART_DAYS)
    context = {
        "section": "dashboard",
        "health": health_summary(jobs),
        "running": executions.filter(state__in=ACTIVE_STATES).order_by("-id"),
        "failures": executions.filter(state=State.FAILED).order_by("-finished_at", "-id")[:RECENT_FAILURES],
        "runs_chart": bar_chart(
            days,
            [("succeeded", "ok"), ("failed", "failed"), ("other", "other")],
            f"Executions per day over the last {CHART_DAYS} days",
        ),
        "rows_chart": bar_chart(
            days, [("rows", "rows")], f"Rows written per day over the last {CHART_DAYS} days"
        ),
        "days": days,
        "totals": {key: sum(day[key] for day in days) for key in ("succeeded", "failed", "other", "rows")},
        "chart_days": CHART_DAYS,
        "can_control": can_control(request.user),
        # The page reloads when this changes, so runs started elsewhere appear.
        "active_total": sum(execution_stats.active_counts(jobs=jobs).values()),
    }
    return render(request, "monitoring/dashboard.html", context)


def health_summary(jobs) -> dict:
    """The quick checks, plus components and jobs over the jobs the user may see."""
    report = health.run_checks(
        {**QUICK_CHECKS, "components": partial(execution_stats.check_components, jobs=jobs)}
    )
    checks = [{"name": name, **check} for name, check in report["checks"].items()]
    job_health = execution_stats.check_jobs(jobs=jobs)
    return {
        "status": health.worst([report["status"], job_health["status"]]),
        "checks": checks,
        "jobs": {key: job_health[key] for key in ("status", "failing", "overdue")},
    }


def daily_totals(executions, days: int) -> list[dict]:
    """Per day (oldest first, including empty days): runs by outcome and rows written
    by the runs that succeeded."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    totals = {
        first + timedelta(days=offset): {"succeeded": 0, "failed": 0, "other": 0, "rows": 0}
        for offset in range(days)
    }
    grouped = (
        executions.filter(queued_at__date__gte=first)
        .annotate(day=TruncDate("queued_at"))
        .values("day", "state")
        .annotate(runs=Count("id"), rows=Sum("rows_written"))
        .order_by()
    )
    for row in grouped:
        day = totals.get(row["day"])
        if day is None:
            continue
        outcome = row["state"] if row["state"] in (State.SUCCEEDED, State.FAILED) else "other"
        day[outcome] += row["runs"]
        # Only a succeeded run's sinks committed; other runs left their targets as they were.
        if row["state"] == State.SUCCEEDED:
            day["rows"] += row["rows"] or 0
    return [{"day": day, **values} for day, values in totals.items()]


# --- SVG bar charts ------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 560, 170


def bar_chart(days: list[dict], series: list[tuple[str, str]], title: str) -> dict:
    """Stacked bars, one per day, with their tooltips, on a y axis with round
    ticks (execution/charts.py; drawn by includes/svg_chart.html)."""
    totals = [sum(day[key] for key, _ in series) for day in days]
    plot = charts.Plot(
        len(days), charts.nice_ticks(max(totals, default=0)), width=CHART_WIDTH, height=CHART_HEIGHT
    )
    slot = (plot.right - plot.left) / max(len(days), 1)
    rects, x_ticks = [], []
    for index, day in enumerate(days):
        x = round(plot.left + index * slot + slot * 0.15, 2)
        parts = (
            ", ".join(f"{day[key]:,} {key}" for key, _ in series)
            if len(series) > 1
            else f"{day[series[0][0]]:,}"
        )
        stacked = 0
        for key, css in series:
            if day[key]:
                top = plot.y(stacked + day[key])
                rects.append(
                    {
                        "x": x,
                        "y": top,
                        "width": round(slot * 0.7, 2),
                        "height": round(plot.y(stacked) - top, 2),
                        "css": css,
                        "title": f"{day['day']:%a %d %b}: {parts}",
                    }
                )
                stacked += day[key]
        # Every other day, always including today.
        if (len(days) - 1 - index) % 2 == 0:
            x_ticks.append({"at": round(x + slot * 0.35, 2), "label": f"{day['day']:%d}"})
    chart = plot.chart(title, rects=rects)
    chart["x_ticks"] = x_ticks
    return chart
