from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from accounts.access import name_jobs
from etlsite.errors import Conflict
from etlsite.serializers import StrictFieldsMixin
from execution.engine.validation import CONSTRAINTS, SchemaDefinitionError
from jobs.models import Job
from schemas.models import FieldType, Schema, Severity, check_definition


class FieldSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=FieldType.choices, default=FieldType.STRING)
    required = serializers.BooleanField(
        default=False, help_text="The column (or record key) must be present."
    )
    nullable = serializers.BooleanField(default=True, help_text="A present value may be null.")
    description = serializers.CharField(allow_blank=True, default="")
    constraints = serializers.DictField(
        default=dict, help_text=f"Any of: {', '.join(CONSTRAINTS)}; format is email, uri or uuid."
    )
    examples = serializers.ListField(
        child=serializers.JSONField(), default=list, help_text="Valid sample values."
    )


class RuleSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expression = serializers.CharField(help_text="SQL boolean expression over the fields.")
    message = serializers.CharField(max_length=500, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.ERROR)


def check_or_400(fields: list[dict], rules: list[dict]) -> None:
    """Compile the definition; a problem becomes a 400 under `fields` or `rules`."""
    try:
        check_definition(fields, rules)
    except SchemaDefinitionError as error:
        raise serializers.ValidationError({"rules" if error.rule else "fields": [str(error)]}) from None


class SchemaBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Schema
        fields = ["id", "name", "version"]


class SchemaSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    current_version = serializers.IntegerField(
        source="version",
        read_only=True,
        help_text="The schema's latest version: differs from `version` when `?version=N` asks for an older one.",
    )

    class Meta:
        model = Schema
        fields = [
            "id",
            "name",
            "description",
            "version",
            "fields",
            "rules",
            "created_at",
            "updated_at",
            "current_version",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]

    @classmethod
    def at_version(cls, schema: Schema, snapshot) -> dict:
        """A saved version in the same shape as the current schema: its definition,
        `updated_at` when that version was saved, `current_version` the latest."""
        moment = serializers.DateTimeField()
        return {
            "id": schema.pk,
            "name": snapshot.definition.get("name", schema.name),
            "description": snapshot.definition.get("description", ""),
            "version": snapshot.version,
            "fields": snapshot.definition.get("fields", []),
            "rules": snapshot.definition.get("rules", []),
            "created_at": moment.to_representation(schema.created_at),
            "updated_at": moment.to_representation(snapshot.created_at),
            "current_version": schema.version,
        }

    def get_fields(self):
        # `fields` is also the name of the serializer's own attribute, so the
        # nested serializer is added here rather than declared on the class.
        declared = super().get_fields()
        limit = settings.ETL_VALIDATE_MAX_COLUMNS
        declared["fields"] = FieldSerializer(
            many=True,
            allow_empty=False,
            max_length=limit,
            error_messages={
                "max_length": f"A schema has at most {limit:,} fields (setting ETL_VALIDATE_MAX_COLUMNS)."
            },
        )
        declared["rules"] = RuleSerializer(many=True, required=False)
        return declared

    def validate(self, attrs):
        current = self.instance.definition() if self.instance else {"fields": [], "rules": []}
        fields = attrs.get("fields", current["fields"])
        rules = attrs.get("rules", current["rules"])
        check_or_400(fields, rules)
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        fields = validated_data.pop("fields")
        rules = validated_data.pop("rules", [])
        schema = Schema(**validated_data)
        schema.save_definition(fields=fields, rules=rules)
        return schema

    @transaction.atomic
    def update(self, schema, validated_data):
        fields = validated_data.pop("fields", None)
        rules = validated_data.pop("rules", None)
        new_name = validated_data.get("name", schema.name)
        if new_name != schema.name and schema.jobs_using():
            jobs = name_jobs(self.context["request"], Job.objects.filter(name__in=schema.jobs_using()))
            raise Conflict(
                f"These jobs validate against {schema.name!r}: {jobs}; renaming it would break them.",
                details=jobs.details(),
            )
        before = _comparable(schema.definition())
        for attr, value in validated_data.items():
            setattr(schema, attr, value)
        after = _comparable(schema.definition())
        if fields is not None:
            after["fields"] = fields
        if rules is not None:
            after["rules"] = rules
        if after != before:  # an unchanged PUT keeps the version
            schema.save_definition(fields=fields, rules=rules)
        return schema


def _comparable(definition: dict) -> dict:
    return {key: value for key, value in definition.items() if key != "version"}


class ValidateRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """JSON body of `POST /schemas/{id}/validate` (or send a CSV/NDJSON/JSON file as `file`)."""

    records = serializers.ListField(child=serializers.JSONField(), allow_empty=True)


class ValidateManyRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """JSON body of `POST /schemas/validate`: one payload against several schemas."""

    schemas = serializers.ListField(
        child=serializers.JSONField(), allow_empty=False, help_text="Schema names or ids."
    )
    records = serializers.ListField(child=serializers.JSONField(), allow_empty=True)


class ValidationErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based position of the record (or data row) in the payload.")
    field = serializers.CharField(allow_null=True, help_text="null for cross-field rules.")
    rule = serializers.CharField(help_text="The constraint (type, pattern, ...) or the rule's name.")
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors_total = serializers.IntegerField()
    warnings_total = serializers.IntegerField()
    errors = ValidationErrorSerializer(many=True)
    errors_shown = serializers.IntegerField(help_text="How many problems `errors` lists (capped by ?limit=).")


class SchemaVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    definition = serializers.JSONField()


class ImportRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["frictionless", "json-schema"],
        required=False,
        help_text="Detected from the document if omitted.",
    )
    name = serializers.CharField(
        max_length=100, required=False, help_text="Defaults to the document's name/title."
    )
    description = serializers.CharField(allow_blank=True, required=False)
    schema = serializers.DictField(help_text="A Frictionless Table Schema or a JSON Schema of one record.")
