"""Reading documents (YAML files of contexts, schemas and jobs) and planning
what applying them does (authoring/apply.py applies the plan).

A plan says, per document, whether it creates, updates or leaves unchanged
the object of its kind and name: a document equal to what exporting the
object would write, once defaults are filled in, leaves it unchanged.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from authoring.documents import CONTEXT, SCHEMA, all_kinds, context_document, schema_document
from authoring.extensions import extra_kinds
from contexts.access import visible_contexts
from contexts.models import Context
from contexts.values import ParameterType
from jobs.access import hidden_job_names, visible_jobs
from jobs.documents import CONFIG_KEYS, JOB, job_document
from jobs.models import Job
from schemas.models import Schema

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
KEYS = {
    JOB: ("kind", "name", "description", "default_context", "config", "depends_on", "components"),
    CONTEXT: ("kind", "name", "description", "is_default", "environment", "parameters", "credentials"),
    SCHEMA: ("kind", "name", "description", "fields", "rules"),
}


@dataclass
class Document:
    source: str  # the file (relative to the folder), or `documents[i]` in an API request
    data: dict

    @property
    def kind(self) -> str:
        return self.data["kind"]

    @property
    def name(self) -> str:
        return self.data["name"]


class ApplyError(Exception):
    """Problems found, as source -> field -> messages; nothing was changed."""

    def __init__(self, problems: dict[str, dict[str, list[str]]]):
        self.problems = problems
        super().__init__("; ".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{source}: {field}: {message}"
            for source, fields in self.problems.items()
            for field, messages in fields.items()
            for message in messages
        ]


@dataclass
class Step:
    document: Document
    action: str
    instance: object = None

    def as_dict(self) -> dict:
        return {
            "kind": self.document.kind,
            "name": self.document.name,
            "action": self.action,
            "file": self.document.source,
        }


# --- reading ----------------------------------------------------------------------------


def read_folder(folder: Path) -> list[Document]:
    """Every `*.yaml` / `*.yml` file under `folder`, in name order."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    documents, problems = [], {}
    for path in files:
        source = str(path.relative_to(folder))
        try:
            documents += read_text(path.read_text(encoding="utf-8"), source)
        except ApplyError as error:
            problems.update(error.problems)
        except UnicodeDecodeError:
            problems[source] = {"file": ["The file is not valid UTF-8 text."]}
    if problems:
        raise ApplyError(problems)
    return documents


