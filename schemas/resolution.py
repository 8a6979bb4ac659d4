"""Schemas for a run: the execution worker hands the engine plain dicts.

A `validate` component names its schema (`{"schema": "flights"}`) and may pin
a saved version (`{"schema": "flights", "version": 3}`); unpinned means the
current version. The engine looks schemas up by name, so one job may use one
version of each schema.
"""

from execution.engine.errors import EngineError
from schemas.models import Schema


class SchemaResolutionError(EngineError):
    """A component names a schema or version that does not exist."""


def schemas_for_components(components: list[dict]) -> dict[str, dict]:
    """`{schema name: definition}` for every `validate` component's schema."""
    resolved: dict[str, dict] = {}
    pinned_by: dict[str, str] = {}
    for component in components:
        if component.get("type") != "validate":
            continue
        config = component.get("config") or {}
        name, version = config.get("schema"), config.get("version")
        definition = _definition(component["name"], name, version)
        if name in resolved and resolved[name]["version"] != definition["version"]:
            raise SchemaResolutionError(
                f"Schema {name!r} is used at version {resolved[name]['version']} by component "
                f"{pinned_by[name]!r} and at version {definition['version']}; use one version per job.",
                component=component["name"],
                field="config.version",
            )
        resolved[name] = definition
        pinned_by[name] = component["name"]
    return resolved


def _definition(component: str, name, version) -> dict:
    schema = Schema.objects.prefetch_related("fields", "rules").filter(name=name).first()
    if schema is None:
        raise SchemaResolutionError(
            f"Unknown schema {name!r}; define it under /api/v1/schemas/ first.",
            component=component,
            field="config.schema",
        )
    if version is None or version == schema.version:
        return schema.definition()
    definition = schema.definition_at(version) if isinstance(version, int) else None
    if definition is None:
        raise SchemaResolutionError(
            f"Schema {name!r} has no version {version!r} (current version: {schema.version}).",
            component=component,
            field="config.version",
        )
    return definition
