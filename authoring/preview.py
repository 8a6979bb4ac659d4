"""Previewing one component of a job (saved or not) for the API and the admin.

The run's inputs are resolved as a start would resolve them (context,
parameters, environment, credentials, secret-parameter rules), but only for
the component and what feeds it, so a job being built can be previewed step
by step while its later components are still incomplete. The engine then
reads the first rows of each source (execution/engine/preview.py); nothing
is written and no sink is opened.
"""

from django.conf import settings

from contexts import crypto
from contexts.resolution import RunInputError, redact, resolve_run_inputs
from execution.engine import preview as engine_preview
from execution.engine.errors import EngineError, GraphError
from execution.engine.runner import RunContext
from jobs.access import check_person_may_use_context
from jobs.models import Job
from schemas.resolution import schemas_for_components

DEFAULT_LIMIT = engine_preview.DEFAULT_LIMIT


class PreviewTooSlow(Exception):
    """The preview ran past ETL_PREVIEW_TIME_LIMIT_SECONDS (the API answers 408)."""


def preview_job(
    job: Job,
    components: list[dict],
    target: str,
    user,
    *,
    limit: int = DEFAULT_LIMIT,
    context_name: str | None = None,
    parameters: dict | None = None,
) -> dict:
    """`{"component", "columns", "rows", "limit"}` for `target` of `job` run as
    `components` (the saved ones, or an unsaved edit of them). Raises
    RunInputError (field -> messages) for anything the user must fix, and
    PreviewTooSlow."""
    maximum = settings.ETL_PREVIEW_MAX_ROWS
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise RunInputError(
            {"limit": [f"Give a number of rows from 1 to {maximum} (setting ETL_PREVIEW_MAX_ROWS)."]}
        )
    check_person_may_use_context(job, context_name, user)
    try:
        part = engine_preview.needed_components(components, target)
    except GraphError as error:
        raise RunInputError({error.field: [error.message]}) from None
    try:
        resolved = resolve_run_inputs(job, context_name, parameters, components=part)
    except crypto.CredentialKeyError as error:
        raise RunInputError({"context": [str(error)]}) from None
    try:
        ctx = RunContext(
            data_roots=settings.ETL_DATA_ROOTS,
            connections=resolved.connections,
            schemas=schemas_for_components(resolved.components),
            batch_size=job.effective_config["batch_size"],
            values=resolved.values,
        )
        result = engine_preview.preview(
            resolved.components, target, ctx, limit, seconds=settings.ETL_PREVIEW_TIME_LIMIT_SECONDS
        )
    except engine_preview.PreviewTimeout as error:
        raise PreviewTooSlow(
            f"{error.message} (setting ETL_PREVIEW_TIME_LIMIT_SECONDS: "
            f"{settings.ETL_PREVIEW_TIME_LIMIT_SECONDS:g} s)"
        ) from None
    except EngineError as error:
        raise RunInputError({_where(error): [redact(_located(error), resolved.secrets)]}) from None
    return {"component": result.component, "columns": result.columns(), "rows": result.rows(), "limit": limit}


def _where(error: EngineError) -> str:
    """`components.<name>.<field>` as a start's errors name it; the request's own
    fields (`component`, `limit`) alone."""
    if error.component is None or error.field in ("component", "limit"):
        return error.field or "component"
    return f"components.{error.component}.{error.field or 'config'}"


def _located(error: EngineError) -> str:
    return f"{error.location}: {error.message}" if error.location else error.message