def read_text(text: str, source: str) -> list[Document]:
    """The YAML documents in `text` (several may be separated by `---`)."""
    try:
        loaded = [item for item in yaml.safe_load_all(text) if item is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ApplyError({source: {"yaml": [f"{where}{problem} (the file is not valid YAML)"]}}) from None
    suffix = len(loaded) > 1
    return [
        Document(f"{source} (document {n})" if suffix else source, item) for n, item in enumerate(loaded, 1)
    ]


def api_documents(items: list) -> list[Document]:
    """`documents` of POST /jobs/apply: each a document (an object with `kind`), a
    YAML text, or `{"file": name, "content": YAML text}` (as GET /jobs/{id}/export gives)."""
    documents, problems = [], {}
    for index, item in enumerate(items):
        source = f"documents[{index}]"
        try:
            if isinstance(item, str):
                documents += read_text(item, source)
            elif isinstance(item, dict) and "content" in item and "kind" not in item:
                unknown = sorted(set(item) - {"file", "content"})
                if unknown or not isinstance(item["content"], str):
                    problems[source] = {"content": ['Give {"file": name, "content": YAML text}.']}
                    continue
                documents += read_text(item["content"], str(item.get("file") or source))
            else:
                documents.append(Document(source, item))
        except ApplyError as error:
            problems.update(error.problems)
    if problems:
        raise ApplyError(problems)
    return documents


def check_shapes(documents: list[Document]) -> None:
    """Each document names a known kind and a name, has only known keys, and no
    two documents describe the same object."""
    problems: dict[str, dict[str, list[str]]] = {}
    seen: dict[tuple, str] = {}
    for document in documents:
        found = problems.setdefault(document.source, {})
        data = document.data
        if not isinstance(data, dict):
            found["document"] = ["Give a mapping with `kind` and `name`."]
            continue
        kinds = all_kinds()
        if data.get("kind") not in kinds:
            found["kind"] = [f"Give one of: {', '.join(kinds)} (got {data.get('kind')!r})."]
            continue
        if not isinstance(data.get("name"), str) or not data["name"]:
            found["name"] = ["Give the object's name."]
            continue
        known = KEYS[data["kind"]] if data["kind"] in KEYS else extra_kinds()[data["kind"]].keys
        for key in data:
            if key not in known:
                found[str(key)] = [f"Unknown field for a {data['kind']}; known: {', '.join(known)}."]
        key = (data["kind"], data["name"])
        if key in seen:
            found["name"] = [f"{seen[key]} describes this {data['kind']} too; keep one."]
        seen[key] = document.source
    problems = {source: fields for source, fields in problems.items() if fields}
    if problems:
        raise ApplyError(problems)


# --- planning ---------------------------------------------------------------------------


def plan(documents: list[Document], request=None) -> list[Step]:
    """Contexts, then schemas, then jobs, each with what applying it would do."""
    check_shapes(documents)
    kinds = all_kinds()
    ordered = sorted(documents, key=lambda d: kinds.index(d.kind))
    return [_step(document, request) for document in ordered]


def _step(document: Document, request) -> Step:
    added = extra_kinds().get(document.kind)
    if added is not None:
        current = added.current(document.name, request)
        if current is None:
            return Step(document, CREATE)
        return Step(document, UNCHANGED if document.data == current else UPDATE)
    if document.kind == JOB:
        jobs = visible_jobs(request) if request is not None else Job.objects.all()
        instance = jobs.with_graph().filter(name=document.name).first()
        current = instance and job_document(instance, hidden_job_names(request) if request else frozenset())
    elif document.kind == CONTEXT:
        contexts = visible_contexts(request) if request is not None else Context.objects.all()
        instance = contexts.prefetch_related("parameters", "credentials").filter(name=document.name).first()
        current = instance and context_document(instance)
    else:
        instance = Schema.objects.prefetch_related("fields", "rules").filter(name=document.name).first()
        current = instance and schema_document(instance)
    if instance is None:
        return Step(document, CREATE)
    return Step(document, UNCHANGED if _canonical(document.data) == current else UPDATE, instance)


def _canonical(data: dict) -> dict | None:
    """The document as its export would read once applied (defaults filled in),
    or None when it is too malformed to compare (applying it reports why)."""
    try:
        if data["kind"] == JOB:
            config = data.get("config") or {}
            return {
                "kind": JOB,
                "name": data["name"],
                "description": data.get("description") or "",
                "default_context": data.get("default_context"),
                "config": {key: config[key] for key in CONFIG_KEYS if key in config}
                | {key: value for key, value in config.items() if key not in CONFIG_KEYS},
                "depends_on": sorted(
                    (
                        {"job": d["job"], "condition": d.get("condition", "on_success")}
                        for d in data.get("depends_on") or []
                    ),
                    key=lambda d: d["job"],
                ),
                "components": [
                    {
                        "name": c["name"],
                        "type": c["type"],
                        "inputs": c.get("inputs") or [],
                        "config": c.get("config") or {},
                    }
                    for c in data.get("components") or []
                ],
            }
        if data["kind"] == CONTEXT:
            return {
                "kind": CONTEXT,
                "name": data["name"],
                "description": data.get("description") or "",
                "is_default": bool(data.get("is_default", False)),
                "environment": data.get("environment") or {},
                "parameters": sorted(
                    (
                        {
                            "name": p["name"],
                            "type": p.get("type", ParameterType.STRING),
                            **({} if p.get("type") == ParameterType.SECRET else {"value": p.get("value")}),
                            "description": p.get("description") or "",
                        }
                        for p in data.get("parameters") or []
                    ),
                    key=lambda p: p["name"],
                ),
                "credentials": sorted(
                    (
                        {
                            "name": c["name"],
                            "kind": c["kind"],
                            "description": c.get("description") or "",
                            "config": c.get("config") or {},
                        }
                        for c in data.get("credentials") or []
                    ),
                    key=lambda c: c["name"],
                ),
            }
        return {
            "kind": SCHEMA,
            "name": data["name"],
            "description": data.get("description") or "",
            "fields": [
                {
                    "name": f["name"],
                    "type": f.get("type", "string"),
                    "required": f.get("required", False),
                    "nullable": f.get("nullable", True),
                    "description": f.get("description") or "",
                    "constraints": f.get("constraints") or {},
                    "examples": f.get("examples") or [],
                }
                for f in data.get("fields") or []
            ],
            "rules": [
                {
                    "name": r["name"],
                    "expression": r["expression"],
                    "message": r.get("message") or "",
                    "severity": r.get("severity", "error"),
                }
                for r in data.get("rules") or []
            ],
        }
    except (KeyError, TypeError, AttributeError):
        return None
