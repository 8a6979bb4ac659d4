"""A job's incremental state as a jobs-as-code document (kind `state`), which
authoring exports on request (`export_jobs --with-state`) and applies like
its own kinds (authoring/extensions.py):

    kind: state
    name: nightly_orders          # the job
    contexts:
    - context: prod               # null: runs without a context
      components:
        orders: {watermark: '2026-11-30T23:59:00+00:00', files: []}

Only watermarks and file lists: no timestamps, no run ids. Applying replaces
the job's state in each context listed (contexts not listed keep theirs),
with the checks and audit of PUT /api/v1/jobs/{id}/state.
"""

from rest_framework import serializers

from accounts.audit import record
from authoring.extensions import DocumentKind
from contexts.access import usable_contexts
from execution.incremental.state_changes import busy, check_state, replace_state, state_body
from execution.models import IncrementalState
from jobs.access import may_edit_job, visible_jobs
from jobs.models import Job

STATE = "state"
# Who an audit event names when the command line applies files (as authoring/apply.py).
COMMAND = "manage.py apply_jobs"


def state_document(job) -> dict | None:
    rows = IncrementalState.objects.filter(job=job).order_by("context_name", "component")
    contexts: dict[str, dict] = {}
    for row in rows:
        contexts.setdefault(row.context_name, {})[row.component] = {
            "watermark": row.watermark,
            "files": row.files,
        }
    if not contexts:
        return None
    return {
        "kind": STATE,
        "name": job.name,
        "contexts": [
            {"context": name or None, "components": components} for name, components in contexts.items()
        ],
    }


def export_states(jobs) -> list[dict]:
    return [document for job in jobs if (document := state_document(job)) is not None]


def current_state(name: str, request) -> dict | None:
    jobs = visible_jobs(request) if request is not None else Job.objects.all()
    job = jobs.filter(name=name).first()
    return state_document(job) if job else None


def apply_state(data: dict, request) -> None:
    jobs = visible_jobs(request) if request is not None else Job.objects.all()
    job = jobs.filter(name=data["name"]).first()
    if job is None:
        raise serializers.ValidationError({"name": [f"No job named {data['name']!r}."]})
    if request is not None and not may_edit_job(request.user, job):
        raise serializers.ValidationError({"name": [f"You may not change job {job.name!r}."]})
    entries = data.get("contexts")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise serializers.ValidationError(
            {"contexts": ['Give a list of {"context": name, "components": {...}}.']}
        )
    for index, entry in enumerate(entries):
        where = f"contexts[{index}]"
        context_name = entry.get("context") or ""
        if set(entry) - {"context", "components"}:
            raise serializers.ValidationError({where: ['Give only "context" and "components".']})
        if (
            context_name
            and request is not None
            and not usable_contexts(request.user).filter(name=context_name).exists()
        ):
            raise serializers.ValidationError({f"{where}.context": [f"No context named {context_name!r}."]})
        try:
            components = check_state(job, context_name, entry.get("components"))
        except serializers.ValidationError as error:
            raise serializers.ValidationError(
                {f"{where}.{field}": messages for field, messages in error.detail.items()}
            ) from None
        conflict = busy(job, context_name)
        if conflict is not None:
            raise serializers.ValidationError({where: [str(conflict.detail)]})
        before = state_body(job, context_name)
        replace_state(job, context_name, components)
        username = COMMAND if request is None else None
        record(
            request, "set_state", job, before=before, after=state_body(job, context_name), username=username
        )


STATE_KIND = DocumentKind(
    kind=STATE,
    folder="state",
    keys=("kind", "name", "contexts"),
    permission="jobs.change_job",
    export=export_states,
    current=current_state,
    write=apply_state,
)
