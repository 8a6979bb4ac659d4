"""A job as a document: a plain dict in a fixed key order, the shape of its YAML
file in jobs as code (authoring/documents.py adds contexts and schemas) and
what a version keeps (jobs/versions.py), so history, diffs and files show the
same thing. Never in it: ids, timestamps and grants (`allowed_groups`), which
belong to the database the files go to.
"""

import yaml

from jobs.config import JobConfigSerializer
from jobs.models import Job

JOB = "job"
# A job's run settings in their documented order.
CONFIG_KEYS = tuple(JobConfigSerializer().fields)


def job_document(job: Job, hidden_jobs: frozenset[str] = frozenset()) -> dict:
    """`job` read with `Job.objects.with_graph()`. Upstream jobs named in
    `hidden_jobs` (ones the reader may not see) are left out."""
    config = job.config or {}
    return {
        "kind": JOB,
        "name": job.name,
        "description": job.description,
        "default_context": job.default_context.name if job.default_context else None,
        # Only the settings the job sets, in the documented order: unset ones keep following the defaults.
        "config": {key: config[key] for key in CONFIG_KEYS if key in config},
        "depends_on": [
            {"job": link["job"], "condition": link["condition"]}
            for link in sorted(job.upstream_dicts(), key=lambda link: link["job"])
            if link["job"] not in hidden_jobs
        ],
        "components": job.component_dicts(),
    }


def to_yaml(document: dict) -> str:
    """The document as YAML, keys in the order given (so files diff well in Git)."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
