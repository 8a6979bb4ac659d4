from pathlib import Path

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.access import name_jobs
from accounts.audit import AuditedViewSetMixin, record
from etlsite.errors import Conflict
from execution.engine.validation import compile_schema
from jobs.models import Job
from schemas import exporters, importers
from schemas.examples import example_records
from schemas.filters import SchemaFilterSet
from schemas.inference import SAMPLE_ROWS, infer_from_frame, infer_from_records
from schemas.limits import TimeBudget, refuse_too_many_values
from schemas.models import Schema, SchemaVersion
from schemas.serializers import (
    ImportRequestSerializer,
    RuleSerializer,
    SchemaSerializer,
    SchemaVersionSerializer,
    ValidateManyRequestSerializer,
    ValidateRequestSerializer,
    ValidationResultSerializer,
    check_or_400,
)
from schemas.uploads import Payload, read_payload, refuse_oversized

ERRORS_LIMIT_DEFAULT = 100
ERRORS_LIMIT_MAX = 1000
# Validation runs in slices of about this many values, the time limit checked
# between them; smaller slices would cost more (each plans one query per field).
SLICE_VALUES = 1_000_000
SLICE_MIN_ROWS = 10_000

VERSION_PARAMETER = OpenApiParameter(
    "version", OpenApiTypes.INT, description="A saved version of the schema (default: the current one)."
)
LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    OpenApiTypes.INT,
    description=f"Most problems listed (default {ERRORS_LIMIT_DEFAULT}, max {ERRORS_LIMIT_MAX}).",
)


