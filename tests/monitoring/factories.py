"""Executions as a worker leaves them, created directly (no worker needed)."""

from datetime import timedelta

from django.utils import timezone

from execution.models import Execution, State
from tests.jobs.factories import make_job

__all__ = ["finished_run", "make_job", "run_counters"]


def run_counters(rows: int, rejected: int = 0) -> dict:
    """Counters of tests.jobs.factories.pipeline(): inline rows -> filter -> csv sink."""
    return {
        "rows": {"rows_in": 0, "rows_out": rows, "rows_rejected": 0, "batches": 1, "seconds": 0.0},
        "positive": {
            "rows_in": rows,
            "rows_out": rows - rejected,
            "rows_rejected": 0,
            "batches": 1,
            "seconds": 0.5,
        },
        "out": {
            "rows_in": rows - rejected,
            "rows_out": rows - rejected,
            "rows_rejected": 0,
            "batches": 1,
            "seconds": 0.1,
        },
    }


def finished_run(
    job, state=State.SUCCEEDED, *, rows=10, ago=timedelta(minutes=5), failed_component="positive"
):
    finished_at = timezone.now() - ago
    return Execution.objects.create(
        job=job,
        state=state,
        queued_at=finished_at - timedelta(seconds=30),
        started_at=finished_at - timedelta(seconds=20),
        finished_at=finished_at,
        counters=run_counters(rows),
        error={"component": failed_component, "message": "boom"} if state == State.FAILED else {},
    )
