from django.conf import settings
from django.db import transaction
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from accounts.access import name_taken
from accounts.serializers import VisibleJobField
from contexts.access import usable_contexts
from contexts.models import Context
from contexts.resolution import secret_placeholder_problems
from contexts.values import ParameterType
from etlsite.errors import Conflict
from etlsite.serializers import ModelSerializer, StrictFieldsMixin
from execution.engine.graph import validate_components
from jobs.access import hidden_job_names
from jobs.config import JobConfigSerializer
from jobs.models import Job, JobDependency, JobVersion, name_validator
from jobs.versions import definition_for


class ComponentListSerializer(serializers.ListSerializer):
    def get_attribute(self, job):
        # A method as `source` would cost an inspect.signature() per job (DRF's is_simple_callable).
        return job.component_dicts()

    def to_representation(self, components):
        # `Job.component_dicts()`: shown as the engine takes them and as /jobs/{id}/components answers.
        return components


class ComponentSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=63)
    type = serializers.CharField(max_length=50)
    inputs = serializers.ListField(child=serializers.CharField(max_length=130), required=False, default=list)
    config = serializers.DictField(required=False, default=dict)

    class Meta:
        list_serializer_class = ComponentListSerializer


def validate_component_graph(components: list[dict]) -> list[dict]:
    """Check the graph with the engine's registry; one 400 lists every problem."""
    problems = validate_components(components, data_roots=settings.ETL_DATA_ROOTS)
    if problems:
        raise serializers.ValidationError(
            [{"component": p.component, "field": p.field, "message": p.message} for p in problems]
        )
    return components


class UpstreamListSerializer(serializers.ListSerializer):
    def get_attribute(self, job):
        return job.upstream_dicts()

    def to_representation(self, links):
        # `Job.upstream_dicts()`: already `{"id", "job", "condition"}`.
        return links


class UpstreamSerializer(StrictFieldsMixin, serializers.Serializer):
    """A dependency given in the job payload: `{"job": "<upstream name>", "condition": ...}`."""

    id = serializers.IntegerField(read_only=True)
    job = VisibleJobField(queryset=Job.objects.all(), source="upstream")
    condition = serializers.ChoiceField(
        choices=JobDependency.Condition.choices, default=JobDependency.Condition.ON_SUCCESS
    )

    class Meta:
        list_serializer_class = UpstreamListSerializer


class UsableContextField(serializers.SlugRelatedField):
    """A context by name, among those the caller may use: a hidden one answers
    exactly like a name that does not exist."""

    default_error_messages = {"does_not_exist": "No context named '{value}'."}

    def __init__(self, **kwargs):
        super().__init__(slug_field="name", queryset=Context.objects.all(), **kwargs)

    def get_queryset(self):
        # Without a request (an internal caller, not a person) every context may be named.
        request = self.context.get("request")
        return usable_contexts(request.user) if request is not None else super().get_queryset()


class JobConfigField(JobConfigSerializer):
    """Written as the job's stored config; read as its effective config (defaults filled in)."""

    def get_attribute(self, job):
        return job.effective_config

    def to_representation(self, config):
        return config


