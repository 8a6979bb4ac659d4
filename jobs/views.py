from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.access import may_change_job, name_jobs, visible_jobs, visible_links
from accounts.audit import AuditedViewSetMixin, record, snapshot
from etlsite.errors import Conflict
from etlsite.pagination import PageNumberPagination
from etlsite.read_cache import CachedReadMixin
from execution.engine.registry import UnknownComponentType, all_specs, get_spec
from execution.models import ACTIVE_STATES
from jobs.config import JobConfigSerializer
from jobs.filters import JobFilterSet
from jobs.models import Job, JobDependency
from jobs.serializers import (
    ComponentSerializer,
    JobDependencySerializer,
    JobSerializer,
    validate_component_graph,
)


class JobDependenciesSerializer(serializers.Serializer):
    upstream = JobDependencySerializer(many=True, help_text="Jobs this one runs after.")
    downstream = JobDependencySerializer(many=True, help_text="Jobs that run after this one.")


class JobViewSet(CachedReadMixin, AuditedViewSetMixin, viewsets.ModelViewSet):
    queryset = Job.objects.select_related("default_context")
    serializer_class = JobSerializer
    cached_answer = "jobs"
    filterset_class = JobFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    extra_error_statuses = {"destroy": ("409",), "add_dependency": ("409",)}

    def get_queryset(self):
        return visible_jobs(self.request, super().get_queryset())

    def get_object(self):
        job = super().get_object()
        if self.request.method not in SAFE_METHODS and not may_change_job(self.request.user, job):
            raise PermissionDenied(
                f"Job {job.name!r} runs by default in a context you may not use, so you may not "
                "change or delete it; ask an admin or a member of that context's groups."
            )
        return job

    # Components and upstream links come as plain rows: a page of 50 jobs has ~100 components.
    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            Job.attach_related_rows(page)
        return page

    def list(self, request, *args, **kwargs):
        return self.cached_read(request, lambda: super(JobViewSet, self).list(request, *args, **kwargs))

    def retrieve(self, request, *args, **kwargs):
        return self.cached_read(request, self._render_job)

    def _render_job(self):
        job = self.get_object()
        Job.attach_related_rows([job])
        return Response(self.get_serializer(job).data)

    def perform_destroy(self, job):
        active = list(job.executions.filter(state__in=ACTIVE_STATES).values_list("pk", flat=True))
        if active:
            raise Conflict(
                f"Job {job.name!r} has active executions ({', '.join(f'#{pk}' for pk in active)}); "
                "stop them or let them finish first.",
                details={"active_executions": active},
            )
        dependents = Job.objects.filter(upstream_links__upstream=job)
        if dependents.exists():
            raise self._depended_on(job, dependents)
        try:
            super().perform_destroy(job)
        except ProtectedError as error:  # a dependency was added meanwhile
            raise self._depended_on(job, dependents) from error

    def _depended_on(self, job, dependents) -> Conflict:
        jobs = name_jobs(self.request, dependents)
        return Conflict(
            f"These jobs depend on {job.name!r}: {jobs}; remove those dependencies first.",
            details=jobs.details("dependents"),
        )

    @extend_schema(request=JobConfigSerializer, responses=JobConfigSerializer)
    @action(detail=True, methods=["get", "put"], url_path="config")
    def config(self, request, pk=None):
        """The job's run settings (batch size, timeout, retries, schedule...)."""
        job = self.get_object()
        if request.method == "PUT":
            serializer = JobConfigSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            before = job.config
            job.config = serializer.validated_data
            job.save(update_fields=["config", "updated_at"])
            record(request, "update", job, before={"config": before}, after={"config": job.config})
        return Response(job.effective_config)

    @extend_schema(request=ComponentSerializer(many=True), responses=ComponentSerializer(many=True))
    @action(
        detail=True, methods=["get", "put"], url_path="components", pagination_class=None, filter_backends=[]
    )
    def components(self, request, pk=None):
        """The component graph; PUT replaces it whole after validating it."""
        job = self.get_object()
        if request.method == "PUT":
            serializer = ComponentSerializer(data=request.data, many=True)
            serializer.is_valid(raise_exception=True)
            try:
                validate_component_graph(serializer.validated_data)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"components": error.detail}) from error
            before = snapshot(job)
            with transaction.atomic():
                job.replace_components(serializer.validated_data)
                job.save(update_fields=["updated_at"])
            record(request, "update", job, before=before, after=snapshot(job))
        return Response(job.component_dicts())

    @extend_schema(responses={200: JobDependenciesSerializer})
    @action(detail=True, methods=["get"], url_path="dependencies", pagination_class=None, filter_backends=[])
    def dependencies(self, request, pk=None):
        """Upstream and downstream jobs with their conditions."""
        job = self.get_object()
        edges = visible_links(request, JobDependency.objects.select_related("upstream", "downstream"))
        return Response(
            {
                "upstream": JobDependencySerializer(edges.filter(downstream=job), many=True).data,
                "downstream": JobDependencySerializer(edges.filter(upstream=job), many=True).data,
            }
        )

    @extend_schema(request=JobDependencySerializer, responses={201: JobDependencySerializer})
    @dependencies.mapping.post
    def add_dependency(self, request, pk=None):
        """Make this job run after `upstream` (by name) with a condition."""
        job = self.get_object()
        serializer = JobDependencySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        upstream = serializer.validated_data["upstream"]
        if upstream.pk == job.pk:
            raise serializers.ValidationError({"upstream": ["A job cannot depend on itself."]})
        if JobDependency.objects.filter(upstream=upstream, downstream=job).exists():
            raise Conflict(f"{job.name!r} already depends on {upstream.name!r}.")
        if JobDependency.would_create_cycle(upstream, job):
            raise serializers.ValidationError(
                {"upstream": [f"Depending on {upstream.name!r} would create a cycle of jobs."]}
            )
        link = serializer.save(downstream=job)
        record(request, "create", link, after=serializer.data)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<dependency_id>\d+)")
    def remove_dependency(self, request, pk=None, dependency_id=None):
        job = self.get_object()
        link = get_object_or_404(
            visible_links(request, JobDependency.objects.all()), pk=dependency_id, downstream=job
        )
        before, link_id = JobDependencySerializer(link).data, link.pk
        link.delete()
        link.pk = link_id
        record(request, "delete", link, before=before)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ComponentTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    kind = serializers.ChoiceField(choices=["source", "transform", "sink", "metric"])
    summary = serializers.CharField()
    description = serializers.CharField()
    config_schema = serializers.JSONField(help_text="JSON Schema (draft 2020-12) of the component's config.")
    example = serializers.JSONField(help_text="A config that passes the schema.")
    inputs = serializers.JSONField(help_text='{"min": n, "max": n or null}')
    outputs = serializers.ListField(child=serializers.CharField())
    blocking = serializers.BooleanField(help_text="Accumulates its whole input before emitting.")
    expression_fields = serializers.DictField(
        child=serializers.ChoiceField(choices=["condition", "scalar", "aggregate"]),
        help_text='Config fields holding SQL expressions and their kind ("columns.*": every key).',
    )
    secret_fields = serializers.ListField(
        child=serializers.CharField(), help_text="Config fields that may take a secret parameter."
    )


class ComponentTypeViewSet(viewsets.ViewSet):
    """The engine's catalogue of component types, each with its config JSON Schema."""

    lookup_field = "type"
    lookup_value_regex = r"[a-z_]+"
    pagination_class = PageNumberPagination

    @extend_schema(
        responses=ComponentTypeSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "kind", enum=["source", "transform", "sink", "metric"], description="Only this kind."
            )
        ],
    )
    def list(self, request):
        specs = [spec.as_dict() for spec in all_specs()]
        kind = request.query_params.get("kind")
        if kind:
            specs = [spec for spec in specs if spec["kind"] == kind]
        paginator = self.pagination_class()
        return paginator.get_paginated_response(paginator.paginate_queryset(specs, request, view=self))

    @extend_schema(responses=ComponentTypeSerializer)
    def retrieve(self, request, type=None):
        try:
            return Response(get_spec(type).as_dict())
        except UnknownComponentType:
            raise NotFound(f"No component type {type!r}.") from None
