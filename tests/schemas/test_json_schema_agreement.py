"""The JSON Schema export and our validator give the same verdict on every record,
for each constraint a JSON Schema can express: type, required, nullable,
minimum/maximum, min/max length, pattern and enum.

Left out on purpose: `unique` (a column property; JSON Schema validates one
record), `format` (jsonschema's own checks are looser, e.g. an e-mail is any
text with an "@") and date/time types (formats again). Values stay within what
a 64-bit column holds (JSON itself has no integer limit).
"""

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.engine.validation import compile_schema
from schemas.exporters import to_json_schema

PATTERNS = ["^[A-Z]{2}$", "a", r"^\d+$", "^[a-z]*$", "x|y", "^.{2,3}$", "^(ab)+c?$"]
# Numbers are compared as float64, exact up to 2**53 (as in JavaScript, whose
# JSON parsers lose precision past it too). Bounds stay one below it, so the
# probes at bound + 1 are still exact.
MAX_SAFE = 2**53 - 1
# Python's `$` also matches before a final "\n"; ECMA 262 (JSON Schema's
# dialect) and our Polars validator do not, so generated text has no newline.
TEXT = st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=6)
INTS = st.integers(-MAX_SAFE, MAX_SAFE)
FLOATS = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), INTS, FLOATS, TEXT, st.sampled_from(["AB", "ab", "12", "aab", "x", "ababc"])
)


@st.composite
def bounds(draw, values):
    low, high = draw(st.none() | values), draw(st.none() | values)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


@st.composite
def field_definitions(draw, name):
    type_ = draw(st.sampled_from(["string", "integer", "number", "decimal", "boolean"]))
    constraints = {}
    if type_ in ("integer", "number", "decimal"):
        low, high = draw(bounds(INTS if type_ == "integer" else st.one_of(INTS, FLOATS)))
        constraints.update({k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None})
        if draw(st.booleans()):
            constraints["enum"] = draw(st.lists(INTS, min_size=1, max_size=4))
    elif type_ == "string":
        low, high = draw(bounds(st.integers(0, 5)))
        constraints.update({k: v for k, v in (("min_length", low), ("max_length", high)) if v is not None})
        if draw(st.booleans()):
            constraints["pattern"] = draw(st.sampled_from(PATTERNS))
        if draw(st.booleans()):
            constraints["enum"] = draw(st.lists(st.sampled_from(["AB", "ab", "12", "x", ""]), min_size=1))
    elif draw(st.booleans()):
        constraints["enum"] = [draw(st.booleans())]
    return {
        "name": name,
        "type": type_,
        "required": draw(st.booleans()),
        "nullable": draw(st.booleans()),
        "constraints": constraints,
    }


@st.composite
def records_for(draw, fields):
    def value_for(field):
        near = list((field["constraints"] or {}).get("enum", []))
        for key in ("minimum", "maximum"):
            if key in field["constraints"]:
                bound = field["constraints"][key]
                near += [bound, bound - 1, bound + 1, bound + 0.5]
        return st.one_of(ANY_VALUE, st.sampled_from(near)) if near else ANY_VALUE

    records = []
    for _ in range(draw(st.integers(1, 8))):
        record = {}
        for field in fields:
            if draw(st.integers(0, 5)):  # sometimes leave the key out
                record[field["name"]] = draw(value_for(field))
        records.append(record)
    return records


@st.composite
def schemas_with_records(draw):
    fields = [draw(field_definitions("a")), draw(field_definitions("b"))]
    return {"name": "generated", "fields": fields, "rules": []}, draw(records_for(fields))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas_with_records())
def test_json_schema_and_the_validator_agree_on_every_record(case):
    definition, records = case
    document = to_json_schema(definition)
    jsonschema.Draft202012Validator.check_schema(document)
    theirs = jsonschema.Draft202012Validator(document)
    report = compile_schema(definition).report_records(records, limit=1_000_000)
    invalid_rows = {problem["row"] for problem in report["errors"]}
    for row, record in enumerate(records, start=1):
        assert theirs.is_valid(record) == (row not in invalid_rows), (record, report["errors"], document)
