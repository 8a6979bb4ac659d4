"""A schema definition (plain dict) as JSON Schema, OpenAPI and Markdown.

The JSON Schema describes one record and agrees with the validator on every
constraint JSON Schema can express (tests/schemas/test_json_schema_agreement.py).
What it cannot express is kept as annotations: `x-unique`, `x-rules`, and
minimum/maximum of dates and times (`x-minimum`/`x-maximum`).
"""

import html

import markdown

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "decimal": "number",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "time": "string",
}
_FORMATS = {"date": "date", "datetime": "date-time", "time": "time"}
_NUMERIC = ("integer", "number", "decimal")


def to_json_schema(definition: dict) -> dict:
    properties = {field["name"]: _property(field) for field in definition["fields"]}
    document = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": definition["name"],
        "description": definition.get("description") or f"A record of schema {definition['name']}.",
        "type": "object",
        "properties": properties,
        "required": [field["name"] for field in definition["fields"] if field.get("required")],
        "x-version": definition.get("version"),
    }
    if definition.get("rules"):
        document["x-rules"] = definition["rules"]
    return document


def _property(field: dict) -> dict:
    type_, constraints = field["type"], field.get("constraints") or {}
    json_type = _JSON_TYPES[type_]
    nullable = field.get("nullable", True)
    prop: dict = {"type": [json_type, "null"] if nullable else json_type}
    if field.get("description"):
        prop["description"] = field["description"]
    if type_ in _FORMATS:
        prop["format"] = _FORMATS[type_]
    if type_ in _NUMERIC:
        for key in ("minimum", "maximum"):
            if constraints.get(key) is not None:
                prop[key] = constraints[key]
    else:
        for key in ("minimum", "maximum"):
            if constraints.get(key) is not None:
                prop[f"x-{key}"] = constraints[key]
    if constraints.get("min_length") is not None:
        prop["minLength"] = constraints["min_length"]
    if constraints.get("max_length") is not None:
        prop["maxLength"] = constraints["max_length"]
    if constraints.get("pattern"):
        prop["pattern"] = constraints["pattern"]
    if constraints.get("format"):
        prop["format"] = constraints["format"]
    if constraints.get("enum"):
        prop["enum"] = list(constraints["enum"]) + ([None] if nullable else [])
    if constraints.get("unique"):
        prop["x-unique"] = True
    if field.get("examples"):
        prop["examples"] = list(field["examples"])
    return prop


def to_openapi(definition: dict) -> dict:
    """An OpenAPI 3.0 document whose `components.schemas` holds the record schema
    (3.0 style: `nullable: true` rather than a `null` type)."""
    properties = {}
    for field in definition["fields"]:
        prop = {key: value for key, value in _property(field).items() if not key.startswith("x-")}
        if isinstance(prop["type"], list):
            prop["type"] = prop["type"][0]
            prop["nullable"] = True
            if "enum" in prop:
                prop["enum"] = [value for value in prop["enum"] if value is not None]
        if "examples" in prop:
            prop["example"] = prop.pop("examples")[0]
        if field["type"] == "decimal":
            prop["format"] = "decimal"
        if field["type"] == "time":
            prop["pattern"] = r"^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?$"
        properties[field["name"]] = prop
    component = {"type": "object", "properties": properties}
    required = [field["name"] for field in definition["fields"] if field.get("required")]
    if required:
        component["required"] = required
    if definition.get("description"):
        component["description"] = definition["description"]
    return {
        "openapi": "3.0.3",
        "info": {"title": f"Schema {definition['name']}", "version": str(definition.get("version", 1))},
        "paths": {},
        "components": {"schemas": {definition["name"]: component}},
    }


def to_markdown(definition: dict) -> str:
    return _document(definition, _MarkdownText())


def to_html(definition: dict) -> str:
    """The documentation as a standalone HTML page. User text is escaped before
    Markdown sees it, so a description or rule cannot inject markup."""
    body = markdown.markdown(_document(definition, _HTMLText()), extensions=["tables"])
    title = html.escape(f"Schema {definition['name']}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem}</style>"
        f"</head><body>\n{body}\n</body></html>\n"
    )


class _MarkdownText:
    def text(self, value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    def code(self, value) -> str:
        value = str(value).replace("\n", " ")
        fence = "``" if "`" in value else "`"
        return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


class _HTMLText:
    def text(self, value) -> str:
        return html.escape(str(value)).replace("|", "&#124;").replace("\n", " ")

    def code(self, value) -> str:
        return f"<code>{self.text(value)}</code>"


def _document(definition: dict, out) -> str:
    name = out.code(definition["name"])
    lines = [f"# Schema {name} (version {definition.get('version', 1)})", ""]
    if definition.get("description"):
        lines += [out.text(definition["description"]), ""]
    lines += [
        "## Fields",
        "",
        "| # | Field | Type | Required | Nullable | Constraints | Description | Examples |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for number, field in enumerate(definition["fields"], start=1):
        cells = [
            str(number),
            out.code(field["name"]),
            field["type"],
            "yes" if field.get("required") else "no",
            "yes" if field.get("nullable", True) else "no",
            _constraints_text(field.get("constraints") or {}, out),
            out.text(field.get("description") or ""),
            ", ".join(out.code(value) for value in field.get("examples") or []),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if definition.get("rules"):
        lines += [
            "## Validation rules",
            "",
            "| Rule | Expression | Severity | Message |",
            "|---|---|---|---|",
        ]
        for rule in definition["rules"]:
            cells = [
                out.code(rule["name"]),
                out.code(rule["expression"]),
                rule["severity"],
                out.text(rule.get("message") or ""),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "`required`: the column (or record key) must be present. `nullable`: a present value may be null. "
        "A rule passes when its expression is true or NULL.",
        "",
    ]
    return "\n".join(lines)


def _constraints_text(constraints: dict, out) -> str:
    parts = []
    for key, value in constraints.items():
        if key == "unique":
            if value:
                parts.append("unique")
        elif key == "enum":
            parts.append("one of " + ", ".join(out.code(item) for item in value))
        elif key == "pattern":
            parts.append(f"matches {out.code(value)}")
        else:
            parts.append(f"{key.replace('_', ' ')} {out.code(value)}")
    return "; ".join(parts)
