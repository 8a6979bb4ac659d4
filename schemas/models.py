from django.db import models, transaction

from execution.engine.validation import SchemaDefinitionError, compile_schema
from jobs.models import Component, name_validator


class FieldType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"


class Severity(models.TextChoices):
    ERROR = "error", "error (the row is invalid)"
    WARNING = "warning", "warning (reported, the row is kept)"


class Schema(models.Model):
    """The shape of a table: ordered fields with constraints, plus cross-field
    rules. Every change bumps `version` and keeps a snapshot (SchemaVersion),
    so a job pinned to an older version still validates the same way."""

    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    description = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def audit_snapshot(self) -> dict:
        return {"version": self.version, **self.definition()}

    def definition(self) -> dict:
        """The schema as the plain dict the validator and the engine take."""
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "fields": [field.as_dict() for field in self.fields.all()],
            "rules": [rule.as_dict() for rule in self.rules.all()],
        }

    @transaction.atomic
    def save_definition(self, *, fields: list[dict] | None = None, rules: list[dict] | None = None) -> None:
        """Save this schema (new or changed) as a new version: replace the
        fields and/or rules given, bump the version, snapshot the result."""
        if self.pk is not None:
            # Lock the row so two concurrent edits cannot both become version N+1.
            current = Schema.objects.select_for_update().only("version").get(pk=self.pk)
            self.version = current.version + 1
        self.save()
        if fields is not None:
            self.fields.all().delete()
            SchemaField.objects.bulk_create(
                SchemaField.from_dict(self, position, item) for position, item in enumerate(fields)
            )
        if rules is not None:
            self.rules.all().delete()
            ValidationRule.objects.bulk_create(
                ValidationRule.from_dict(self, position, item) for position, item in enumerate(rules)
            )
        # A viewset may have prefetched the old fields/rules; read the new ones.
        self._prefetched_objects_cache = {}
        SchemaVersion.objects.create(schema=self, version=self.version, definition=self.definition())

    def definition_at(self, version: int) -> dict | None:
        """A saved version's definition, or None if there is no such version."""
        snapshot = self.versions.filter(version=version).first()
        return snapshot.definition if snapshot else None

    def jobs_using(self) -> list[str]:
        """Names of jobs with a `validate` component that names this schema."""
        return sorted(
            set(
                Component.objects.filter(type="validate", config__schema=self.name).values_list(
                    "job__name", flat=True
                )
            )
        )


class SchemaField(models.Model):
    schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.STRING)
    required = models.BooleanField(default=False, help_text="The column (or record key) must be present.")
    nullable = models.BooleanField(default=True, help_text="A present value may be null.")
    description = models.TextField(blank=True, default="")
    constraints = models.JSONField(default=dict, blank=True)
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["schema", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "name"], name="unique_field_name_per_schema")
        ]

    def __str__(self):
        return f"{self.schema.name}.{self.name}"

    @classmethod
    def from_dict(cls, schema: Schema, position: int, item: dict) -> "SchemaField":
        return cls(
            schema=schema,
            position=position,
            name=item["name"],
            type=item.get("type", FieldType.STRING),
            required=item.get("required", False),
            nullable=item.get("nullable", True),
            description=item.get("description", ""),
            constraints=item.get("constraints") or {},
            examples=item.get("examples") or [],
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "nullable": self.nullable,
            "description": self.description,
            "constraints": dict(self.constraints),
            "examples": list(self.examples),
        }


class ValidationRule(models.Model):
    """A named cross-field check: a SQL boolean expression over the fields."""

    schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    expression = models.TextField(
        help_text="SQL boolean expression, e.g. `arr_time IS NULL OR dep_time IS NOT NULL`."
    )
    message = models.CharField(max_length=500, blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)

    class Meta:
        ordering = ["schema", "position"]
        constraints = [models.UniqueConstraint(fields=["schema", "name"], name="unique_rule_name_per_schema")]

    def __str__(self):
        return f"{self.schema.name}:{self.name}"

    @classmethod
    def from_dict(cls, schema: Schema, position: int, item: dict) -> "ValidationRule":
        return cls(
            schema=schema,
            position=position,
            name=item["name"],
            expression=item["expression"],
            message=item.get("message", ""),
            severity=item.get("severity", Severity.ERROR),
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "expression": self.expression,
            "message": self.message,
            "severity": self.severity,
        }


class SchemaVersion(models.Model):
    """An immutable snapshot of a schema as it was at one version."""

    schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schema", "-version"]
        constraints = [models.UniqueConstraint(fields=["schema", "version"], name="unique_schema_version")]

    def __str__(self):
        return f"{self.schema.name} v{self.version}"


def check_definition(fields: list[dict], rules: list[dict]) -> None:
    """Raise SchemaDefinitionError (naming the field or rule) unless the fields
    and rules compile and every field's example values are valid for it."""
    compile_schema({"fields": fields, "rules": rules})
    for item in fields:
        examples = item.get("examples") or []
        if not isinstance(examples, list):
            raise SchemaDefinitionError("'examples' must be a list of values.", field=item["name"])
        # Each example is checked alone, so `unique` and `required` do not apply.
        alone = {
            **item,
            "required": False,
            "constraints": {**(item.get("constraints") or {}), "unique": False},
        }
        report = compile_schema({"fields": [alone]}).report_records(
            [{item["name"]: v} for v in examples], limit=1
        )
        if report["errors"]:
            problem = report["errors"][0]
            raise SchemaDefinitionError(
                f"example #{problem['row']} is not valid: {problem['message']}.", field=item["name"]
            )
