"""Object-level access, the part every app shares: grants by group, and what
an API key limited to some jobs may see.

A job or context with `allowed_groups` is visible only to members of those
groups (and admins); one without is visible to every user. An API key that
lists jobs narrows that further to those jobs. Anything not visible answers
404, as if it did not exist; a hidden object named in a payload answers
exactly like a name that does not exist.

The rules for each kind of object live with it: contexts/access.py (seeing a
context is what it takes to use it) and jobs/access.py (jobs, their links,
changing a job). This module works on any queryset of grant-restricted rows,
so apps below jobs (contexts) can still answer about the jobs they hold.

Where an answer would name other jobs (a context's jobs, a job's dependencies,
the jobs that block a delete), it names only those the caller may see; when a
hidden job is the reason for a refusal, it is counted, not named (`name_jobs`).
"""

from typing import NamedTuple

from django.db.models import Q

from accounts.models import ApiKey
from etlsite.permissions import is_admin


def restrict_to_groups(queryset, user):
    """The rows of `queryset` (jobs or contexts) that `user` may see by their groups."""
    if is_admin(user):
        return queryset
    return queryset.filter(
        Q(allowed_groups__isnull=True) | Q(allowed_groups__in=user.groups.all())
    ).distinct()


def api_key_job_ids(request) -> list[int]:
    """The jobs an API key is limited to; empty when it is not (or no API key is in use)."""
    api_key = getattr(request, "auth", None)  # plain Django page requests have no .auth
    if isinstance(api_key, ApiKey):
        return list(api_key.jobs.values_list("pk", flat=True))
    return []


def sees_everything(request) -> bool:
    """Nothing is hidden from an admin, unless their API key is limited to some jobs."""
    return is_admin(request.user) and not api_key_job_ids(request)


def visible_among(request, jobs):
    """The jobs of the queryset `jobs` the caller may see (groups, then an API key's jobs)."""
    jobs = restrict_to_groups(jobs, request.user)
    allowed = api_key_job_ids(request)
    return jobs.filter(pk__in=allowed) if allowed else jobs


class JobNames(NamedTuple):
    """Jobs as a refusal may name them: the visible ones by name, the others counted."""

    visible: list[str]
    hidden: int

    def __str__(self) -> str:
        """`a, b and 2 other jobs you cannot see`."""
        named = ", ".join(self.visible)
        if not self.hidden:
            return named
        counted = (
            f"{self.hidden} {'other ' if named else ''}job{'' if self.hidden == 1 else 's'} you cannot see"
        )
        return f"{named} and {counted}" if named else counted

    def details(self, key: str = "jobs") -> dict:
        """For an error body: `{key: [names]}`, and `"hidden_jobs": n` when some are hidden."""
        return {key: self.visible, **({"hidden_jobs": self.hidden} if self.hidden else {})}


def name_jobs(request, jobs) -> JobNames:
    """`jobs` (a queryset) as the caller may be told about them. A refusal caused by
    jobs the caller may not see still says so, without their names: the conflict
    itself cannot be hidden, since the request is refused."""
    jobs = jobs.distinct()
    names = sorted(visible_among(request, jobs).values_list("name", flat=True))
    return JobNames(names, jobs.count() - len(names))


def name_taken(kind: str) -> str:
    """The one answer for a name already in use: names are unique across all jobs
    (or contexts), so a hidden one's name is taken too, and the answer must not
    tell whether the caller may see its holder."""
    return (
        f"A {kind} with this name already exists. Names are unique across all {kind}s, "
        "including any you may not see: choose another name."
    )


def visible_wherever(thing, job) -> bool:
    """Whether everyone who may see `job` may also see `thing` (a job or a context):
    `thing` is open, or `job` is restricted to groups that all may see it."""
    thing_groups = set(thing.allowed_groups.values_list("pk", flat=True))
    if not thing_groups:
        return True
    job_groups = set(job.allowed_groups.values_list("pk", flat=True))
    return bool(job_groups) and job_groups <= thing_groups
