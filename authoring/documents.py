"""Jobs, contexts and schemas as documents for jobs as code: plain dicts in a
fixed key order (a job's from jobs/documents.py), written as YAML files
(`manage.py export_jobs`, `GET /jobs/{id}/export`) and read back by
authoring/plan.py.

Never in a document: secret values (secret parameters are listed without a
value, credentials by name, kind and non-secret config), ids, timestamps and
grants (`allowed_groups`), which belong to the database the files go to.
"""

from authoring.extensions import extra_kinds
from contexts.models import Context
from jobs.documents import JOB, job_document
from jobs.models import Job
from schemas.models import Schema

CONTEXT, SCHEMA = "context", "schema"
KINDS = (CONTEXT, SCHEMA, JOB)
# Where each kind's files go inside an export folder.
FOLDERS = {JOB: "jobs", CONTEXT: "contexts", SCHEMA: "schemas"}


def context_document(context: Context) -> dict:
    return {
        "kind": CONTEXT,
        "name": context.name,
        "description": context.description,
        "is_default": context.is_default,
        "environment": dict(context.environment),
        "parameters": [
            {
                "name": parameter.name,
                "type": parameter.type,
                **({} if parameter.is_secret else {"value": parameter.value}),
                "description": parameter.description,
            }
            for parameter in context.parameters.all()
        ],
        "credentials": [
            {
                "name": credential.name,
                "kind": credential.kind,
                "description": credential.description,
                "config": dict(credential.config),
            }
            for credential in context.credentials.all()
        ],
    }


def schema_document(schema: Schema) -> dict:
    definition = schema.definition()
    return {
        "kind": SCHEMA,
        "name": schema.name,
        "description": schema.description,
        "fields": definition["fields"],
        "rules": definition["rules"],
    }


def all_kinds() -> tuple[str, ...]:
    """Every kind, in the order apply writes them (added kinds after jobs)."""
    return KINDS + tuple(extra_kinds())


def file_name(document: dict) -> str:
    """`jobs/<name>.yaml`: where export_jobs writes a document inside its folder."""
    kind = document["kind"]
    folder = FOLDERS.get(kind) or extra_kinds()[kind].folder
    return f"{folder}/{document['name']}.yaml"


def export_documents(jobs=None, *, also: tuple[str, ...] = ()) -> list[dict]:
    """The documents of `jobs` (default: every job) and of the contexts and
    schemas they use (with every job: every context and schema), each kind by
    name; then those of the added kinds named in `also` (e.g. "state")."""
    everything = jobs is None
    jobs = list((Job.objects.all() if everything else jobs).with_graph().order_by("name"))
    contexts = Context.objects.prefetch_related("parameters", "credentials").order_by("name")
    schemas = Schema.objects.prefetch_related("fields", "rules").order_by("name")
    if not everything:
        contexts = contexts.filter(pk__in=[job.default_context_id for job in jobs if job.default_context_id])
        schemas = schemas.filter(name__in=_schemas_used(jobs))
    added = [document for kind in also for document in extra_kinds()[kind].export(jobs)]
    return (
        [context_document(context) for context in contexts]
        + [schema_document(schema) for schema in schemas]
        + [job_document(job) for job in jobs]
        + added
    )


def _schemas_used(jobs) -> set[str]:
    return {
        component["config"].get("schema")
        for job in jobs
        for component in job.component_dicts()
        if component["type"] == "validate" and isinstance(component["config"].get("schema"), str)
    }
