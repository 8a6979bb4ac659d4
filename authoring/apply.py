"""Applying documents (authoring/plan.py reads and plans them): `manage.py apply_jobs DIR`
and `POST /api/v1/jobs/apply`.

Every changed object is written through the same serializers as the API, so
the same checks, grants and messages apply, in one transaction: contexts,
schemas, jobs, and last the jobs' dependencies (so jobs in the same files may
depend on each other). Any problem anywhere rolls everything back and is
reported as `file: field: message`; a dry run makes the same writes and rolls
them back, so it finds the same problems. Each write is audited and each
changed job gets a version.

Apply never deletes anything, and never touches secrets: a credential keeps
its secrets, a secret parameter its value, and a file that holds a secret
parameter's value is refused (secrets do not belong in files under version
control; set them over the API or in the admin).
"""

from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from accounts.audit import record, snapshot
from authoring.documents import CONTEXT
from authoring.extensions import extra_kinds
from authoring.plan import CREATE, UNCHANGED, ApplyError, Document, Step, plan
from contexts.models import Credential
from contexts.serializers import ContextSerializer, ParameterSerializer, credential_problems
from contexts.values import NAME_PATTERN, NAME_RULE, ParameterType
from etlsite.permissions import SCOPE_ADMIN, credential_scopes
from jobs.access import may_change_job
from jobs.documents import JOB
from jobs.models import JobVersion
from jobs.serializers import JobSerializer
from jobs.versions import record_version
from schemas.serializers import SchemaSerializer

# Who an audit event names when the command line applies files.
COMMAND = "manage.py apply_jobs"
PERMISSIONS = {CONTEXT: "contexts.{}_context", "schema": "schemas.{}_schema", JOB: "jobs.{}_job"}


def apply_documents(documents: list[Document], *, request=None, dry_run: bool = False) -> list[dict]:
    """The plan (`[{"kind", "name", "action", "file"}]`), applied unless `dry_run`.
    `request` is the API request whose user's permissions and grants apply
    (None: the command line, which may do everything). Raises ApplyError or
    PermissionDenied, having changed nothing."""
    steps = plan(documents, request)
    if request is not None:
        check_permissions(steps, request)
    with transaction.atomic():
        _Writer(request).write(steps)
        if dry_run:
            transaction.set_rollback(True)
    return [step.as_dict() for step in steps]


def check_permissions(steps: list[Step], request) -> None:
    user = request.user
    for step in steps:
        if step.action == UNCHANGED:
            continue
        document = step.document
        added = extra_kinds().get(document.kind)
        if added is not None:
            permission = added.permission
        else:
            permission = PERMISSIONS[document.kind].format("add" if step.action == CREATE else "change")
        if not user.has_perm(permission):
            raise PermissionDenied(
                f"{document.source}: applying it would {step.action} {document.kind} {document.name!r}, "
                f"which needs the {permission} permission."
            )
        if document.kind == JOB and step.instance is not None and not may_change_job(user, step.instance):
            raise PermissionDenied(
                f"{document.source}: job {document.name!r} runs by default in a context you may not use, "
                "so you may not change it."
            )
        if document.kind == CONTEXT:
            _check_credential_permissions(step, request)


def _check_credential_permissions(step: Step, request) -> None:
    items = step.document.data.get("credentials") or []
    existing = {c.name: c for c in step.instance.credentials.all()} if step.instance else {}
    for item in items if isinstance(items, list) else []:
        name = item.get("name") if isinstance(item, dict) else None
        current = existing.get(name)
        stored = (
            {"kind": current.kind, "description": current.description, "config": current.config}
            if current
            else None
        )
        if stored is not None and _credential_fields(item) == _credential_fields(stored):
            continue
        permission = "contexts.change_credential" if current else "contexts.add_credential"
        scopes = credential_scopes(request)
        if not request.user.has_perm(permission) or (scopes is not None and SCOPE_ADMIN not in scopes):
            raise PermissionDenied(
                f"{step.document.source}: credential {name!r} would change, which needs the {permission} "
                "permission (and the admin scope on an API key or token)."
            )


def _credential_fields(item: dict) -> tuple:
    return (item.get("kind"), item.get("description") or "", item.get("config") or {})


