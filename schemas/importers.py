"""Schemas from other tools: a Frictionless Table Schema or a JSON Schema.

Both become our definition dict, which then goes through the same serializer
checks as a hand-written schema. Anything we cannot represent is refused with
the property named, rather than silently dropped.
"""

import re


class ImportProblem(ValueError):
    pass


# Frictionless types we can hold; the others (object, array, duration, ...) are refused.
_FRICTIONLESS_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "year": "integer",
}
_FORMATS = ("email", "uri", "uuid")


def detect_format(document: dict) -> str:
    if isinstance(document.get("fields"), list):
        return "frictionless"
    if "properties" in document or "$schema" in document:
        return "json-schema"
    raise ImportProblem(
        "Not recognised: a Frictionless Table Schema has 'fields', a JSON Schema 'properties'."
    )


def from_frictionless(document: dict) -> dict:
    fields = document.get("fields")
    if not isinstance(fields, list) or not fields:
        raise ImportProblem("A Table Schema needs a non-empty 'fields' list.")
    primary_key = document.get("primaryKey") or []
    primary_key = [primary_key] if isinstance(primary_key, str) else list(primary_key)
    converted = [_frictionless_field(item, position, primary_key) for position, item in enumerate(fields, 1)]
    return {"name": document.get("name"), "description": document.get("description", ""), "fields": converted}


def _frictionless_field(item, position: int, primary_key: list) -> dict:
    if not isinstance(item, dict) or not item.get("name"):
        raise ImportProblem(f"Field #{position} needs a 'name'.")
    name = item["name"]
    source_type = item.get("type", "string")
    if source_type not in _FRICTIONLESS_TYPES:
        raise ImportProblem(
            f"Field {name!r}: type {source_type!r} is not supported "
            f"(use one of {', '.join(_FRICTIONLESS_TYPES)}, or 'string' to keep the raw text)."
        )
    raw = item.get("constraints") or {}
    constraints = {}
    for ours, theirs in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
        ("enum", "enum"),
    ):
        if raw.get(theirs) is not None:
            constraints[ours] = raw[theirs]
    if raw.get("pattern"):
        # Frictionless patterns match the whole value; ours search, as in JSON Schema.
        constraints["pattern"] = f"^(?:{raw['pattern']})$"
    if item.get("format") in _FORMATS and source_type == "string":
        constraints["format"] = item["format"]
    in_key = primary_key == [name]
    if raw.get("unique") or in_key:
        constraints["unique"] = True
    return {
        "name": name,
        "type": _FRICTIONLESS_TYPES[source_type],
        "required": True,  # a table's columns are all present
        "nullable": not (raw.get("required") or name in primary_key),
        "description": item.get("description") or item.get("title") or "",
        "constraints": constraints,
        "examples": [item["example"]] if "example" in item else [],
    }


_JSON_FORMAT_TYPES = {"date": "date", "date-time": "datetime", "time": "time"}
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_UNSUPPORTED_KEYWORDS = (
    "$ref",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "exclusiveMinimum",
    "exclusiveMaximum",
)


def from_json_schema(document: dict) -> dict:
    if document.get("type", "object") != "object" or not isinstance(document.get("properties"), dict):
        raise ImportProblem("The JSON Schema must describe one record: type 'object' with 'properties'.")
    if not document["properties"]:
        raise ImportProblem("The JSON Schema has no properties.")
    required = set(document.get("required") or [])
    fields = [_json_field(name, prop, name in required) for name, prop in document["properties"].items()]
    rules = document.get("x-rules") or []
    return {
        "name": document.get("title"),
        "description": document.get("description", ""),
        "fields": fields,
        "rules": rules,
    }


def _json_field(name: str, prop, required: bool) -> dict:
    if not isinstance(prop, dict):
        raise ImportProblem(f"Property {name!r} must be an object.")
    unsupported = [keyword for keyword in _UNSUPPORTED_KEYWORDS if keyword in prop]
    if unsupported:
        raise ImportProblem(f"Property {name!r}: {unsupported[0]!r} is not supported; inline a plain type.")
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in types or prop.get("nullable") is True
    types = [t for t in types if t != "null"]
    if len(types) != 1 or types[0] not in _JSON_TYPES:
        raise ImportProblem(
            f"Property {name!r}: type {prop.get('type')!r} is not supported; "
            f"use one of {', '.join(_JSON_TYPES)} (optionally with 'null')."
        )
    type_ = _JSON_TYPES[types[0]]
    constraints = {}
    fmt = prop.get("format")
    if type_ == "string" and fmt in _JSON_FORMAT_TYPES:
        type_ = _JSON_FORMAT_TYPES[fmt]
    elif type_ == "string" and fmt in _FORMATS:
        constraints["format"] = fmt
    for ours, theirs in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
        ("pattern", "pattern"),
    ):
        if prop.get(theirs) is not None:
            constraints[ours] = prop[theirs]
    for ours in ("minimum", "maximum"):
        if prop.get(f"x-{ours}") is not None:
            constraints[ours] = prop[f"x-{ours}"]
    if prop.get("enum") is not None:
        values = [value for value in prop["enum"] if value is not None]
        nullable = nullable or len(values) < len(prop["enum"])
        constraints["enum"] = values
    if prop.get("x-unique"):
        constraints["unique"] = True
    examples = prop.get("examples") or ([prop["example"]] if "example" in prop else [])
    return {
        "name": name,
        "type": type_,
        "required": required,
        "nullable": nullable,
        "description": prop.get("description", ""),
        "constraints": constraints,
        "examples": [value for value in examples if value is not None],
    }


def safe_name(text) -> str | None:
    """A document's title as a schema name (letters, digits, _ . -), if it has one."""
    if not isinstance(text, str):
        return None
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("_.-")
    return cleaned[:100] or None
