"""Forms for a component's config, generated on the server from its type's JSON
Schema (the engine's catalogue), for the admin's component editor.

Each property of the schema becomes one field: its name as the label, its
description as help, `required` marked, enums as selects (a placeholder such
as `${mode}` stays possible: it is kept as an extra option), booleans as
true/false selects, whole numbers as number-or-placeholder text, lists of
names one per line, name -> text objects as rows of two inputs, anything else
(inline rows, join keys) as a small JSON box. Values that do not fit their
field (or keys the schema does not know) are shown as JSON, so nothing in a
config is hidden or dropped.

The inputs carry `data-config-key` / `data-config-kind` and no `name`:
static/etlsite/component-editor.js turns them into the config JSON, which is
what the form submits (the raw JSON box, also editable by hand).
"""

import json
from dataclasses import dataclass, field

from django.template.loader import render_to_string

from execution.engine.placeholders import has_placeholder
from execution.engine.registry import UnknownComponentType, get_spec

# Fields whose text is long enough for a box rather than a line.
LONG_TEXT = {"query"}


@dataclass
class ConfigField:
    key: str
    kind: str  # text, textarea, integer, number, boolean, choice, lines, map, json
    description: str = ""
    required: bool = False
    default: str = ""
    choices: list[str] = field(default_factory=list)
    value: object = ""  # as the widget shows it (text, or (key, value) rows for a map)
    error: str = ""


def config_fields(type_name: str, config: dict, errors: dict[str, str] | None = None) -> list[ConfigField]:
    """The fields of `type_name`'s config filled with `config`; `errors` maps a
    config key to the message to show next to it."""
    errors = errors or {}
    try:
        spec = get_spec(type_name)
    except UnknownComponentType:
        return [_json_field(key, value, errors.get(key, "")) for key, value in config.items()]
    schema = spec.config_schema
    required = set(schema.get("required", ()))
    expression_keys = {pattern.split(".")[0] for pattern in spec.expression_fields}
    fields = [
        _field(key, prop, config.get(key), key in required, key in expression_keys, errors.get(key, ""))
        for key, prop in schema.get("properties", {}).items()
    ]
    fields += [
        _json_field(key, value, errors.get(key) or "Unknown field for this type: clear it to remove it.")
        for key, value in config.items()
        if key not in schema.get("properties", {})
    ]
    return fields


def _field(key: str, prop: dict, value, required: bool, expression: bool, error: str) -> ConfigField:
    base = prop["anyOf"][0] if "anyOf" in prop else prop
    made = ConfigField(
        key=key,
        kind=_kind(key, base, expression),
        description=prop.get("description", base.get("description", "")),
        required=required,
        default="" if "default" not in base else _as_text(base["default"]),
        choices=[str(choice) for choice in base.get("enum", ())],
        error=error,
    )
    if value is None:
        made.value = [] if made.kind == "map" else ""
        return made
    shown = _shown(made, value)
    if shown is None:
        return _json_field(key, value, error, made)
    made.value = shown
    return made


def _kind(key: str, schema: dict, expression: bool) -> str:
    if "enum" in schema:
        return "choice"
    kind = schema.get("type")
    if kind == "string":
        return "textarea" if expression or key in LONG_TEXT else "text"
    if kind in ("integer", "number", "boolean"):
        return kind
    if kind == "array" and schema.get("items", {}).get("type") == "string":
        return "lines"
    extra = schema.get("additionalProperties")
    if (
        kind == "object"
        and isinstance(extra, dict)
        and extra.get("type") == "string"
        and not schema.get("properties")
    ):
        return "map"
    return "json"


def _shown(made: ConfigField, value):
    """`value` as `made`'s widget shows it, or None when it does not fit the widget."""
    if has_placeholder(value) and made.kind in ("integer", "number", "boolean", "choice", "text", "textarea"):
        if made.kind in ("choice", "boolean") and value not in made.choices:
            made.choices = [*made.choices, value]
        return value
    if made.kind in ("text", "textarea", "choice"):
        return value if isinstance(value, str) else None
    if made.kind == "boolean":
        return _as_text(value) if isinstance(value, bool) else None
    if made.kind in ("integer", "number"):
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if made.kind == "lines":
        fits = isinstance(value, list) and all(
            isinstance(item, str) and "\n" not in item and item for item in value
        )
        return "\n".join(value) if fits else None
    if made.kind == "map":
        fits = isinstance(value, dict) and all(isinstance(item, str) for item in value.values())
        return list(value.items()) if fits else None
    return json.dumps(value, indent=2, ensure_ascii=False)


def _json_field(key: str, value, error: str, base: ConfigField | None = None) -> ConfigField:
    return ConfigField(
        key=key,
        kind="json",
        description=base.description if base else "",
        required=base.required if base else False,
        value=json.dumps(value, indent=2, ensure_ascii=False),
        error=error,
    )


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def known_settings(type_name: str, config: dict) -> dict:
    """The settings of `config` that `type_name` also has (kept when the type changes)."""
    try:
        properties = get_spec(type_name).config_schema.get("properties", {})
    except UnknownComponentType:
        return {}
    return {key: value for key, value in config.items() if key in properties}


def render_config_form(
    type_name: str, config: dict, errors: dict[str, str] | None = None, prefix: str = ""
) -> str:
    """The HTML of the generated form (ids start with `prefix`, the inline row's)."""
    return render_to_string(
        "admin/jobs/job/config_form.html",
        {"fields": config_fields(type_name, config, errors), "prefix": prefix, "type_name": type_name},
    )
