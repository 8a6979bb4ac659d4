"""HTML pages for schemas: the list and each schema's documentation, rendered
from its definition (the same dict the validator and the exporters use)."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from etlsite.pages import page
from jobs.access import visible_jobs
from schemas.models import Schema


@page
def schema_list(request):
    schemas = Schema.objects.order_by("name").prefetch_related("fields")
    return render(request, "schemas/schema_list.html", {"section": "schemas", "schemas": schemas})


@page
def schema_documentation(request, schema_id):
    schema = get_object_or_404(Schema, pk=schema_id)
    version = request.GET.get("version")
    if version:
        definition = schema.definition_at(int(version)) if version.isdigit() else None
        if definition is None:
            raise Http404(f"Schema {schema.name} has no version {version}.")
    else:
        definition = schema.definition()
    fields = [{**field, "constraint_list": _constraints(field)} for field in definition["fields"]]
    used_by = visible_jobs(request).filter(name__in=schema.jobs_using()).order_by("name")
    context = {
        "section": "schemas",
        "schema": schema,
        "definition": definition,
        "fields": fields,
        "versions": schema.versions.order_by("-version").values_list("version", flat=True),
        "used_by": used_by,
    }
    return render(request, "schemas/schema_documentation.html", context)


def _constraints(field: dict) -> list[dict]:
    """Each constraint as {key, label, value}: `min_length` reads "min length"."""
    return [
        {"key": key, "label": key.replace("_", " "), "value": value}
        for key, value in (field.get("constraints") or {}).items()
        if not (key == "unique" and not value)
    ]
