"""The JSON a notification carries (a webhook's body, an email's attachment).

`{"event", "job": {"id", "name"}, "execution": {"id", "state", "error", ...},
"sent_at"}` (design.md, "Notifications"); `sent_at` is stamped at each attempt.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from execution.models import Execution
from jobs.models import Job


def jsonable(value) -> dict:
    """Datetimes as ISO 8601 text, so the payload fits a JSONField and is what gets sent."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def job_part(job: Job) -> dict:
    return {"id": job.pk, "name": job.name}


def execution_part(execution: Execution) -> dict:
    return {
        "id": execution.pk,
        "state": execution.state,
        "error": execution.error or None,
        "attempt": execution.attempt,
        "trigger": execution.trigger,
        "queued_at": execution.queued_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "duration_seconds": execution.duration_seconds,
        "rows_read": execution.rows_read,
        "rows_written": execution.rows_written,
        "rows_rejected": execution.rows_rejected,
    }


def run_payload(event: str, execution: Execution, **extra) -> dict:
    return jsonable(
        {"event": event, "job": job_part(execution.job), "execution": execution_part(execution), **extra}
    )


def missed_payload(job: Job, overdue: dict) -> dict:
    """A scheduled slot with no run: there is no execution to describe."""
    return jsonable({"event": "missed", "job": job_part(job), "execution": None, "missed": overdue})


def test_payload(channel) -> dict:
    return {
        "event": "test",
        "job": None,
        "execution": None,
        "channel": {"id": channel.pk, "name": channel.name},
    }


def body_with_sent_at(payload: dict, sent_at) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps({**payload, "sent_at": sent_at}, cls=DjangoJSONEncoder, sort_keys=True).encode()
