"""Incremental state: read before a run, saved exactly when its data lands.

The rule (docs/execution.md, "Exactly once"):

1. A run reads the saved state of its job and context (`saved_states`).
2. After the last batch, before any sink commits, the worker records the
   sources' new states and every sink's commit evidence as the run's
   `PendingState` (committed on its own). Database sinks write the run's load
   id into `_etl_loads` inside their own load transaction.
3. A run that succeeds applies the pending state in the transaction that
   saves its result (results.save_result).
4. A run that did not (failed, stopped, killed) is decided from the evidence
   (`resolve_pending`), by the worker at its end or by the reaper after a
   kill, and always before its temporary files are removed: every sink
   committed -> the new state applies; none did -> it is dropped. A kill
   between two sinks' commits leaves the sinks apart whatever the state
   says; the state is then dropped (rows are read again: nothing is skipped)
   and the run's log names the sinks that had committed.
5. A new run of the same job and context first decides every earlier
   finished run's pending state; if one cannot be decided yet (a target is
   unreachable), the run fails before reading anything rather than guess.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contexts.models import Credential
from execution.engine import load_markers
from execution.models import (
    ACTIVE_STATES,
    FINISHED_STATES,
    Execution,
    IncrementalState,
    LogLevel,
    PendingState,
)

logger = logging.getLogger("execution.incremental")

APPLIED, DISCARDED, UNDECIDED = "applied", "discarded", "undecided"


def is_incremental(components: list[dict]) -> bool:
    return any((c.get("config") or {}).get("incremental") for c in components)


def saved_states(job, context_name: str) -> dict[str, dict]:
    rows = IncrementalState.objects.filter(job=job, context_name=context_name or "")
    return {row.component: {"watermark": row.watermark, "files": row.files} for row in rows}


def record_pending(execution, load_id: str, states: dict, evidence: list) -> None:
    PendingState.objects.update_or_create(
        execution=execution, defaults={"load_id": load_id, "states": states, "evidence": evidence}
    )


def apply_states(execution, states: dict) -> None:
    """Save the run's new states (call inside the transaction saving its result)."""
    now = timezone.now()
    for component, state in states.items():
        defaults = {"updated_at": now, "execution_id": execution.pk}
        if "watermark" in state:
            defaults["watermark"] = state["watermark"]
        if "files" in state:
            defaults["files"] = state["files"]
        IncrementalState.objects.update_or_create(
            job_id=execution.job_id,
            context_name=execution.context_name or "",
            component=component,
            defaults=defaults,
        )
    PendingState.objects.filter(execution_id=execution.pk).delete()


def resolve_pending(execution, connections: dict | None = None) -> str | None:
    """Decide a run's pending state from its sinks' evidence: APPLIED,
    DISCARDED, UNDECIDED (a check failed; try again later) or None (nothing pending)."""
    pending = PendingState.objects.filter(execution_id=execution.pk).first()
    if pending is None:
        return None
    committed = {}
    try:
        for evidence in pending.evidence:
            if evidence:
                names = {evidence.get("connection", "")} - {""}
                given = {name: _connection(execution, name, connections or {}) for name in names}
                committed[evidence["component"]] = load_markers.load_committed(
                    evidence, connections=given, data_roots=list(settings.ETL_DATA_ROOTS)
                )
    except Exception as error:  # noqa: BLE001 - a driver, file or credential error: decided later
        logger.warning("Execution %s: its load could not be checked yet: %s", execution.pk, error)
        execution.add_log(
            LogLevel.WARNING,
            f"Could not check yet whether the sinks committed ({error}); state kept pending.",
        )
        return UNDECIDED
    done = sorted(name for name, landed in committed.items() if landed)
    if len(done) == len(committed):
        with transaction.atomic():
            apply_states(execution, pending.states)
            execution.add_log(
                LogLevel.INFO, f"Every sink had committed: saved the new state ({_describe(pending.states)})."
            )
        return APPLIED
    pending.delete()
    if done:
        execution.add_log(
            LogLevel.WARNING,
            f"Only {', '.join(done)} of the sinks had committed: the state was kept as it was, so the "
            "next run reads these rows again (sinks in upsert mode absorb them).",
        )
    else:
        execution.add_log(LogLevel.INFO, "No sink had committed: the state was kept as it was.")
    return DISCARDED


def resolve_earlier(job, context_name: str, exclude_id: int | None = None) -> list[str]:
    """Decide the pending states of the job's finished runs in this context;
    what is still undecided (to refuse a new run on)."""
    earlier = PendingState.objects.filter(
        execution__job=job, execution__context_name=context_name or ""
    ).select_related("execution")
    # Two runs reading the same watermark would load the same rows twice.
    others = Execution.objects.filter(job=job, context_name=context_name or "", state__in=ACTIVE_STATES)
    problems = [f"execution #{e.pk} is still {e.state}" for e in others.exclude(pk=exclude_id)]
    for pending in earlier:
        execution = pending.execution
        if execution.pk == exclude_id or execution.state not in FINISHED_STATES:
            continue
        if resolve_pending(execution) == UNDECIDED:
            problems.append(f"the sinks of execution #{execution.pk} could not be checked yet")
    return problems


def resolve_all_finished() -> None:
    """The reaper's pass: every finished run still holding a pending state."""
    for pending in PendingState.objects.filter(execution__state__in=FINISHED_STATES).select_related(
        "execution"
    ):
        resolve_pending(pending.execution)


def _connection(execution, name: str, connections: dict) -> dict:
    if name in connections:
        return connections[name]
    credential = Credential.objects.filter(context_id=execution.context_id, name=name).first()
    if credential is None:
        raise LookupError(f"the run's context has no credential {name!r} (any more)")
    return credential.connection_dict()


def _describe(states: dict) -> str:
    parts = []
    for component, state in states.items():
        if "watermark" in state:
            parts.append(f"{component}: watermark {state['watermark']!r}")
        if "files" in state:
            parts.append(f"{component}: {len(state['files'])} file(s)")
    return "; ".join(parts) or "nothing"
