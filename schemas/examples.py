"""Example records for a schema, built from its fields' examples and constraints.

Each candidate record is then run through the schema's own validator and only
records that pass are returned, so `/examples` never shows an invalid record
(a rule the generator cannot satisfy just yields fewer examples).
"""

import datetime as dt
import uuid

# The parser behind `re` (public as `sre_parse` before Python 3.11, deprecated since).
from re import _constants as sre_constants
from re import _parser as sre_parse

from execution.engine.validation import compile_schema, python_value


def example_records(definition: dict, count: int = 3) -> list[dict]:
    compiled = compile_schema(definition)
    candidates = [{f["name"]: _value(f, index) for f in definition["fields"]} for index in range(count)]
    report = compiled.report_records(candidates, limit=10_000)
    bad_rows = {problem["row"] for problem in report["errors"] if problem["severity"] == "error"}
    return [record for row, record in enumerate(candidates, start=1) if row not in bad_rows]


def _value(field: dict, index: int):
    """The `index`-th example value for a field (JSON-ready)."""
    examples = field.get("examples") or []
    constraints = field.get("constraints") or {}
    if examples and not constraints.get("unique"):
        return examples[index % len(examples)]
    if examples and index < len(examples):
        return examples[index]
    if constraints.get("enum"):
        values = constraints["enum"]
        return values[index % len(values)] if not constraints.get("unique") or index < len(values) else None
    return _generated(field["type"], constraints, index)


def _generated(type_: str, constraints: dict, index: int):
    if type_ in ("integer", "number", "decimal"):
        return _number(type_, constraints, index)
    if type_ == "boolean":
        return index % 2 == 0
    if type_ in ("date", "datetime", "time"):
        return _temporal(type_, constraints, index)
    return _string(constraints, index)


def _number(type_: str, constraints: dict, index: int):
    low, high = constraints.get("minimum"), constraints.get("maximum")
    start = low if low is not None else (min(high, 1) if high is not None else 1)
    value = start + index
    if high is not None and value > high:
        value = high
    return int(value) if type_ == "integer" else float(value)


def _temporal(type_: str, constraints: dict, index: int) -> str:
    low = constraints.get("minimum")
    high = constraints.get("maximum")
    if type_ == "time":
        start = python_value("time", low) if low else dt.time(9, 0)
        moment = dt.datetime.combine(dt.date(2000, 1, 1), start) + dt.timedelta(minutes=index)
        value = moment.time()
        if high and value > python_value("time", high):
            value = python_value("time", high)
        return value.isoformat()
    step = dt.timedelta(days=index)
    if type_ == "date":
        value = (python_value("date", low) if low else dt.date(2024, 1, 1)) + step
        if high and value > python_value("date", high):
            value = python_value("date", high)
        return value.isoformat()
    value = (python_value("datetime", low) if low else dt.datetime(2024, 1, 1, 9, 0)) + step
    if high and value > python_value("datetime", high):
        value = python_value("datetime", high)
    return value.isoformat()


def _string(constraints: dict, index: int) -> str:
    fmt = constraints.get("format")
    short = (constraints.get("max_length") or 100) < 25
    if fmt == "email":
        text = f"u{index + 1}@x.io" if short else f"user{index + 1}@example.com"
    elif fmt == "uri":
        text = f"urn:{index + 1}" if short else f"https://example.com/items/{index + 1}"
    elif fmt == "uuid":
        text = str(uuid.uuid5(uuid.NAMESPACE_URL, f"example-{index}"))
    elif constraints.get("pattern"):
        text = string_matching(constraints["pattern"], index)
    else:
        text = f"example {index + 1}"
    low, high = constraints.get("min_length"), constraints.get("max_length")
    if low is not None and len(text) < low:
        text = text + "x" * (low - len(text))
    if high is not None and len(text) > high:
        text = text[:high]
    return text


def string_matching(pattern: str, index: int = 0) -> str:
    """A short string the regex matches (best effort: the caller validates it).
    Walks Python's parse of the pattern, taking the `index`-th choice where
    there is one, so successive examples differ."""
    parsed = sre_parse.parse(pattern)
    return _emit(parsed, index)


def _emit(items, index: int) -> str:
    out = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is sre_constants.IN:
            out.append(_from_class(arg, index))
        elif op is sre_constants.ANY:
            out.append("x")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            low, _high, body = arg
            out.append("".join(_emit(body, index + n) for n in range(max(low, 1) if low else 0)))
        elif op is sre_constants.SUBPATTERN:
            out.append(_emit(arg[-1], index))
        elif op is sre_constants.BRANCH:
            branches = arg[1]
            out.append(_emit(branches[index % len(branches)], index))
        # Anchors (AT), lookarounds and the like add no characters.
    return "".join(out)


def _from_class(items, index: int) -> str:
    choices: list[str] = []
    negated = False
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negated = True
        elif op is sre_constants.LITERAL:
            choices.append(chr(arg))
        elif op is sre_constants.RANGE:
            low, high = arg
            choices.extend(chr(code) for code in range(low, min(high, low + 25) + 1))
        elif op is sre_constants.CATEGORY:
            choices.extend(_CATEGORY_SAMPLES.get(arg, "a"))
    if negated:
        return next(c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in choices)
    return choices[index % len(choices)] if choices else "a"


_CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "0123456789",
    sre_constants.CATEGORY_WORD: "abcxyz",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_DIGIT: "abc",
    sre_constants.CATEGORY_NOT_WORD: "-",
    sre_constants.CATEGORY_NOT_SPACE: "abc",
}
