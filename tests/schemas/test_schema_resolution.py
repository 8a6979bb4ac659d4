"""schemas.resolution.schemas_for_components: what the worker gives the engine."""

import pytest

from execution.engine.errors import EngineError
from schemas.resolution import schemas_for_components
from tests.schemas.factories import FLIGHT_FIELDS, make_schema

pytestmark = pytest.mark.django_db


def validate(name, schema, version=None):
    config = {"schema": schema} if version is None else {"schema": schema, "version": version}
    return {"name": name, "type": "validate", "inputs": ["rows"], "config": config}


SOURCE = {"name": "rows", "type": "inline_source", "config": {"rows": []}}


def test_it_gives_current_and_pinned_definitions_by_schema_name():
    flights = make_schema("flights")
    flights.save_definition(fields=[*FLIGHT_FIELDS, {"name": "gate"}])
    make_schema("airports", fields=[{"name": "code"}], rules=[])
    resolved = schemas_for_components([SOURCE, validate("a", "flights", 1), validate("b", "airports")])
    assert set(resolved) == {"flights", "airports"}
    assert resolved["flights"]["version"] == 1
    assert [f["name"] for f in resolved["flights"]["fields"]] == ["carrier", "flight", "dep_time", "arr_time"]
    assert resolved["airports"]["version"] == 1
    assert schemas_for_components([SOURCE]) == {}


@pytest.mark.parametrize(
    ("components", "message"),
    [
        (
            [validate("check", "missing")],
            "component 'check', field 'config.schema': Unknown schema 'missing'",
        ),
        (
            [validate("check", "flights", 5)],
            "component 'check', field 'config.version': Schema 'flights' has no",
        ),
        (
            [validate("a", "flights", 1), validate("b", "flights", 2)],
            "component 'b', field 'config.version': Schema 'flights' is used at version 1",
        ),
    ],
)
def test_unknown_schemas_and_versions_are_errors_naming_the_component(components, message):
    make_schema("flights").save_definition(fields=FLIGHT_FIELDS)
    with pytest.raises(EngineError) as raised:
        schemas_for_components(components)
    assert str(raised.value).startswith(message)