class JobSerializer(StrictFieldsMixin, ModelSerializer):
    default_context = UsableContextField(allow_null=True, required=False)
    config = JobConfigField(required=False)
    components = ComponentSerializer(many=True, required=False, source="component_list")
    depends_on = UpstreamSerializer(
        source="upstream_list",
        many=True,
        required=False,
        help_text="Upstream jobs this job runs after. Replaces the job's current upstream list.",
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "description",
            "default_context",
            "config",
            "components",
            "depends_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "name": {"validators": [name_validator, UniqueValidator(Job.objects.all(), name_taken("job"))]}
        }

    def validate_components(self, components):
        return validate_component_graph(components)

    def to_representation(self, job):
        data = super().to_representation(job)
        if self._hidden_job_names:
            data["depends_on"] = [d for d in data["depends_on"] if d["job"] not in self._hidden_job_names]
        return data

    @cached_property
    def _hidden_job_names(self) -> frozenset[str]:
        """Upstream jobs the caller may not see are neither shown nor replaced. Read
        once per serializer: a list's items share one child serializer."""
        request = self.context.get("request")
        return hidden_job_names(request) if request is not None else frozenset()

    def validate(self, attrs):
        self._refuse_misplaced_secrets(attrs)
        upstreams = attrs.get("upstream_list")
        if upstreams is not None and self.instance is not None:
            for item in upstreams:
                if item["upstream"].pk == self.instance.pk:
                    raise serializers.ValidationError({"depends_on": ["A job cannot depend on itself."]})
                if JobDependency.would_create_cycle(item["upstream"], self.instance):
                    raise serializers.ValidationError(
                        {
                            "depends_on": [
                                f"Depending on {item['upstream'].name!r} would create a cycle of jobs."
                            ]
                        }
                    )
        return attrs

    def _refuse_misplaced_secrets(self, attrs):
        """A secret parameter of the default context used outside a secret field
        is refused now, not only when the job starts."""
        context = attrs.get("default_context", getattr(self.instance, "default_context", None))
        if context is None:
            return
        if "component_list" in attrs:
            components = attrs["component_list"]
        else:
            components = self.instance.component_dicts() if self.instance else []
        secret_names = set(
            context.parameters.filter(type=ParameterType.SECRET).values_list("name", flat=True)
        )
        problems = secret_placeholder_problems(components, secret_names)
        if problems:
            raise serializers.ValidationError(
                {
                    "components": [
                        {"component": path.split(".")[1], "field": path.split(".", 2)[2], "message": message}
                        for path, message in problems
                    ]
                }
            )

    @transaction.atomic
    def create(self, validated_data):
        components = validated_data.pop("component_list", [])
        upstreams = validated_data.pop("upstream_list", [])
        job = Job.objects.create(**validated_data)
        job.replace_components(components)
        self._replace_upstreams(job, upstreams)
        return Job.objects.with_graph().get(pk=job.pk)

    @transaction.atomic
    def update(self, job, validated_data):
        components = validated_data.pop("component_list", None)
        upstreams = validated_data.pop("upstream_list", None)
        if "config" in validated_data:
            # A partial update merges config keys; a full update replaces them.
            config = validated_data.pop("config")
            job.config = {**job.config, **config} if self.partial else config
        for attr, value in validated_data.items():
            setattr(job, attr, value)
        job.save()
        if components is not None:
            job.replace_components(components)
        if upstreams is not None:
            self._replace_upstreams(job, upstreams)
        return Job.objects.with_graph().get(pk=job.pk)

    def _replace_upstreams(self, job, upstreams):
        job.__dict__.pop("upstream_rows", None)  # read with the job: no longer what is saved
        job.upstream_links.exclude(upstream__name__in=self._hidden_job_names).delete()
        # A PATCH does not fill in the nested default (DRF's partial updates), hence the get.
        JobDependency.objects.bulk_create(
            JobDependency(
                upstream=item["upstream"],
                downstream=job,
                condition=item.get("condition", JobDependency.Condition.ON_SUCCESS),
            )
            for item in upstreams
        )


class JobDependencySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A dependency edge as /jobs/{id}/dependencies shows and takes it; the view's
    job (`view.job`) is the downstream end."""

    upstream = VisibleJobField(queryset=Job.objects.all())
    downstream = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = JobDependency
        fields = ["id", "upstream", "downstream", "condition", "created_at"]
        read_only_fields = ["created_at"]

    def validate_upstream(self, upstream):
        job = self.context["view"].job
        if upstream.pk == job.pk:
            raise serializers.ValidationError("A job cannot depend on itself.")
        if JobDependency.objects.filter(upstream=upstream, downstream=job).exists():
            raise Conflict(f"{job.name!r} already depends on {upstream.name!r}.")
        if JobDependency.would_create_cycle(upstream, job):
            raise serializers.ValidationError(f"Depending on {upstream.name!r} would create a cycle of jobs.")
        return upstream

    def create(self, validated_data):
        return super().create({**validated_data, "downstream": self.context["view"].job})


class JobVersionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = JobVersion
        fields = ["version", "created_at", "created_by", "via", "summary"]
        read_only_fields = fields

    def get_created_by(self, version) -> str | None:
        return version.created_by_name or None


class JobVersionDetailSerializer(JobVersionSerializer):
    """A version and the job as it was: `name`, `description`, `default_context`,
    `config` (the settings it set), `depends_on` and `components`."""

    def to_representation(self, version):
        request = self.context.get("request")
        hidden = hidden_job_names(request) if request is not None else frozenset()
        return {**super().to_representation(version), **definition_for(version, hidden)}
