"""Turn a job plus a context (plus run-time overrides) into what the engine runs.

`resolve_run_inputs` picks the context, checks every `${name}` / `${env.NAME}`
placeholder and every `connection` against it, and only then substitutes
(the syntax is the engine's: execution/engine/placeholders.py): a missing
value, a secret parameter outside a field its component declares secret, or
a substituted value the component refuses is a `RunInputError` naming what is
wrong and which component field it is in, raised before any data moves.

The result holds secrets (`components`, `connections`): callers pass it to
the engine and never log or store it. What is safe to keep is `parameters`
(secret values shown as "***"), and `secrets` feeds `redact` for every log
line and error message of the run.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from contexts import crypto
from contexts.models import Context, Credential
from contexts.redaction import MASK, redact
from contexts.values import ParameterType, coerce_value
from execution.engine import placeholders
from execution.engine.errors import EngineError
from execution.engine.graph import validate_components
from execution.engine.intervals import INTERVAL_END, INTERVAL_PARAMETERS, INTERVAL_START, iso, parse_instant
from execution.engine.placeholders import ENV_PREFIX, has_placeholder
from execution.engine.registry import UnknownComponentType, get_spec
from execution.engine.runner import resolve_placeholders

__all__ = ["ResolvedRun", "RunInputError", "redact", "resolve_run_inputs", "secret_placeholder_problems"]
# Component types that read or write through a credential of a given kind.
CONNECTION_KINDS = (Credential.Kind.POSTGRES, Credential.Kind.MYSQL, Credential.Kind.SQLITE)


@dataclass
class ResolvedRun:
    context: Context | None
    components: list[dict]
    connections: dict[str, dict]
    parameters: dict
    secrets: list[str] = field(default_factory=list)
    # Placeholder values for expression fields (RunContext.values); never secrets.
    values: dict = field(default_factory=dict)

    @property
    def context_name(self) -> str | None:
        return self.context.name if self.context else None


class RunInputError(Exception):
    """The run's inputs are incomplete or wrong. `details`: field -> list of messages."""

    def __init__(self, details: dict[str, list[str]]):
        self.details = {key: list(messages) for key, messages in details.items()}
        super().__init__("; ".join(f"{key}: {' '.join(messages)}" for key, messages in self.details.items()))


def resolve_run_inputs(
    job,
    context_name: str | None = None,
    overrides: dict | None = None,
    given_connections: dict | None = None,
    components: list[dict] | None = None,
) -> ResolvedRun:
    """`given_connections` (name -> engine connection dict) stand in for the
    context's credentials of those names (`runjob --connection`). `components`
    replace the job's saved ones (a preview's part of a graph, or an unsaved job)."""
    given = given_connections or {}
    context = choose_context(job, context_name)
    components = job.component_dicts() if components is None else components
    problems: dict[str, list[str]] = defaultdict(list)
    try:
        values, secret_values = _effective_parameters(context, overrides, problems)
        environment = dict(context.environment) if context else {}
        credentials = {c.name: c for c in context.credentials.all()} if context else {}
        _check_placeholders(components, context, values, environment, problems)
        for path, message in secret_placeholder_problems(components, set(secret_values)):
            problems[path].append(message)
        # Plain connection names are checked now, so one error lists every problem;
        # names built from placeholders only once substituted.
        _check_connections(components, context, credentials, given, problems, with_placeholders=False)
        if problems:
            raise RunInputError(problems)

        known_values = {name: value for name, value in values.items() if value is not None}
        substituted = _substitute(components, known_values, environment)
        expression_values = placeholders.values_for_expressions(
            {name: value for name, value in known_values.items() if name not in secret_values}, environment
        )
        # The substituted values meet the same rules as values written in the job.
        for problem in validate_components(
            substituted, values=expression_values, data_roots=settings.ETL_DATA_ROOTS
        ):
            problems[f"components.{problem.component}.{problem.field or 'config'}"].append(problem.message)
        _check_connections(substituted, context, credentials, given, problems, with_placeholders=True)
        if problems:
            raise RunInputError(problems)
        connections = _connection_dicts(substituted, credentials, given, problems)
        if problems:
            raise RunInputError(problems)
        # Every secret of the context is masked, not only those of the credentials used.
        credential_secrets = [value for c in credentials.values() for value in c.plain_secrets().values()]
        credential_secrets += [connection.get("password") for connection in given.values()]
    except crypto.CredentialKeyError as error:
        raise RunInputError({"context": [str(error)]}) from None

    safe_parameters = {
        name: MASK if name in secret_values and value is not None else value for name, value in values.items()
    }
    return ResolvedRun(
        context=context,
        components=substituted,
        connections=connections,
        parameters=safe_parameters,
        secrets=sorted({*secret_values.values(), *credential_secrets} - {"", None}),
        values=expression_values,
    )


def choose_context(job, context_name: str | None) -> Context | None:
    """The named context, else the job's default, else the one marked default, else none."""
    if context_name:
        context = Context.objects.filter(name=context_name).first()
        if context is None:
            known = ", ".join(Context.objects.values_list("name", flat=True)) or "none yet"
            raise RunInputError({"context": [f"No context named {context_name!r}; known: {known}."]})
        return context
    if job.default_context_id:
        return job.default_context
    return Context.objects.filter(is_default=True).first()


