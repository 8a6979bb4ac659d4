"""A job's incremental state in one context: read, checked and replaced.

Used by the API (state_api.py), the job page and jobs as code (documents.py,
which the app's ready() registers: so this module stays out of the API layer).
"""

from rest_framework import serializers

from etlsite.errors import Conflict
from execution.incremental.state import UNDECIDED, resolve_pending
from execution.models import ACTIVE_STATES, IncrementalState, PendingState

FILE_FIELDS = {"path": str, "size": int, "mtime": (int, float)}


def incremental_components(job) -> dict[str, dict]:
    """Component name -> its `incremental` settings, for the job's incremental sources."""
    return {
        c["name"]: c["config"]["incremental"]
        for c in job.component_dicts()
        if isinstance((c.get("config") or {}).get("incremental"), dict)
    }


def state_body(job, context_name: str) -> dict:
    rows = IncrementalState.objects.filter(job=job, context_name=context_name).order_by("component")
    return {"context": context_name or None, "components": {row.component: row.as_dict() for row in rows}}


def check_state(job, context_name: str, components) -> dict[str, dict]:
    """The PUT body's components as they will be stored; ValidationError naming the field."""
    if not isinstance(components, dict):
        raise serializers.ValidationError({"components": ["Give an object of component name -> state."]})
    known = incremental_components(job)
    saved = {
        r.component: r.watermark for r in IncrementalState.objects.filter(job=job, context_name=context_name)
    }
    errors, clean = {}, {}
    for name, state in components.items():
        field = f"components.{name}"
        if name not in known:
            errors[field] = [
                f"Job {job.name!r} has no incremental component {name!r}; it has: {', '.join(known) or 'none'}."
            ]
            continue
        if not isinstance(state, dict) or set(state) - {"watermark", "files", "updated_at"}:
            errors[field] = ['Give {"watermark": ..., "files": [...]} (updated_at is ignored).']
            continue
        watermark = state.get("watermark")
        problem = _watermark_problem(watermark, known[name], saved.get(name))
        if problem:
            errors[f"{field}.watermark"] = [problem]
        files = state.get("files", [])
        if not isinstance(files, list) or not all(_is_file_entry(entry) for entry in files):
            errors[f"{field}.files"] = ['Give a list of {"path": text, "size": integer, "mtime": number}.']
        clean[name] = {"watermark": watermark, "files": files if isinstance(files, list) else []}
    if errors:
        raise serializers.ValidationError(errors)
    return clean


def _watermark_problem(watermark, settings: dict, saved) -> str | None:
    if watermark is None:
        return None
    if isinstance(watermark, bool) or not isinstance(watermark, str | int | float):
        return "A watermark is a number or a text (ISO 8601 for dates and times), or null."
    # Its kind must match what the column holds: the saved watermark's, else `initial`'s.
    reference = saved if saved is not None else settings.get("initial")
    if reference is None or settings.get("mode"):
        return None
    if isinstance(reference, str) != isinstance(watermark, str):
        expected = "a text" if isinstance(reference, str) else "a number"
        return f"Column {settings.get('column')!r} holds {expected} watermark (like {reference!r}); got {watermark!r}."
    return None


def busy(job, context_name: str) -> Conflict | None:
    """Why the job's state in this context cannot change now (a run is active,
    or an earlier load is not settled), else None."""
    active = job.executions.filter(context_name=context_name, state__in=ACTIVE_STATES)
    if active.exists():
        return Conflict(
            f"Job {job.name!r} has an active run in this context; stop it or wait before changing its state.",
            details={"active_executions": list(active.values_list("id", flat=True))},
        )
    for pending in PendingState.objects.filter(execution__job=job, execution__context_name=context_name):
        if resolve_pending(pending.execution) == UNDECIDED:
            return Conflict(f"Execution #{pending.execution_id}'s load is not settled yet; try again later.")
    return None


def replace_state(job, context_name: str, components: dict[str, dict]) -> None:
    """Store `components` (as check_state gave them) as the whole state of the job in this context."""
    IncrementalState.objects.filter(job=job, context_name=context_name).delete()
    for name, state in components.items():
        IncrementalState.objects.create(job=job, context_name=context_name, component=name, **state)


def _is_file_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and set(entry) == set(FILE_FIELDS)
        and all(
            isinstance(entry[key], kind) and not isinstance(entry[key], bool)
            for key, kind in FILE_FIELDS.items()
        )
    )
