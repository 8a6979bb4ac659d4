"""`${name}` and `${env.NAME}` placeholders in component configs: the one
place that knows their syntax.

A placeholder names a context parameter (`${min_delay}`) or an environment
value of the context (`${env.DATA_DIR}`). Outside expressions it is replaced
by its value before the component is built: a config value that is exactly
one placeholder takes the value with its type (`"${limit}"` can become the
number 100), inside longer text it becomes text. Inside an expression field
it is left for the expression compiler, which turns it into a typed literal
(expressions/parsing.py), so a value can never change an expression's
structure.
"""

import copy
import re
from collections.abc import Iterator

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
ENV_PREFIX = "env."
MISSING = object()


def references(text: str) -> list[str]:
    """The names in `text`'s placeholders, in order (`env.X` for environment values)."""
    return PLACEHOLDER.findall(text)


def has_placeholder(value) -> bool:
    return isinstance(value, str) and PLACEHOLDER.search(value) is not None


def config_strings(value, path: str = "config") -> Iterator[tuple[str, str]]:
    """Every (dotted path, text) inside a nested config: `config.columns.late`."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from config_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from config_strings(item, f"{path}.{index}")


def path_matches(path: str, patterns) -> bool:
    """Whether `config.columns.late` is one of `("columns.*",)`: patterns are
    config field paths without the `config.` prefix, `*` standing for one key."""
    parts = path.split(".")[1:]
    for pattern in patterns:
        wanted = pattern.split(".")
        if len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return True
    return False


def lookup(name: str, parameters: dict, environment: dict):
    """The value `${name}` stands for, or MISSING."""
    if name.startswith(ENV_PREFIX):
        return environment.get(name[len(ENV_PREFIX) :], MISSING)
    return parameters.get(name, MISSING)


def values_for_expressions(parameters: dict, environment: dict) -> dict:
    """Placeholder name -> value, the form expression fields receive them in."""
    values = dict(parameters)
    values.update({f"{ENV_PREFIX}{name}": value for name, value in environment.items()})
    return values


def substitute(config: dict, parameters: dict, environment: dict, keep=()) -> dict:
    """A copy of `config` with placeholders replaced by their values, except
    in the fields matching `keep` (the component's expression fields).
    Every placeholder must have a value (check with `missing` first)."""

    def walk(value, path):
        if isinstance(value, dict):
            return {key: walk(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, f"{path}.{index}") for index, item in enumerate(value)]
        if not has_placeholder(value) or path_matches(path, keep):
            return value
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return copy.deepcopy(lookup(whole[1], parameters, environment))
        return PLACEHOLDER.sub(lambda match: str(lookup(match[1], parameters, environment)), value)

    return walk(config, "config")


def missing(config: dict, parameters: dict, environment: dict) -> list[tuple[str, str]]:
    """(field path, message) for every placeholder in `config` without a value."""
    problems = []
    for path, text in config_strings(config):
        for name in references(text):
            if lookup(name, parameters, environment) is MISSING:
                problems.append((path, missing_message(name)))
    return problems


def missing_message(name: str) -> str:
    if name.startswith(ENV_PREFIX):
        return f"The context has no environment value {name[len(ENV_PREFIX) :]!r} (used as ${{{name}}})."
    return f"No value for parameter {name!r} (used as ${{{name}}}); add it to the context or pass it."
