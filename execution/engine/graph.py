"""Validate a job's component graph before anything runs.

`validate_components` returns every problem it finds (not just the first), each
naming the component and the field, so the API can answer one 400 that lists
them all.
"""

import difflib
import re
from collections import deque

from jsonschema import Draft202012Validator

from execution.engine import expressions
from execution.engine.errors import GraphError
from execution.engine.paths import containment_problem
from execution.engine.placeholders import config_strings, has_placeholder, path_matches
from execution.engine.registry import MAIN_PORT, UnknownComponentType, all_specs, get_spec
from execution.engine.schema_hints import field_hints, output_hints

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Checks a value holding a `${placeholder}` can only pass once it is substituted
# (at start, when the substituted config is validated again).
_VALUE_CHECKS = ("pattern", "format", "enum", "minLength", "maxLength", "const")
# Every file path in a component config is a field named `path`.
PATH_FIELD = "config.path"


def split_input(reference: str) -> tuple[str, str]:
    """`"checked.rejects"` -> `("checked", "rejects")`; `"flights"` -> `("flights", "main")`."""
    name, _, port = reference.partition(".")
    return name, port or MAIN_PORT


def _schema_errors(spec, config) -> list[tuple[str, str]]:
    validator = Draft202012Validator(spec.config_schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        if error.validator in _VALUE_CHECKS and has_placeholder(error.instance):
            continue
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}" if path else missing
            message = "This field is required."
        elif error.validator == "additionalProperties":
            message = error.message.replace("Additional properties are not allowed", "Unknown field")
        else:
            message = _readable_message(error)
        problems.append((f"config.{path}" if path else "config", message))
    return problems


def _readable_message(error) -> str:
    """Messages for the schema shapes the components use: a value that may also be
    a `${param}` placeholder (anyOf), and patterns explained by their description."""
    if error.validator == "anyOf" and error.context:
        first_choice = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == 0]
        if first_choice:
            return f"{_readable_message(first_choice[0])} (or a ${{parameter}} placeholder)"
    if error.validator == "pattern" and isinstance(error.schema, dict) and error.schema.get("description"):
        return f"{error.instance!r} is not valid: {error.schema['description']}"
    return error.message


def expression_problems(spec, config: dict, values: dict | None, hints=None) -> list[tuple[str, str]]:
    """(field, message) for every expression field of `config` the compiler refuses.
    Without `values` (at save) placeholders are checked as unknown values;
    `hints` (field path or "*" -> schema_hints.Hint) say what is known of the
    columns the expression sees."""
    hints = hints or {}
    problems = []
    for path, text in config_strings(config):
        for pattern, kind in spec.expression_fields.items():
            if path_matches(path, (pattern,)):
                hint = hints.get(path, hints.get("*"))
                options = {"hints": hint.columns, "complete_hints": hint.complete} if hint else {}
                try:
                    expressions.Expression(text, kind, values, **options)
                except expressions.ExpressionError as error:
                    problems.append((path, str(error)))
    return problems


def _path_problems(config: dict, data_roots: list[str] | None) -> list[tuple[str, str]]:
    path = config.get("path")
    if data_roots is None or not isinstance(path, str) or has_placeholder(path):
        return []
    problem = containment_problem(path, data_roots)
    return [(PATH_FIELD, problem)] if problem else []


