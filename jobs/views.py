from functools import partial

from django.db import transaction
from django.db.models import Count, Max, ProtectedError
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import get_object_or_404  # a malformed id is a 404 too
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.access import api_key_job_ids, name_jobs
from accounts.audit import AuditedViewSetMixin, record, snapshot
from etlsite.caching import aggregate, answer_unless_current
from etlsite.configuration import get_setting
from etlsite.errors import Conflict
from etlsite.pagination import PageNumberPagination
from execution.engine.registry import UnknownComponentType, all_specs, get_spec
from jobs.access import may_change_job, sees_every_job, visible_jobs, visible_links
from jobs.config import JobConfigSerializer
from jobs.filters import JobFilterSet
from jobs.models import Job, JobDependency, JobVersion
from jobs.restore import restore_version
from jobs.serializers import (
    ComponentSerializer,
    JobDependencySerializer,
    JobSerializer,
    JobVersionDetailSerializer,
    JobVersionSerializer,
    validate_component_graph,
)
from jobs.versions import record_version

CHANGE_JOB = "jobs.change_job"


@extend_schema_serializer(many=False)  # the list route answers one object of two lists
class JobDependenciesSerializer(serializers.Serializer):
    upstream = JobDependencySerializer(many=True, help_text="Jobs this one runs after.")
    downstream = JobDependencySerializer(many=True, help_text="Jobs that run after this one.")


class JobViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    queryset = Job.objects.with_graph()
    serializer_class = JobSerializer
    filterset_class = JobFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    extra_error_statuses = {"destroy": ("409",)}

    def get_queryset(self):
        return visible_jobs(self.request, super().get_queryset())

    def get_object(self):
        return refuse_unless_changeable(self.request, super().get_object())

    # Clients poll these two: an unchanged answer is a 304 before any job is read in full.
    def list(self, request, *args, **kwargs):
        version = version_of_jobs(request, visible_jobs(request))
        return answer_unless_current(request, version, partial(super().list, request, *args, **kwargs))

    def retrieve(self, request, *args, **kwargs):
        pk = str(kwargs.get("pk", ""))
        version = version_of_jobs(request, visible_jobs(request).filter(pk=pk)) if pk.isdigit() else None
        return answer_unless_current(request, version, partial(super().retrieve, request, *args, **kwargs))

    def perform_create(self, serializer):
        super().perform_create(serializer)
        record_version(serializer.instance, user=self.request.user, via=JobVersion.Via.API)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        record_version(serializer.instance, user=self.request.user, via=JobVersion.Via.API)

    def perform_destroy(self, job):
        active = list(job.executions.active().values_list("pk", flat=True))
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
            record_version(job, user=request.user, via=JobVersion.Via.API)
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
            record_version(job, user=request.user, via=JobVersion.Via.API)
        return Response(job.component_dicts())


def version_of_jobs(request, jobs) -> tuple | None:
    """What an answer showing `jobs` is built from, read without reading them:
    their number and latest change (a rename, a new config), their
    components and upstream links (a replaced row is a new row, with a new
    id), the latest change of their default contexts and upstream jobs, what
    decides which jobs the caller sees, and the run-time default batch size
    their config shows. None when there is no such job (the answer is a 404)."""
    # One query; the joins repeat a job per component and link, hence the distinct counts.
    facts = aggregate(
        jobs,
        count=Count("pk", distinct=True),
        changed=Max("updated_at"),
        context_changed=Max("default_context__updated_at"),
        component_count=Count("components", distinct=True),
        last_component=Max("components__id"),
        link_count=Count("upstream_links", distinct=True),
        last_link=Max("upstream_links__id"),
        upstream_changed=Max("upstream_links__upstream__updated_at"),
    )
    if not facts["count"]:
        return None
    return (*facts.values(), get_setting("default_batch_size"), visibility_of_jobs(request))


def visibility_of_jobs(request) -> tuple:
    """What decides which jobs the caller sees (accounts/access.py): everything,
    or their groups, their API key's jobs and the groups jobs are restricted to
    (a grant added or removed is a row added or removed)."""
    if sees_every_job(request):
        return ("every job",)
    grants = Job.allowed_groups.through.objects.aggregate(count=Count("pk"), last=Max("pk"))
    groups = tuple(request.user.groups.order_by("pk").values_list("pk", flat=True))
    return (request.user.pk, groups, tuple(api_key_job_ids(request)), *grants.values())


