from django.db import transaction
from rest_framework import serializers

from contexts.models import Context
from etlsite.errors import Conflict
from etlsite.serializers import StrictFieldsMixin
from execution.engine.graph import validate_components
from jobs.config import JobConfigSerializer
from jobs.models import Job, JobDependency


class ComponentListSerializer(serializers.ListSerializer):
    def to_representation(self, components):
        # Shown as the engine takes them and as /jobs/{id}/components answers.
        return [component.as_dict() for component in components]


class ComponentSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=63)
    type = serializers.CharField(max_length=50)
    inputs = serializers.ListField(child=serializers.CharField(max_length=130), required=False, default=list)
    config = serializers.DictField(required=False, default=dict)

    class Meta:
        list_serializer_class = ComponentListSerializer


def validate_component_graph(components: list[dict]) -> list[dict]:
    """Check the graph with the engine's registry; one 400 lists every problem."""
    problems = validate_components(components)
    if problems:
        raise serializers.ValidationError(
            [{"component": p.component, "field": p.field, "message": p.message} for p in problems]
        )
    return components


class UpstreamSerializer(StrictFieldsMixin, serializers.Serializer):
    """A dependency given in the job payload: `{"job": "<upstream name>", "condition": ...}`."""

    id = serializers.IntegerField(read_only=True)
    job = serializers.SlugRelatedField(slug_field="name", source="upstream", queryset=Job.objects.all())
    condition = serializers.ChoiceField(
        choices=JobDependency.Condition.choices, default=JobDependency.Condition.ON_SUCCESS
    )


class JobConfigField(JobConfigSerializer):
    """Written as the job's stored config; read as its effective config (defaults filled in)."""

    def get_attribute(self, job):
        return job.effective_config

    def to_representation(self, config):
        return config


class JobSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    default_context = serializers.SlugRelatedField(
        slug_field="name", queryset=Context.objects.all(), allow_null=True, required=False
    )
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

    def validate_components(self, components):
        return validate_component_graph(components)

    def validate(self, attrs):
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

    @staticmethod
    def _replace_upstreams(job, upstreams):
        job.upstream_links.all().delete()
        JobDependency.objects.bulk_create(
            JobDependency(upstream=item["upstream"], downstream=job, condition=item["condition"])
            for item in upstreams
        )


class JobDependencySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A dependency edge as /jobs/{id}/dependencies shows and takes it; the view's
    job (`view.job`) is the downstream end."""

    upstream = serializers.SlugRelatedField(slug_field="name", queryset=Job.objects.all())
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
