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
from execution.incremental.state_changes import busy, check_state, replace_state, state_body
from execution.models import IncrementalState
from execution.views import JobScopedMixin
from jobs.access import may_edit_job

CONTEXT = OpenApiParameter("context", str, description="Context name; default: the job's default context.")


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
        conflict = busy(job, context_name)
        if conflict is not None:
            raise conflict
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
            replace_state(job, context_name, components)
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
