"""The job page's incremental parts: the saved state (with a reset button,
for those who may edit the job) and the backfill form (for operators) with
the job's latest backfills. The POST views are in execution/job_pages.py."""

from django import forms

from etlsite.pages import can_control
from execution.incremental.backfill import interval_state
from execution.incremental.state_changes import incremental_components, state_body
from jobs.access import may_edit_job

RECENT_BACKFILLS = 5


class BackfillForm(forms.Form):
    start = forms.CharField(help_text="ISO 8601, e.g. 2026-03-01 or 2026-03-01T06:00:00Z.")
    end = forms.CharField(help_text="ISO 8601; the last interval ends here.")
    interval = forms.ChoiceField(choices=[(u, u) for u in ("hour", "day", "week", "month")], initial="day")
    max_parallel = forms.IntegerField(
        min_value=1, initial=1, help_text="Runs at once (at most max_concurrent)."
    )
    context = forms.CharField(required=False, help_text="Default: the job's default context.")


def incremental_panel(request, job, backfill_form=None) -> dict:
    """What the job page shows about incremental state and backfills."""
    context_name = job.default_context.name if job.default_context else ""
    states = state_body(job, context_name)["components"] if incremental_components(job) else {}
    backfills = []
    for backfill in job.backfills.prefetch_related("intervals__execution")[:RECENT_BACKFILLS]:
        counted = [interval_state(i) for i in backfill.intervals.all()]
        backfills.append(
            {
                "backfill": backfill,
                "progress": {s: counted.count(s) for s in sorted(set(counted))},
                "total": len(counted),
            }
        )
    return {
        "incremental": bool(incremental_components(job)),
        "incremental_states": states,
        "incremental_context": context_name,
        "can_reset_state": may_edit_job(request.user, job),
        "backfill_form": backfill_form or (BackfillForm() if can_control(request.user) else None),
        "backfills": backfills,
    }