class MarkdownRenderer(renderers.BaseRenderer):
    """A document as text. An error body (a dict, whatever the route or method)
    is handed to the JSON renderer: errors are always JSON."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        json_renderer = renderers.JSONRenderer()
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = json_renderer.media_type
        return json_renderer.render(data, json_renderer.media_type, renderer_context)


class HTMLDocumentRenderer(MarkdownRenderer):
    media_type = "text/html"
    format = "html"


class SchemaViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    queryset = Schema.objects.prefetch_related("fields", "rules")
    # These POSTs save nothing: reading schemas is enough to call them.
    read_only_actions = ("validate", "validate_many", "infer")
    serializer_class = SchemaSerializer
    filterset_class = SchemaFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "version", "created_at", "updated_at", "id"]
    lookup_value_regex = r"\d+"
    # 409: deleting or renaming a schema jobs validate against; 413: uploads over ETL_UPLOAD_MAX_BYTES.
    extra_error_statuses = {
        "destroy": ("409",),
        "update": ("409",),
        "partial_update": ("409",),
        "validate": ("413",),
        "validate_many": ("413",),
        "infer": ("413",),
        "import_schema": ("413",),
    }

    def perform_destroy(self, schema):
        if schema.jobs_using():
            jobs = name_jobs(self.request, Job.objects.filter(name__in=schema.jobs_using()))
            raise Conflict(
                f"These jobs validate against {schema.name!r}: {jobs}; remove their validate components first.",
                details=jobs.details(),
            )
        super().perform_destroy(schema)

    @extend_schema(parameters=[VERSION_PARAMETER])
    def retrieve(self, request, *args, **kwargs):
        """The schema; `?version=N` returns a saved earlier version."""
        schema = self.get_object()
        if "version" not in request.query_params:
            return Response(self.get_serializer(schema).data)
        return Response(SchemaSerializer.at_version(schema, saved_version(schema, request)))

    @extend_schema(responses=SchemaVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every saved version, newest first (`GET /schemas/{id}?version=N` for one)."""
        schema = self.get_object()
        page = self.paginate_queryset(schema.versions.all())
        return self.get_paginated_response(SchemaVersionSerializer(page, many=True).data)

    @extend_schema(
        request={"application/json": ValidateRequestSerializer, "multipart/form-data": OpenApiTypes.BINARY},
        parameters=[VERSION_PARAMETER, LIMIT_PARAMETER],
        responses=ValidationResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """Validate `{"records": [...]}` or an uploaded CSV/NDJSON/JSON `file`.
        Saves nothing, so reading the schema is enough."""
        budget = TimeBudget()
        schema = self.get_object()
        payload = read_payload(request)
        definition = definition_for(schema, request)
        refuse_too_many_values(payload.rows * width(definition, payload))
        return Response(validation_result(definition, payload, error_limit(request), budget))

    @extend_schema(
        operation_id="schemas_validate_many",
        request={
            "application/json": ValidateManyRequestSerializer,
            "multipart/form-data": OpenApiTypes.BINARY,
        },
        parameters=[LIMIT_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="validate",
        url_name="validate-many",
    )
    def validate_many(self, request):
        """One payload against several schemas (`"schemas": [names or ids]`): a result each."""
        budget = TimeBudget()
        payload = read_payload(request)
        schemas = [schema_by_reference(item) for item in schema_references(request)]
        definitions = [schema.definition() for schema in schemas]
        refuse_too_many_values(sum(payload.rows * width(definition, payload) for definition in definitions))
        limit = error_limit(request)
        results = [
            {
                "schema": {"id": schema.pk, "name": schema.name, "version": schema.version},
                **validation_result(definition, payload, limit, budget),
            }
            for schema, definition in zip(schemas, definitions, strict=True)
        ]
        return Response({"results": results})

    @extend_schema(request=RuleSerializer(many=True), responses=RuleSerializer(many=True))
    @action(
        detail=True,
        methods=["get", "put"],
        url_path="validation-rules",
        pagination_class=None,
        filter_backends=[],
    )
    def validation_rules(self, request, pk=None):
        """The cross-field rules; PUT replaces them all (a new schema version)."""
        schema = self.get_object()
        if request.method == "PUT":
            serializer = RuleSerializer(data=request.data, many=True)
            serializer.is_valid(raise_exception=True)
            rules = serializer.validated_data
            check_or_400(schema.definition()["fields"], rules)
            before = schema.definition()["rules"]
            with transaction.atomic():
                if rules != before:
                    schema.save_definition(rules=rules)
                    record(request, "update", schema, before={"rules": before}, after={"rules": rules})
        return Response(schema.definition()["rules"])

    @extend_schema(
        parameters=[VERSION_PARAMETER],
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "text/html"): OpenApiTypes.STR,
            (200, "application/json"): inline_serializer(
                "SchemaDocumentationJson", {"markdown": serializers.CharField()}
            ),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[MarkdownRenderer, HTMLDocumentRenderer, renderers.JSONRenderer],
    )
    def documentation(self, request, pk=None):
        """Markdown; HTML when asked with `Accept: text/html`; `{"markdown": ...}` for JSON."""
        definition = definition_for(self.get_object(), request)
        if request.accepted_renderer.format == "html":
            return Response(exporters.to_html(definition))
        if request.accepted_renderer.format == "json":
            return Response({"markdown": exporters.to_markdown(definition)})
        return Response(exporters.to_markdown(definition))

    @extend_schema(parameters=[VERSION_PARAMETER], responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="json-schema")
    def json_schema(self, request, pk=None):
        """A JSON Schema (draft 2020-12) of one record."""
        return Response(exporters.to_json_schema(definition_for(self.get_object(), request)))

    @extend_schema(parameters=[VERSION_PARAMETER], responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def openapi(self, request, pk=None):
        """An OpenAPI 3.0 document with the record schema under `components.schemas`."""
        return Response(exporters.to_openapi(definition_for(self.get_object(), request)))

    @extend_schema(
        parameters=[
            VERSION_PARAMETER,
            OpenApiParameter("count", OpenApiTypes.INT, description="1-100, default 3."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def examples(self, request, pk=None):
        """Example records built from the fields, each passing the schema's validation."""
        definition = definition_for(self.get_object(), request)
        count = int_param(request, "count", default=3, low=1, high=100)
        records = example_records(definition, count)
        return Response({"schema": definition["name"], "version": definition["version"], "records": records})

    @extend_schema(
        request={"multipart/form-data": OpenApiTypes.BINARY, "application/json": ValidateRequestSerializer},
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, description="Name for the draft.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["post"])
    def infer(self, request):
        """A draft schema from a sample `file` (CSV/NDJSON/JSON) or `records`; nothing is saved."""
        budget = TimeBudget()
        payload = read_payload(request)
        name = request.query_params.get("name") or request.data.get("name") or _name_from(payload)
        refuse_too_many_values(min(payload.rows, SAMPLE_ROWS) * payload.columns)
        if payload.frame is not None:
            return Response(infer_from_frame(payload.frame, name, budget))
        if not payload.records:
            raise serializers.ValidationError({"records": ["The sample has no records."]})
        return Response(infer_from_records(payload.records, name, budget))

    @extend_schema(request=ImportRequestSerializer, responses={201: SchemaSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_schema(self, request):
        """Create a schema from a Frictionless Table Schema or a JSON Schema."""
        refuse_oversized(request)
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = body.validated_data["schema"]
        try:
            source = body.validated_data.get("format") or importers.detect_format(document)
            convert = importers.from_frictionless if source == "frictionless" else importers.from_json_schema
            definition = convert(document)
        except importers.ImportProblem as problem:
            raise serializers.ValidationError({"schema": [str(problem)]}) from None
        definition["name"] = body.validated_data.get("name") or importers.safe_name(definition["name"])
        if not definition["name"]:
            raise serializers.ValidationError({"name": ["The document has no name or title; give 'name'."]})
        if "description" in body.validated_data:
            definition["description"] = body.validated_data["description"]
        serializer = self.get_serializer(data=definition)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(serializer.data, status=status.HTTP_201_CREATED)


def saved_version(schema: Schema, request) -> SchemaVersion:
    """The saved version `?version=N` asks for, or a 404 naming the current one."""
    version = int_param(request, "version", default=None, low=1, high=None)
    snapshot = schema.versions.filter(version=version).first()
    if snapshot is None:
        raise NotFound(
            f"Schema {schema.name!r} has no version {version} (current version: {schema.version})."
        )
    return snapshot


def definition_for(schema: Schema, request) -> dict:
    """The current definition, or the saved one `?version=N` asks for."""
    if "version" not in request.query_params:
        return schema.definition()
    return saved_version(schema, request).definition


def int_param(request, name: str, *, default, low: int, high: int | None):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise serializers.ValidationError({name: [f"Must be a whole number {bounds}, not {raw!r}."]})
    return value


def error_limit(request) -> int:
    return int_param(request, "limit", default=ERRORS_LIMIT_DEFAULT, low=0, high=ERRORS_LIMIT_MAX)


def width(definition: dict, payload: Payload) -> int:
    """Columns a validation works on: every schema field is checked in every row, present or not."""
    return max(len(definition["fields"]), payload.columns, 1)


def validation_result(definition: dict, payload: Payload, limit: int, budget: TimeBudget) -> dict:
    compiled = compile_schema(definition)
    total = {"valid": 0, "invalid": 0, "errors_total": 0, "warnings_total": 0, "errors": []}
    for offset, rows in _slices(definition, payload):
        budget.check()
        shown = limit - len(total["errors"])
        if payload.frame is not None:
            result = compiled.report(payload.frame.slice(offset, rows), limit=shown, row_offset=offset)
        else:
            result = compiled.report_records(payload.records[offset : offset + rows], limit=shown)
            for problem in result["errors"]:
                problem["row"] += offset
        for count in ("valid", "invalid", "errors_total", "warnings_total"):
            total[count] += result[count]
        total["errors"] += result["errors"]
    return {**total, "errors_shown": len(total["errors"])}


def _slices(definition: dict, payload: Payload):
    """(first row, row count) of each slice. A unique field is checked across
    all rows at once, so a schema with one is validated in a single slice."""
    if any(field.get("constraints", {}).get("unique") for field in definition["fields"]):
        rows = max(payload.rows, 1)
    else:
        rows = max(SLICE_VALUES // width(definition, payload), SLICE_MIN_ROWS)
    return [(offset, rows) for offset in range(0, max(payload.rows, 1), rows)]


def schema_references(request) -> list:
    """The `schemas` of a multi-schema validation: a JSON list, or for a file
    upload a form field (repeated, or comma-separated)."""
    if hasattr(request.data, "getlist") and request.FILES:
        items = [part.strip() for value in request.data.getlist("schemas") for part in value.split(",")]
        items = [item for item in items if item]
        if not items:
            raise serializers.ValidationError({"schemas": ["Name the schemas to validate against."]})
        return items
    body = ValidateManyRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["schemas"]


def schema_by_reference(reference) -> Schema:
    lookup = {"pk": reference} if isinstance(reference, int) and not isinstance(reference, bool) else None
    if lookup is None and isinstance(reference, str):
        lookup = {"pk": int(reference)} if reference.isdigit() else {"name": reference}
    schema = Schema.objects.prefetch_related("fields", "rules").filter(**lookup).first() if lookup else None
    if schema is None:
        raise serializers.ValidationError({"schemas": [f"No schema {reference!r} (give names or ids)."]})
    return schema


def _name_from(payload: Payload) -> str:
    return importers.safe_name(Path(payload.filename).stem) or "inferred"
