"""A job's history: every save that changes its definition keeps a version.

A version holds the job's document (jobs/documents.py: the shape of its
YAML file), who saved it, how (API, admin, apply, restore...) and a short
summary of what changed. A save that changes nothing makes no version. A
start records one too when the job changed without one (saved before
versions were kept, or written straight to the database), so every execution
names the definition it ran (`Execution.job_version`).
"""

import difflib

from django.db import transaction

from jobs.documents import CONFIG_KEYS, job_document, to_yaml
from jobs.models import Job, JobVersion

SUMMARY_LENGTH = JobVersion._meta.get_field("summary").max_length
# The fields of a job's document that a version restores (and the API shows).
DEFINITION_FIELDS = ("name", "description", "default_context", "config", "depends_on", "components")


@transaction.atomic
def record_version(job: Job, *, user=None, via: str, note: str = "") -> JobVersion:
    """The job's latest version, new if its definition changed since the last one."""
    # Lock the job's row so two saves at once cannot both become version N+1.
    Job.objects.select_for_update().filter(pk=job.pk).first()
    latest = job.versions.order_by("-number").first()
    definition = job_document(Job.objects.with_graph().get(pk=job.pk))
    if latest is not None and latest.definition == definition:
        return latest
    changes = change_summary(latest.definition if latest else None, definition)
    summary = f"{note}: {changes}" if note else changes
    return JobVersion.objects.create(
        job=job,
        number=latest.number + 1 if latest else 1,
        created_by=user if user is not None and user.is_authenticated else None,
        created_by_name=user.get_username() if user is not None and user.is_authenticated else "",
        via=via,
        summary=_shorten(summary),
        definition=definition,
    )


def version_for_run(job: Job) -> JobVersion:
    """The version a run of `job` starts from: the latest, or a new one when the job
    changed without one (written straight to the database, or saved before
    versions were kept)."""
    return record_version(job, via=JobVersion.Via.START)


def change_summary(before: dict | None, after: dict) -> str:
    """`first version, 3 components`, or what differs: `config: batch_size; components: added late (filter)`."""
    if before is None:
        count = len(after["components"])
        return f"first version, {count} component{'' if count == 1 else 's'}"
    parts = []
    if before["name"] != after["name"]:
        parts.append(f"renamed {before['name']} → {after['name']}")
    if before["description"] != after["description"]:
        parts.append("description")
    if before["default_context"] != after["default_context"]:
        parts.append(
            f"default context {before['default_context'] or '—'} → {after['default_context'] or '—'}"
        )
    config_keys = sorted(
        key
        for key in {*before["config"], *after["config"]}
        if before["config"].get(key) != after["config"].get(key)
    )
    if config_keys:
        parts.append(f"config: {', '.join(config_keys)}")
    if before["depends_on"] != after["depends_on"]:
        parts.append("dependencies")
    component_changes = _component_changes(before["components"], after["components"])
    if component_changes:
        parts.append(f"components: {component_changes}")
    return "; ".join(parts) or "no change"


def _component_changes(before: list[dict], after: list[dict]) -> str:
    old = {c["name"]: c for c in before}
    new = {c["name"]: c for c in after}
    added = [f"{name} ({new[name]['type']})" for name in new if name not in old]
    removed = [name for name in old if name not in new]
    changed = []
    for name in new:
        if name in old and old[name] != new[name]:
            fields = [key for key in ("type", "inputs", "config") if old[name].get(key) != new[name].get(key)]
            changed.append(f"{name} ({', '.join(fields)})")
    parts = []
    if added:
        parts.append(f"added {', '.join(added)}")
    if removed:
        parts.append(f"removed {', '.join(removed)}")
    if changed:
        parts.append(f"changed {', '.join(changed)}")
    if not parts and [c["name"] for c in before] != [c["name"] for c in after]:
        parts.append("reordered")
    return ", ".join(parts)


def _shorten(text: str) -> str:
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def definition_for(version: JobVersion, hidden_jobs: frozenset[str] = frozenset()) -> dict:
    """The job as `version` left it, without upstream jobs the reader may not see."""
    definition = {key: version.definition[key] for key in DEFINITION_FIELDS}
    # In the document's key order again (PostgreSQL's jsonb keeps its own).
    definition["config"] = {
        key: definition["config"][key] for key in CONFIG_KEYS if key in definition["config"]
    }
    definition["depends_on"] = [
        {"job": d["job"], "condition": d["condition"]}
        for d in definition["depends_on"]
        if d["job"] not in hidden_jobs
    ]
    definition["components"] = [
        {key: c[key] for key in ("name", "type", "inputs", "config")} for c in definition["components"]
    ]
    return definition


def side_by_side(old: JobVersion, new: JobVersion, hidden_jobs: frozenset[str] = frozenset()) -> list[dict]:
    """Rows of a two-column diff of the two versions' YAML: each row has `left`
    and `right` (line number and text, or None) and `change` (equal, replace,
    delete, insert). Unchanged stretches longer than a few lines are folded."""
    left = to_yaml(definition_for(old, hidden_jobs)).splitlines()
    right = to_yaml(definition_for(new, hidden_jobs)).splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for group in matcher.get_grouped_opcodes(3):
        if rows:
            rows.append({"change": "fold", "left": None, "right": None})
        for tag, i1, i2, j1, j2 in group:
            for offset in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + offset, j1 + offset
                rows.append(
                    {
                        "change": tag,
                        "left": (i + 1, left[i]) if i < i2 else None,
                        "right": (j + 1, right[j]) if j < j2 else None,
                    }
                )
    return rows
