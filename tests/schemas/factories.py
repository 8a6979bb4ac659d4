from schemas.models import Schema

FLIGHT_FIELDS = [
    {
        "name": "carrier",
        "type": "string",
        "required": True,
        "nullable": False,
        "constraints": {"pattern": "^[A-Z0-9]{2}$"},
        "examples": ["AA", "DL"],
    },
    {"name": "flight", "type": "integer", "constraints": {"minimum": 1, "maximum": 9999}},
    {"name": "dep_time", "type": "integer", "constraints": {"minimum": 0, "maximum": 2400}},
    {"name": "arr_time", "type": "integer", "constraints": {"minimum": 0, "maximum": 2400}},
]
FLIGHT_RULES = [
    {
        "name": "times",
        "expression": "arr_time IS NULL OR dep_time IS NOT NULL",
        "message": "arrival without departure",
        "severity": "error",
    }
]


def make_schema(name: str = "flights", fields=None, rules=None, description: str = "") -> Schema:
    schema = Schema(name=name, description=description)
    schema.save_definition(
        fields=FLIGHT_FIELDS if fields is None else fields, rules=FLIGHT_RULES if rules is None else rules
    )
    return schema


def flight_payload(name: str = "flights") -> dict:
    return {"name": name, "description": "", "fields": FLIGHT_FIELDS, "rules": FLIGHT_RULES}
