"""django-q2 entry points (the `func` of every task and schedule we enqueue)."""

from execution.lifecycle import run_finished
from execution.models import FINISHED_STATES, Execution
from execution.reaper import reap_abandoned_executions as _reap
from execution.scheduling import start_scheduled_run
from execution.worker import run_execution as _run


def run_execution(execution_id: int) -> str:
    """Claim and run one execution; then retries and downstream jobs (unless
    the run was not ours to finish: not claimed, or ended by the reaper, which
    saw to those itself)."""
    outcome = _run(execution_id)
    if outcome in FINISHED_STATES:
        run_finished(Execution.objects.select_related("job").get(pk=execution_id))
    return outcome


def run_scheduled(job_id: int, scheduled_for: str | None = None) -> int | None:
    execution = start_scheduled_run(job_id, scheduled_for)
    return execution.pk if execution else None


def reap_abandoned_executions() -> list[int]:
    return _reap()
