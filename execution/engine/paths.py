"""Resolve user-given file paths under the configured data roots.

A path may be relative (to a data root) or absolute (inside one). `..` is
refused outright, and the real path (symlinks followed) must stay inside a
root, so a link pointing elsewhere is refused too.
"""

import os
from pathlib import Path

from execution.engine.errors import EngineError


def resolve_path(
    path: str, data_roots: list[str], *, component: str, field: str = "config.path", must_exist: bool
) -> Path:
    if not data_roots:
        raise EngineError("No data roots are configured (ETL_DATA_ROOTS).", component=component, field=field)
    if not path:
        raise EngineError("The path is empty.", component=component, field=field)
    if ".." in Path(path).parts:
        raise EngineError(
            f"The path {path!r} contains '..'; give a path inside a data root.",
            component=component,
            field=field,
        )
    roots = [Path(root).resolve() for root in data_roots]
    given = Path(path)
    candidates = [given] if given.is_absolute() else [root / given for root in roots]
    if must_exist:
        existing = [candidate for candidate in candidates if candidate.exists() or candidate.is_symlink()]
        if not existing:
            raise EngineError(
                f"File {path!r} not found under the data roots ({', '.join(map(str, roots))}).",
                component=component,
                field=field,
            )
        candidate = existing[0]
    else:
        candidate = candidates[0]
    real = Path(os.path.realpath(candidate))
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise EngineError(
            f"The path {path!r} resolves to {str(real)!r}, outside the data roots "
            f"({', '.join(map(str, roots))}); files must stay inside them.",
            component=component,
            field=field,
        )
    if not must_exist and not real.parent.is_dir():
        raise EngineError(f"The folder of {path!r} does not exist.", component=component, field=field)
    return real


def containment_problem(path: str, data_roots: list[str]) -> str | None:
    """Why a path given in a config can never be inside the data roots, or
    None: what a job's save can tell before the file exists."""
    if not path:
        return "The path is empty."
    if ".." in Path(path).parts:
        return f"The path {path!r} contains '..'; give a path inside a data root."
    given = Path(path)
    if not given.is_absolute() or not data_roots:
        return None
    roots = [Path(root).resolve() for root in data_roots]
    real = Path(os.path.realpath(given))
    if any(real == root or real.is_relative_to(root) for root in roots):
        return None
    return (
        f"The path {path!r} is outside the data roots ({', '.join(map(str, roots))}); "
        "give a path relative to a data root, or inside one."
    )