def _unknown_type_message(type_name) -> str:
    known = [spec.type for spec in all_specs()]
    close = difflib.get_close_matches(str(type_name), known, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown component type {type_name!r}.{suggestion} GET /api/v1/component-types/ lists the known ones."


def validate_components(
    components: list[dict], values: dict | None = None, data_roots: list[str] | None = None
) -> list[GraphError]:
    """Check names, types, configs, expressions, paths, inputs and acyclicity of
    a component list. `values` are the placeholder values of a run (at start);
    with `data_roots`, literal paths must stay inside them."""
    errors: list[GraphError] = []
    specs = {}
    seen = set()
    config_failed = set()
    for component in components:
        name = component.get("name", "")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            errors.append(
                GraphError(
                    "Names start with a letter or _, then letters, digits or _ (at most 63).",
                    component=str(name),
                    field="name",
                )
            )
        if name in seen:
            errors.append(GraphError("Another component has this name.", component=name, field="name"))
        seen.add(name)
        try:
            spec = get_spec(component.get("type", ""))
        except UnknownComponentType:
            errors.append(
                GraphError(_unknown_type_message(component.get("type")), component=name, field="type")
            )
            continue
        specs[name] = spec
        config = component.get("config", {})
        schema_problems = _schema_errors(spec, config)
        if schema_problems:
            config_failed.add(name)
        for field, message in schema_problems:
            errors.append(GraphError(message, component=name, field=field))
        check = getattr(spec.implementation, "check_config", None)
        if check and not schema_problems:
            for field, message in check(config):
                errors.append(GraphError(message, component=name, field=f"config.{field}"))
        if not schema_problems:
            for field, message in _path_problems(config, data_roots):
                errors.append(GraphError(message, component=name, field=field))
        check_inputs = getattr(spec.implementation, "check_inputs", None)
        if check_inputs and not schema_problems:
            for field, message in check_inputs(config, component.get("inputs", []) or []):
                errors.append(
                    GraphError(
                        message, component=name, field=field if field == "inputs" else f"config.{field}"
                    )
                )

    for component in components:
        name = component.get("name", "")
        spec = specs.get(name)
        inputs = component.get("inputs", []) or []
        if spec is None:
            continue
        if len(inputs) < spec.min_inputs or (spec.max_inputs is not None and len(inputs) > spec.max_inputs):
            expected = (
                f"exactly {spec.min_inputs}"
                if spec.min_inputs == spec.max_inputs
                else f"at least {spec.min_inputs}"
                if spec.max_inputs is None
                else f"{spec.min_inputs} to {spec.max_inputs}"
            )
            errors.append(
                GraphError(
                    f"A {spec.type} takes {expected} input(s), got {len(inputs)}.",
                    component=name,
                    field="inputs",
                )
            )
        for reference in inputs:
            upstream, port = split_input(reference)
            if upstream not in seen:
                errors.append(
                    GraphError(
                        f"Input {reference!r} names no component of this job.", component=name, field="inputs"
                    )
                )
            elif upstream in specs and port not in specs[upstream].outputs:
                errors.append(
                    GraphError(
                        f"Component {upstream!r} has no output port {port!r} "
                        f"(it has: {', '.join(specs[upstream].outputs)}).",
                        component=name,
                        field="inputs",
                    )
                )

    hints = {}
    if not errors:
        try:
            hints = output_hints(components, topological_order(components))
        except GraphError as cycle:
            errors.append(cycle)
    for component in components:
        name = component.get("name", "")
        if name in specs and name not in config_failed:
            config = component.get("config") or {}
            for field, message in expression_problems(
                specs[name], config, values, field_hints(component, hints)
            ):
                errors.append(GraphError(message, component=name, field=field))
    return errors


def topological_order(components: list[dict]) -> list[str]:
    """Component names in an order where every input comes first.

    Raises GraphError naming the components on a cycle.
    """
    names = [c["name"] for c in components]
    upstreams = {c["name"]: {split_input(r)[0] for r in c.get("inputs", []) or []} for c in components}
    downstreams: dict[str, set[str]] = {name: set() for name in names}
    for name, ups in upstreams.items():
        for up in ups:
            downstreams.setdefault(up, set()).add(name)
    pending = {name: len(ups) for name, ups in upstreams.items()}
    ready = deque(name for name in names if pending[name] == 0)
    order = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for down in sorted(downstreams.get(name, ())):
            pending[down] -= 1
            if pending[down] == 0:
                ready.append(down)
    if len(order) < len(names):
        on_cycle = sorted(name for name in names if pending[name] > 0)
        raise GraphError(
            f"The components {', '.join(on_cycle)} form a cycle.", component=on_cycle[0], field="inputs"
        )
    return order