def _effective_parameters(context, overrides, problems) -> tuple[dict, dict]:
    """(name -> value for every parameter, name -> value for the secret ones); overrides win."""
    stored = {p.name: p for p in context.parameters.all()} if context else {}
    values = {name: parameter.plain_value() for name, parameter in stored.items()}
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        problems["parameters"].append("Give parameters as an object of name -> value.")
        overrides = {}
    for name, given in overrides.items():
        parameter = stored.get(name)
        if parameter is None and name in INTERVAL_PARAMETERS:
            # Built in: the span of time the run stands for (execution/engine/intervals.py).
            try:
                values[name] = iso(parse_instant(given))
            except ValueError as error:
                problems[f"parameters.{name}"].append(str(error))
            continue
        if parameter is None:
            if context is None:
                problems[f"parameters.{name}"].append(
                    "No context is in use, so there is no parameter to override; choose a context."
                )
            else:
                known = ", ".join(sorted(stored)) or "none"
                problems[f"parameters.{name}"].append(
                    f"Context {context.name!r} has no parameter {name!r}; its parameters: {known}."
                )
            continue
        try:
            values[name] = coerce_value(parameter.type, given)
        except ValueError as error:
            problems[f"parameters.{name}"].append(f"{error} ({parameter.type} parameter)")
    if not problems and _interval_reversed(values):
        problems[f"parameters.{INTERVAL_END}"].append(f"{INTERVAL_END} must be after {INTERVAL_START}.")
    secret_values = {name: values[name] for name, p in stored.items() if p.type == ParameterType.SECRET}
    return values, secret_values


def _interval_reversed(values: dict) -> bool:
    try:
        return parse_instant(values[INTERVAL_END]) <= parse_instant(values[INTERVAL_START])
    except (KeyError, ValueError):
        return False


def _check_placeholders(components, context, values, environment, problems) -> None:
    where = f"context {context.name!r}" if context else "no context (none given, no default)"
    for component in components:
        config = component.get("config") or {}
        for path, text in placeholders.config_strings(config, f"components.{component['name']}.config"):
            for reference in placeholders.references(text):
                if reference.startswith(ENV_PREFIX):
                    env_name = reference[len(ENV_PREFIX) :]
                    if env_name not in environment:
                        problems[path].append(f"Environment value {env_name!r} is not set in {where}.")
                elif reference not in values:
                    problems[path].append(f"Parameter {reference!r} is not defined in {where}.")
                elif values[reference] is None:
                    problems[path].append(
                        f"Parameter {reference!r} has no value in {where}; give one when starting the run."
                    )


def secret_placeholder_problems(components, secret_names: set[str]) -> list[tuple[str, str]]:
    """(field path, message) for each secret parameter used outside the fields
    its component declares secret: anywhere else it could end up in a file,
    a log line, a metric label or an error message."""
    problems = []
    for component in components:
        try:
            allowed = get_spec(component.get("type", "")).secret_fields
        except UnknownComponentType:
            allowed = ()
        config = component.get("config") or {}
        for path, text in placeholders.config_strings(config):
            for reference in placeholders.references(text):
                if reference in secret_names and not placeholders.path_matches(path, allowed):
                    where = f"components.{component.get('name')}.{path}"
                    problems.append(
                        (
                            where,
                            f"Parameter {reference!r} is a secret: secrets may only go into connection "
                            "settings (a credential of the context), not into this field.",
                        )
                    )
    return problems


def _substitute(components, values, environment) -> list[dict]:
    try:
        return resolve_placeholders(components, values, environment)
    except EngineError as error:  # only if the engine's syntax finds something the checks above did not
        raise RunInputError({f"components.{error.component}.{error.field}": [error.message]}) from None


def _connection_names(components) -> dict[str, object]:
    """Component name -> its config's `connection` value, for components that have one."""
    return {
        component["name"]: component["config"]["connection"]
        for component in components
        if "connection" in (component.get("config") or {})
    }


def _check_connections(components, context, credentials, given, problems, *, with_placeholders: bool) -> None:
    types = {component["name"]: component["type"] for component in components}
    for component_name, name in _connection_names(components).items():
        if has_placeholder(name) != with_placeholders or name in given:
            continue
        path = f"components.{component_name}.config.connection"
        if not isinstance(name, str) or not name:
            problems[path].append("Give the name of a credential of the context.")
        elif name not in credentials:
            problems[path].append(_no_credential_message(name, context, credentials))
        else:
            kind = credentials[name].kind
            type_name = types[component_name]
            expected = next((k for k in CONNECTION_KINDS if type_name.startswith(f"{k}_")), kind)
            if kind != expected:
                problems[path].append(
                    f"Credential {name!r} is a {kind} credential; {type_name} needs {expected}."
                )


def _connection_dicts(components, credentials, given, problems) -> dict[str, dict]:
    connections = {}
    for component_name, name in _connection_names(components).items():
        if name in given:
            connections[name] = given[name]
            continue
        try:
            connections[name] = credentials[name].connection_dict()
        except EngineError as error:  # e.g. a sqlite file outside the data roots
            problems[f"components.{component_name}.config.connection"].append(
                f"Credential {name!r}: {error.message}"
            )
    return connections


def _no_credential_message(name, context, credentials) -> str:
    if context is None:
        return (
            f"Credential {name!r} needs a context, and none was given (the job has no default "
            "and no context is marked default)."
        )
    known = ", ".join(sorted(credentials)) or "none"
    return f"Context {context.name!r} has no credential {name!r}; its credentials: {known}."
