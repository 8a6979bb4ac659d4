"""`/api/v1/jobs/{id}/state?context=NAME`: read, set (PUT) or reset (DELETE)
a job's incremental state in one context.

Reading needs what reading the job needs; PUT and DELETE need the right to
edit the job (`jobs.change_job` and its default context). PUT replaces the
whole state of that context with the components given. Nothing changes while
a run of the job in that context is active (409).
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record
from contexts.access import usable_contexts
from etlsite.errors import Conflict
from execution.incremental.state import UNDECIDED, resolve_pending
from execution.models import ACTIVE_STATES, IncrementalState, PendingState
from execution.views import JobScopedMixin
from jobs.access import may_edit_job

CONTEXT = OpenApiParameter("context", str, description="Context name; default: the job's default context.")
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


def _is_file_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and set(entry) == set(FILE_FIELDS)
        and all(
            isinstance(entry[key], kind) and not isinstance(entry[key], bool)
            for key, kind in FILE_FIELDS.items()
        )
    )


class JobStateView(JobScopedMixin, APIView):
    @property
    def required_permission(self):
        return None if self.request.method in SAFE_METHODS else "jobs.change_job"

    def context_name(self, job) -> str:
        name = self.request.query_params.get("context")
        if name is None and self.request.method == "PUT" and isinstance(self.request.data, dict):
            # A PUT may carry the GET's shape back, its "context" included.
            name = self.request.data.get("context")
        if name is None:
            return job.default_context.name if job.default_context else ""
        if not usable_contexts(self.request.user).filter(name=name).exists():
            raise serializers.ValidationError({"context": [f"No context named {name!r}."]})
        return name

    def editable(self):
        job = self.get_job()
        if not may_edit_job(self.request.user, job):
            raise PermissionDenied("You may not change this job: its default context is not one you may use.")
        context_name = self.context_name(job)
        active = job.executions.filter(context_name=context_name, state__in=ACTIVE_STATES)
        if active.exists():
            raise Conflict(
                f"Job {job.name!r} has an active run in this context; stop it or wait before changing its state.",
                details={"active_executions": list(active.values_list("id", flat=True))},
            )
        for pending in PendingState.objects.filter(execution__job=job, execution__context_name=context_name):
            if resolve_pending(pending.execution) == UNDECIDED:
                raise Conflict(
                    f"Execution #{pending.execution_id}'s load is not settled yet; try again later."
                )
        return job, context_name

    @extend_schema(responses={200: dict}, parameters=[CONTEXT])
    def get(self, request, job_id):
        """The job's incremental state in a context (default: its default context)."""
        job = self.get_job()
        return Response(state_body(job, self.context_name(job)))

    @extend_schema(request=dict, responses={200: dict}, parameters=[CONTEXT])
    def put(self, request, job_id):
        """Replace the state: `{"components": {"<name>": {"watermark", "files"}}}`."""
        job, context_name = self.editable()
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"components": ['Give an object with "components".']})
        components = check_state(job, context_name, request.data.get("components"))
        before = state_body(job, context_name)
        with transaction.atomic():
            IncrementalState.objects.filter(job=job, context_name=context_name).delete()
            for name, state in components.items():
                IncrementalState.objects.create(job=job, context_name=context_name, component=name, **state)
            after = state_body(job, context_name)
            record(request, "set_state", job, before=before, after=after)
        return Response(after)

    @extend_schema(responses={204: None}, parameters=[CONTEXT])
    def delete(self, request, job_id):
        """Reset: the next run reads everything again."""
        job, context_name = self.editable()
        before = state_body(job, context_name)
        with transaction.atomic():
            IncrementalState.objects.filter(job=job, context_name=context_name).delete()
            record(request, "reset_state", job, before=before, after=state_body(job, context_name))
        return Response(status=status.HTTP_204_NO_CONTENT)
