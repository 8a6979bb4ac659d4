"""Turning the engine's progress and results into what an Execution stores."""

import time

from django.db import transaction
from django.dispatch import Signal

from contexts.resolution import redact
from execution.engine.registry import SINK, get_spec
from execution.engine.runner import Progress, RunResult
from execution.incremental.state import apply_states
from execution.models import Execution, ExecutionRejects, rejects_root

REJECT_SAMPLE_ROWS = 5

# Sent with `execution` and `metrics` (the `metric` components' values) inside
# the transaction that saves a run's result, so what a receiver writes commits
# with it: monitoring keeps them as queryable series (/metrics/custom).
run_metrics_saved = Signal()


class ThroughputSamples:
    """[seconds since the run started, rows read so far] pairs, kept in the
    Execution's `progress` ("samples") at each heartbeat: the execution page
    draws rows per second over time from them. At most one a second; past
    MAX_POINTS every other one goes and the spacing doubles, so a run of any
    length keeps a few hundred points."""

    EVERY_SECONDS = 1.0
    MAX_POINTS = 240

    def __init__(self):
        self.started = time.monotonic()
        self.every = self.EVERY_SECONDS
        self.points: list[list[float]] = [[0.0, 0]]

    def add(self, rows_read: int, *, last: bool = False) -> list[list[float]]:
        seconds = round(time.monotonic() - self.started, 2)
        if last or seconds - self.points[-1][0] >= self.every:
            self.points.append([seconds, rows_read])
        if len(self.points) > self.MAX_POINTS:
            self.points = self.points[:-1:2] + self.points[-1:]
            self.every *= 2
        return self.points


def sink_names(components: list[dict]) -> set[str]:
    return {c["name"] for c in components if get_spec(c["type"]).kind == SINK}


def progress_fields(progress: Progress, sinks: set[str], samples: list | None = None) -> dict:
    """The Execution fields a heartbeat (or the end of a run) updates."""
    counters = progress.components
    shown = {"percent": progress.percent, "rows_read": progress.rows_read}
    if samples:
        shown["samples"] = samples
    return {
        "progress": shown,
        "counters": counters,
        "rows_read": progress.rows_read,
        "rows_written": sum(c["rows_in"] for name, c in counters.items() if name in sinks),
        "rows_rejected": sum(c["rows_rejected"] for c in counters.values()),
    }


def save_result(
    execution: Execution,
    result: RunResult,
    sinks: set[str],
    secrets: list[str],
    samples: ThroughputSamples | None = None,
) -> None:
    """Counters, custom metrics and reject files of a finished run."""
    files = [_write_rejects(execution, component, rows) for component, rows in result.rejects.items()]
    points = samples.add(result.progress.rows_read, last=True) if samples else None
    fields = progress_fields(result.progress, sinks, points)
    fields["progress"]["percent"] = 100.0
    with transaction.atomic():
        Execution.objects.filter(pk=execution.pk).update(
            custom_metrics=result.metrics, files=result.files, **fields
        )
        run_metrics_saved.send(__name__, execution=execution, metrics=result.metrics)
        if result.states:
            # The new watermarks commit with the result of the run whose sinks just committed.
            apply_states(execution, result.states)
        for component, relative_path, rows in files:
            ExecutionRejects.objects.update_or_create(
                execution=execution,
                component=component,
                defaults={
                    "path": relative_path,
                    # The counter is exact; the file holds at most the engine's kept rows.
                    "rows": result.components.get(component, {}).get("rows_rejected", rows.height),
                    "sample": _sample(rows, secrets),
                },
            )


def _write_rejects(execution: Execution, component: str, rows):
    relative_path = f"{execution.pk}/{component}.csv"
    path = rejects_root() / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.write_csv(path)
    return component, relative_path, rows


def _sample(rows, secrets) -> list[dict]:
    sample = rows.head(REJECT_SAMPLE_ROWS).to_dicts()
    return [
        {key: redact(str(value), secrets) if isinstance(value, str) else value for key, value in row.items()}
        for row in sample
    ]
