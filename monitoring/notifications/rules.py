"""Which rules fire for an event of a job, with their owners' grants applied.

A rule sees only the jobs its owner may see (accounts/access.py): checked when
it is saved (a hidden job in `jobs` is a 400) and again when it fires, since
grants change. A rule whose owner is gone or inactive fires only for jobs open
to everyone.
"""

from django.db.models import Q

from accounts.access import restrict_to_groups
from jobs.models import Job
from monitoring.models import NotificationRule


def owner_may_see(rule: NotificationRule, job: Job) -> bool:
    jobs = Job.objects.filter(pk=job.pk)
    owner = rule.owner
    if owner is None or not owner.is_active:
        return not jobs.filter(allowed_groups__isnull=False).exists()
    return restrict_to_groups(jobs, owner).exists()


def rules_for(job: Job, event: str) -> list[NotificationRule]:
    """Enabled rules naming `event` for `job` (named in `jobs`, or for every job)
    that may see it, oldest first. Events are filtered here rather than in SQL:
    SQLite has no JSON containment lookup, and rules are few."""
    candidates = (
        NotificationRule.objects.filter(enabled=True)
        .filter(Q(all_jobs=True) | Q(jobs=job))
        .select_related("channel", "owner")
        .distinct()
        .order_by("id")
    )
    return [rule for rule in candidates if event in rule.events and owner_may_see(rule, job)]


def any_rule_for(event: str) -> bool:
    """Whether some enabled rule names `event` at all (the periodic checks skip their work otherwise)."""
    return any(
        event in events
        for events in NotificationRule.objects.filter(enabled=True).values_list("events", flat=True)
    )