class _Writer:
    def __init__(self, request):
        self.request = request
        self.context = {"request": request} if request is not None else {}
        self.user = request.user if request is not None else None
        self.problems: dict[str, dict[str, list[str]]] = {}
        # Jobs written in the first pass, for their dependencies and versions: (step, job, before).
        self.jobs: list[tuple[Step, object, dict | None]] = []

    def write(self, steps: list[Step]) -> None:
        for step in steps:
            if step.action != UNCHANGED:
                self._each(step, self._writer_of(step.document.kind))
        for step, job, _ in self.jobs:
            self._each(step, lambda step, job=job: self._link(step, job))
        if self.problems:
            raise ApplyError(self.problems)
        for step, job, before in self.jobs:
            self._audit(step, job, before)
            record_version(job, user=self.user, via=JobVersion.Via.APPLY)

    def _writer_of(self, kind: str):
        added = extra_kinds().get(kind)
        if added is not None:
            return lambda step: added.write(step.document.data, self.request)
        return getattr(self, f"_write_{kind}")

    def _each(self, step: Step, write) -> None:
        """Write one document in a savepoint, so a refused one leaves the others' checks meaningful."""
        try:
            with transaction.atomic():
                write(step)
        except serializers.ValidationError as error:
            found = self.problems.setdefault(step.document.source, {})
            for field, messages in _flatten(error.detail, step.document.data).items():
                found.setdefault(field, []).extend(messages)

    def _audit(self, step: Step, obj, before) -> None:
        action = "create" if step.action == CREATE else "update"
        username = COMMAND if self.request is None else None
        record(self.request, action, obj, before=before, after=snapshot(obj), username=username)

    # -- contexts --------------------------------------------------------------------------
    def _write_context(self, step: Step) -> None:
        data = step.document.data
        before = snapshot(step.instance) if step.instance else None
        payload = {
            "name": data["name"],
            "description": data.get("description") or "",
            "is_default": data.get("is_default", False),
            "environment": data.get("environment") or {},
        }
        serializer = ContextSerializer(step.instance, data=payload, context=self.context)
        serializer.is_valid(raise_exception=True)
        context = serializer.save()
        parameters = data.get("parameters") or []
        secrets = [
            p.get("name")
            for p in parameters
            if isinstance(p, dict) and p.get("type") == ParameterType.SECRET and "value" in p
        ]
        if secrets:
            raise serializers.ValidationError(
                {
                    f"parameters.{name}.value": [
                        "A secret's value does not belong in a file; remove it, and set it with "
                        "PUT /api/v1/contexts/{id}/parameters or in the admin."
                    ]
                    for name in secrets
                }
            )
        checked = ParameterSerializer(data=parameters, many=True)
        if not checked.is_valid():
            raise serializers.ValidationError({"parameters": checked.errors})
        checked.replace(context)
        for item in data.get("credentials") or []:
            self._write_credential(context, item)
        self._audit(step, context, before)

    def _write_credential(self, context, item) -> None:
        if not isinstance(item, dict):
            raise serializers.ValidationError({"credentials": ["Give each credential as a mapping."]})
        name = item.get("name")
        where = f"credentials.{name}"
        unknown = sorted(set(item) - {"name", "kind", "description", "config"})
        if unknown or not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise serializers.ValidationError(
                {
                    where: [
                        f"Give name, kind, description and config{'; unknown: ' + ', '.join(unknown) if unknown else ''}. {NAME_RULE}"
                    ]
                }
            )
        kind, config = item.get("kind"), item.get("config") or {}
        if kind not in Credential.Kind.values:
            raise serializers.ValidationError(
                {f"{where}.kind": [f"Give one of: {', '.join(Credential.Kind.values)}."]}
            )
        if not isinstance(config, dict):
            raise serializers.ValidationError({f"{where}.config": ["Give config as a mapping."]})
        credential = context.credentials.filter(name=name).first() or Credential(context=context, name=name)
        problems = credential_problems(kind, config, credential.secrets_set)
        if problems:
            raise serializers.ValidationError(
                {f"{where}.{field}": messages for field, messages in problems.items()}
            )
        before = snapshot(credential) if credential.pk else None
        credential.kind, credential.config = kind, config
        credential.description = item.get("description") or ""
        credential.save()
        username = COMMAND if self.request is None else None
        record(
            self.request,
            "update" if before else "create",
            credential,
            before=before,
            after=snapshot(credential),
            username=username,
        )

    # -- schemas ---------------------------------------------------------------------------
    def _write_schema(self, step: Step) -> None:
        data = step.document.data
        before = snapshot(step.instance) if step.instance else None
        payload = {
            "name": data["name"],
            "description": data.get("description") or "",
            "fields": data.get("fields") or [],
            "rules": data.get("rules") or [],
        }
        serializer = SchemaSerializer(step.instance, data=payload, context=self.context)
        serializer.is_valid(raise_exception=True)
        self._audit(step, serializer.save(), before)

    # -- jobs ------------------------------------------------------------------------------
    def _write_job(self, step: Step) -> None:
        data = step.document.data
        before = snapshot(step.instance) if step.instance else None
        payload = {
            "name": data["name"],
            "description": data.get("description") or "",
            "default_context": data.get("default_context"),
            "config": data.get("config") or {},
            "components": data.get("components") or [],
        }
        serializer = JobSerializer(step.instance, data=payload, context=self.context)
        serializer.is_valid(raise_exception=True)
        self.jobs.append((step, serializer.save(), before))

    def _link(self, step: Step, job) -> None:
        serializer = JobSerializer(
            job,
            data={"depends_on": step.document.data.get("depends_on") or []},
            partial=True,
            context=self.context,
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()


def _flatten(detail, data: dict, prefix: str = "") -> dict[str, list[str]]:
    """DRF error details as `field.path -> messages`, naming components by name
    (`components.late.type`) rather than by their place in the list."""
    if isinstance(detail, dict):
        if {"component", "message"} <= set(detail):  # a graph problem from the engine
            field = f"components.{detail['component']}" + (
                f".{detail['field']}" if detail.get("field") else ""
            )
            return {field: [str(detail["message"])]}
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            path = str(key) if key != "non_field_errors" or not prefix else ""
            for field, messages in _flatten(
                value, data, f"{prefix}.{path}".strip(".") if path else prefix
            ).items():
                found.setdefault(field, []).extend(messages)
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "document": [str(item) for item in detail]}
        found = {}
        for index, item in enumerate(detail):
            for field, messages in _flatten(
                item, data, f"{prefix}.{_item_name(data, prefix, index)}"
            ).items():
                found.setdefault(field, []).extend(messages)
        return found
    return {prefix or "document": [str(detail)]}


def _item_name(data: dict, prefix: str, index: int) -> str:
    """A list item's name when the document gives one (`components.late`), else its index."""
    items = data.get(prefix) if "." not in prefix else None
    if (
        isinstance(items, list)
        and index < len(items)
        and isinstance(items[index], dict)
        and items[index].get("name")
    ):
        return str(items[index]["name"])
    return str(index)
