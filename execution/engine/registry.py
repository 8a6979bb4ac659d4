"""The catalogue of component types, filled by the `@register` decorator.

Every component type declares here what it is (kind, one-line summary), the
JSON Schema of its config, an example config, and its ports. Job validation
(`graph.py`), the API's `/component-types/` and the runner all read this one
registry; there is no other list of types.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

SOURCE, TRANSFORM, SINK, METRIC = "source", "transform", "sink", "metric"
KINDS = (SOURCE, TRANSFORM, SINK, METRIC)

# The port every component emits on; `validate` adds "rejects", which
# downstream components name as `<component>.rejects`.
MAIN_PORT = "main"


@dataclass(frozen=True)
class ComponentSpec:
    type: str
    kind: str
    summary: str
    config_schema: dict
    example: dict
    implementation: type
    min_inputs: int = 0
    max_inputs: int | None = 0
    outputs: tuple[str, ...] = (MAIN_PORT,)
    blocking: bool = False
    description: str = ""
    # Config fields holding user expressions -> their kind (see expressions/):
    # `{"where": "condition"}`, `{"columns.*": "scalar"}` (* is any key).
    expression_fields: dict[str, str] = field(default_factory=dict)
    # Config fields that may take a secret parameter (connection settings).
    secret_fields: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The public description served by /api/v1/component-types/."""
        return {
            "type": self.type,
            "kind": self.kind,
            "summary": self.summary,
            "description": self.description,
            "config_schema": self.config_schema,
            "example": self.example,
            "inputs": {"min": self.min_inputs, "max": self.max_inputs},
            "outputs": list(self.outputs),
            "blocking": self.blocking,
            "expression_fields": dict(self.expression_fields),
            "secret_fields": list(self.secret_fields),
        }


_REGISTRY: dict[str, ComponentSpec] = {}


class UnknownComponentType(KeyError):
    pass


def register(
    type_name: str,
    *,
    kind: str,
    summary: str,
    config_schema: dict,
    example: dict,
    min_inputs: int | None = None,
    max_inputs: int | None = -1,
    outputs: tuple[str, ...] = (MAIN_PORT,),
    blocking: bool = False,
    expression_fields: dict[str, str] | None = None,
    secret_fields: tuple[str, ...] = (),
) -> Callable[[type], type]:
    """Class decorator adding a component type to the catalogue.

    Input counts default by kind: sources take none, transforms and sinks one
    (pass `max_inputs=None` for "any number").
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if min_inputs is None:
        min_inputs = 0 if kind == SOURCE else 1
    if max_inputs == -1:
        max_inputs = 0 if kind == SOURCE else 1

    def decorate(cls: type) -> type:
        if type_name in _REGISTRY:
            raise ValueError(f"component type {type_name!r} is registered twice")
        doc = (cls.__doc__ or "").strip()
        _REGISTRY[type_name] = ComponentSpec(
            type=type_name,
            kind=kind,
            summary=summary,
            description=doc,
            config_schema=config_schema,
            example=example,
            implementation=cls,
            min_inputs=min_inputs,
            max_inputs=max_inputs,
            outputs=outputs,
            blocking=blocking,
            expression_fields=dict(expression_fields or {}),
            secret_fields=secret_fields,
        )
        cls.spec_type = type_name
        return cls

    return decorate


def _load_builtin_components() -> None:
    # Importing the package runs every @register in it.
    from execution.engine import components  # noqa: F401


def get_spec(type_name: str) -> ComponentSpec:
    _load_builtin_components()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise UnknownComponentType(type_name) from None


def all_specs() -> list[ComponentSpec]:
    _load_builtin_components()
    return sorted(_REGISTRY.values(), key=lambda spec: (spec.kind, spec.type))