def refuse_unless_changeable(request, job: Job) -> Job:
    """A write to a job (or its dependencies) by someone who may not use its
    default context is refused: its next scheduled run would use that context."""
    if request.method not in SAFE_METHODS and not may_change_job(request.user, job):
        raise PermissionDenied(
            f"Job {job.name!r} runs by default in a context you may not use, so you may not "
            "change or delete it; ask an admin or a member of that context's groups."
        )
    return job


@extend_schema(
    parameters=[OpenApiParameter("job_pk", int, OpenApiParameter.PATH, description="The job's id.")]
)
class JobDependencyViewSet(
    AuditedViewSetMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """/jobs/{id}/dependencies: the jobs this one runs after (upstream) and before (downstream)."""

    queryset = JobDependency.objects.select_related("upstream", "downstream")
    serializer_class = JobDependencySerializer
    lookup_url_kwarg = "dependency_id"
    lookup_value_regex = r"\d+"
    pagination_class = None
    filter_backends = []
    # A job's dependencies are part of the job (its `depends_on`).
    action_permissions = {"create": "jobs.change_job", "destroy": "jobs.change_job"}
    extra_error_statuses = {"create": ("409",)}

    @cached_property
    def job(self) -> Job:
        return refuse_unless_changeable(
            self.request, get_object_or_404(visible_jobs(self.request), pk=self.kwargs["job_pk"])
        )

    def get_queryset(self):
        return visible_links(self.request, super().get_queryset().filter(downstream=self.job))

    # A job's dependencies are part of its definition, so each change is a version.
    def perform_create(self, serializer):
        super().perform_create(serializer)
        record_version(self.job, user=self.request.user, via=JobVersion.Via.API)

    def perform_destroy(self, instance):
        super().perform_destroy(instance)
        record_version(self.job, user=self.request.user, via=JobVersion.Via.API)

    @extend_schema(responses={200: JobDependenciesSerializer})
    def list(self, request, job_pk=None):
        """Upstream and downstream jobs with their conditions."""
        links = visible_links(request, super().get_queryset())
        return Response(
            {
                "upstream": self.get_serializer(links.filter(downstream=self.job), many=True).data,
                "downstream": self.get_serializer(links.filter(upstream=self.job), many=True).data,
            }
        )


@extend_schema(
    parameters=[OpenApiParameter("job_pk", int, OpenApiParameter.PATH, description="The job's id.")]
)
class JobVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """/jobs/{id}/versions: the job's history, newest first; each save that changed it is a version."""

    queryset = JobVersion.objects.all()
    serializer_class = JobVersionSerializer
    lookup_field = "number"
    lookup_url_kwarg = "version"
    lookup_value_regex = r"\d+"
    filter_backends = []
    action_permissions = {"restore": CHANGE_JOB}

    @cached_property
    def job(self) -> Job:
        return refuse_unless_changeable(
            self.request, get_object_or_404(visible_jobs(self.request), pk=self.kwargs["job_pk"])
        )

    def get_queryset(self):
        return super().get_queryset().filter(job=self.job).order_by("-number")

    def get_serializer_class(self):
        return JobVersionSerializer if self.action == "list" else JobVersionDetailSerializer

    @extend_schema(request=None, responses=JobVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, job_pk=None, version=None):
        """Make the job what this version was; the restore is itself a new version (audited)."""
        # The version is what the request asks for, so a missing one is bad input (400), not a missing route.
        old = self.get_queryset().filter(number=version).first()
        if old is None:
            numbers = sorted(self.get_queryset().values_list("number", flat=True))
            known = f"1 to {numbers[-1]}" if numbers else "none yet"
            raise serializers.ValidationError(
                {"version": [f"Job {self.job.name!r} has no version {version}; its versions: {known}."]}
            )
        new = restore_version(self.job, old, request)
        return Response(JobVersionDetailSerializer(new, context=self.get_serializer_context()).data)


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
